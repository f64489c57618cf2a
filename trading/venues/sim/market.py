"""A seeded, deterministic synthetic crypto market.

Layers, each a pure function of (seed, day), so any bar up to now is the same on every call
and the sim can run live in real time:

1. a daily regime chain (bull, bear, high-volatility chop) and fat-tailed daily returns of a
   common market factor plus idiosyncratic moves, for every day from ``EPOCH``;
2. per day, a minute path bridged to hit that day's close exactly (so days are independent to
   generate yet prices stay continuous across midnight);
3. per venue, a mean-reverting basis around the common price, a perpetual premium whose mean
   follows the regime (funding rates derive from it), wicks and liquidity-scaled volume.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from trading.timeframes import MINUTES_PER_DAY

EPOCH = date(2018, 1, 1)
HORIZON_DAYS = 365 * 22  # through 2039

REGIMES = ("bull", "bear", "chop")
_TRANSITIONS = np.array(
    [
        [0.985, 0.005, 0.010],
        [0.006, 0.982, 0.012],
        [0.020, 0.020, 0.960],
    ]
)
_DRIFT = np.array([0.0009, -0.0018, 0.0])  # daily market drift per regime
_MARKET_VOL = np.array([0.022, 0.032, 0.050])  # daily market vol per regime
_IDIO_MULT = np.array([0.9, 1.1, 1.6])
_PREMIUM_MEAN = np.array([6.0e-4, -3.0e-4, 1.0e-4])  # perp premium mean per regime
FUNDING_HOURS = (0, 8, 16)

Array = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class AssetSpec:
    """A synthetic coin: starting price, market beta, own volatility, dollar volume per day."""

    name: str
    price0: float
    beta: float
    idio_vol: float
    usd_volume: float


ASSETS: tuple[AssetSpec, ...] = (
    AssetSpec("BTC", 14_000.0, 1.00, 0.010, 2.0e9),
    AssetSpec("ETH", 750.0, 1.15, 0.016, 1.0e9),
    AssetSpec("SOL", 2.0, 1.35, 0.030, 4.0e8),
    AssetSpec("BNB", 9.0, 0.85, 0.020, 2.0e8),
    AssetSpec("XRP", 2.0, 1.05, 0.025, 3.0e8),
    AssetSpec("DOGE", 0.009, 1.30, 0.040, 2.5e8),
    AssetSpec("ADA", 0.7, 1.10, 0.025, 1.5e8),
    AssetSpec("AVAX", 4.0, 1.30, 0.030, 1.0e8),
    AssetSpec("LINK", 0.9, 1.15, 0.025, 1.0e8),
    AssetSpec("LTC", 230.0, 0.95, 0.020, 1.0e8),
)
ASSET_INDEX = {a.name: i for i, a in enumerate(ASSETS)}


def _student_t(rng: np.random.Generator, df: float, shape: tuple[int, ...]) -> Array:
    """Unit-variance Student-t draws: fat tails without changing the volatility scale."""
    draws: Array = rng.standard_t(df, size=shape) / np.sqrt(df / (df - 2.0))
    return draws


def stable_key(text: str) -> int:
    """A process-independent integer for a name (``hash`` is salted per process)."""
    return zlib.crc32(text.encode())


class SyntheticMarket:
    """The common, venue-independent market: regimes and each asset's latent log price."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    @cached_property
    def regimes(self) -> NDArray[np.int64]:
        """Regime index per day since ``EPOCH``."""
        rng = np.random.default_rng([self.seed, 0])
        draws = rng.random(HORIZON_DAYS)
        cumulative = np.cumsum(_TRANSITIONS, axis=1)
        out = np.empty(HORIZON_DAYS, dtype=np.int64)
        state = 0
        for i, u in enumerate(draws):
            state = int(np.searchsorted(cumulative[state], u))
            out[i] = state
        return out

    @cached_property
    def _daily(self) -> tuple[Array, Array]:
        rng = np.random.default_rng([self.seed, 1])
        n = len(ASSETS)
        beta = np.array([a.beta for a in ASSETS])
        idio = np.array([a.idio_vol for a in ASSETS])
        reg = self.regimes
        market = _DRIFT[reg] + _MARKET_VOL[reg] * _student_t(rng, 3.5, (HORIZON_DAYS,))
        own = idio[None, :] * _IDIO_MULT[reg][:, None] * _student_t(rng, 3.5, (HORIZON_DAYS, n))
        returns = beta[None, :] * market[:, None] + own
        # Clip a rare absurd draw so no coin loses or gains more than ~70% in a day.
        returns = np.clip(returns, -1.2, 0.55)
        levels = np.empty((HORIZON_DAYS + 1, n))
        levels[0] = np.log([a.price0 for a in ASSETS])
        levels[1:] = levels[0] + np.cumsum(returns, axis=0)
        own_vol = idio[None, :] * _IDIO_MULT[reg][:, None]
        vol = np.sqrt((beta[None, :] * _MARKET_VOL[reg][:, None]) ** 2 + own_vol**2)
        return levels, vol

    def day_index(self, day: date) -> int:
        """Days since ``EPOCH``; the sim has no data outside its horizon."""
        index = (day - EPOCH).days
        if not 0 <= index < HORIZON_DAYS:
            last = EPOCH + timedelta(days=HORIZON_DAYS - 1)
            raise ValueError(f"the simulated market covers {EPOCH} to {last}; {day} is outside")
        return index

    def minute_log_prices(self, day: date) -> tuple[Array, Array]:
        """Latent log prices at the 1,441 minute marks of a day, and each asset's minute vol."""
        d = self.day_index(day)
        levels, vol = self._daily
        rng = np.random.default_rng([self.seed, 2, d])
        n = len(ASSETS)
        beta = np.array([a.beta for a in ASSETS])
        sigma = vol[d] / np.sqrt(MINUTES_PER_DAY)
        common = _student_t(rng, 4.0, (MINUTES_PER_DAY, 1))
        own = _student_t(rng, 4.0, (MINUTES_PER_DAY, n))
        weight = np.clip(beta * 0.8, 0.0, 0.95)
        shocks = sigma * (weight * common + np.sqrt(1.0 - weight**2) * own)
        path = np.vstack([np.zeros((1, n)), np.cumsum(shocks, axis=0)])
        target = levels[d + 1] - levels[d]
        frac = np.linspace(0.0, 1.0, MINUTES_PER_DAY + 1)[:, None]
        bridged = path - frac * (path[-1] - target)
        return levels[d] + bridged, sigma


@dataclass(frozen=True, slots=True)
class DayBars:
    """One venue's minute bars of one day for every asset: spot and perpetual, (1440, n)."""

    spot: tuple[Array, Array, Array, Array, Array]  # open, high, low, close, volume
    swap: tuple[Array, Array, Array, Array, Array]
    premium: Array  # (1441, n) perp log premium over the venue's spot

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (*self.spot, *self.swap, self.premium))


class VenueMarket:
    """One venue's view of the market: basis, perp premium, wicks, volume. Deterministic."""

    def __init__(
        self,
        market: SyntheticMarket,
        venue: str,
        basis_bps: float,
        liquidity: float,
        cache_bytes: int = 256 * 2**20,
    ) -> None:
        self.market = market
        self.key = stable_key(venue)
        self.basis_std = basis_bps * 1e-4
        self.liquidity = liquidity
        self._cache: OrderedDict[date, DayBars] = OrderedDict()
        self._cache_bytes = cache_bytes
        self._cached = 0

    @cached_property
    def _daily_ou(self) -> tuple[Array, Array]:
        """Daily anchors of the venue basis and of the perp premium (both mean-reverting)."""
        rng = np.random.default_rng([self.market.seed, 3, self.key])
        n = len(ASSETS)
        basis = np.empty((HORIZON_DAYS + 1, n))
        premium = np.empty((HORIZON_DAYS + 1, n))
        phi_b, phi_p = 0.8, 0.7
        eps_b = rng.standard_normal((HORIZON_DAYS + 1, n)) * self.basis_std * np.sqrt(1 - phi_b**2)
        eps_p = rng.standard_normal((HORIZON_DAYS + 1, n)) * 6.0e-4 * np.sqrt(1 - phi_p**2)
        means = _PREMIUM_MEAN[np.append(self.market.regimes, self.market.regimes[-1])]
        basis[0] = eps_b[0]
        premium[0] = means[0]
        for t in range(1, HORIZON_DAYS + 1):
            basis[t] = phi_b * basis[t - 1] + eps_b[t]
            premium[t] = means[t] + phi_p * (premium[t - 1] - means[t - 1]) + eps_p[t]
        return basis, premium

    def day(self, day: date) -> DayBars:
        """All minute bars of a day on this venue (cached within a byte budget)."""
        hit = self._cache.get(day)
        if hit is not None:
            self._cache.move_to_end(day)
            return hit
        bars = self._compute(day)
        self._cache[day] = bars
        self._cached += bars.nbytes
        while self._cached > self._cache_bytes and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cached -= old.nbytes
        return bars

    def _compute(self, day: date) -> DayBars:
        latent, sigma = self.market.minute_log_prices(day)
        d = self.market.day_index(day)
        basis_days, premium_days = self._daily_ou
        rng = np.random.default_rng([self.market.seed, 4, self.key, d])
        frac = np.linspace(0.0, 1.0, MINUTES_PER_DAY + 1)[:, None]
        basis = basis_days[d] + frac * (basis_days[d + 1] - basis_days[d])
        basis = basis + rng.standard_normal(latent.shape) * self.basis_std * 0.2
        premium = premium_days[d] + frac * (premium_days[d + 1] - premium_days[d])
        premium = premium + rng.standard_normal(latent.shape) * 5.0e-5
        spot_path = latent + basis
        usd = np.array([a.usd_volume for a in ASSETS]) / MINUTES_PER_DAY * self.liquidity
        spot = self._bars(spot_path, sigma, usd, rng)
        swap = self._bars(spot_path + premium, sigma, usd * 1.6, rng)
        return DayBars(spot=spot, swap=swap, premium=premium)

    @staticmethod
    def _bars(
        path: Array, sigma: Array, usd_per_minute: Array, rng: np.random.Generator
    ) -> tuple[Array, Array, Array, Array, Array]:
        log_open, log_close = path[:-1], path[1:]
        wick = np.abs(rng.standard_normal((2, *log_open.shape))) * 0.35 * sigma
        log_high = np.maximum(log_open, log_close) + wick[0]
        log_low = np.minimum(log_open, log_close) - wick[1]
        move = np.abs(log_close - log_open) / sigma
        noise = np.exp(rng.standard_normal(log_open.shape) * 0.5 - 0.125)
        close = np.exp(log_close)
        volume = usd_per_minute * (0.4 + 0.6 * move) * noise / close
        return np.exp(log_open), np.exp(log_high), np.exp(log_low), close, volume


def aggregate(
    minute: tuple[Array, Array, Array, Array, Array], column: int, minutes: int
) -> tuple[Array, Array, Array, Array, Array]:
    """Roll minute bars of one asset up to bars of ``minutes`` (which divides a day)."""
    o, h, lo, c, v = (a[:, column].reshape(-1, minutes) for a in minute)
    return o[:, 0], h.max(axis=1), lo.min(axis=1), c[:, -1], v.sum(axis=1)
