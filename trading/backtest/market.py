"""The market a backtest trades: aligned bars × instruments matrices and per-instrument costs.

Everything the engine reads at bar t is known at the close of bar t: marks carry the last
traded price forward across a missing bar, and daily volume and volatility are trailing
estimates over bars up to and including t, so no trade is priced with the future.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from trading.costs import VenueCosts

Array = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class InstrumentCosts:
    """Per-instrument cost parameters (arrays over instruments): fees from the venue's fee
    table, spread and impact from its config, minimums from ``market/instruments``."""

    maker_fee: Array
    taker_fee: Array
    half_spread_bps: Array
    impact_k: Array
    min_amount: Array  # base units
    min_notional: Array  # quote currency
    spot: NDArray[np.bool_]  # spot pairs pay a borrow rate when short

    @classmethod
    def uniform(cls, n: int, costs: VenueCosts, spot: bool = False) -> InstrumentCosts:
        """The same parameters for ``n`` instruments, no minimums."""
        return cls(
            maker_fee=np.full(n, costs.maker_fee),
            taker_fee=np.full(n, costs.taker_fee),
            half_spread_bps=np.full(n, costs.half_spread_bps),
            impact_k=np.full(n, costs.impact_k),
            min_amount=np.zeros(n),
            min_notional=np.zeros(n),
            spot=np.full(n, spot),
        )


@dataclass(frozen=True)
class Market:
    """Aligned matrices, bars × instruments; a missing bar is a NaN close."""

    ts: NDArray[np.datetime64]
    instruments: list[tuple[str, str]]  # (venue, symbol)
    close: Array
    quote_volume: Array  # traded value of the bar, quote currency
    funding: Array  # rate settled at the close of the bar, 0 where none
    costs: InstrumentCosts
    bars_per_year: float
    quote_rate: Array | None = None  # account currency per quote unit, bars × instruments
    borrow_rate: float = 0.0  # annual rate spot shorts pay
    liquidity_days: float = 30.0  # trailing window of the volume and volatility estimates
    open: Array | None = None  # the bar's first price; needed to fill at the open

    @cached_property
    def memo(self) -> dict[object, object]:
        """Values derived from the market and a run's settings, computed once per market."""
        return {}

    @property
    def bars_per_day(self) -> float:
        """Bars in a day of this timeframe."""
        return self.bars_per_year / 365.0

    @cached_property
    def marks(self) -> Array:
        """The last traded close at each bar (carried across missing bars), NaN before the
        first trade."""
        rows = np.arange(self.close.shape[0])[:, None]
        last = np.maximum.accumulate(np.where(np.isnan(self.close), 0, rows), axis=0)
        out = np.take_along_axis(self.close, last, axis=0)
        return np.asarray(out, dtype=np.float64)

    @cached_property
    def returns(self) -> Array:
        """Per-bar simple returns of the marks: 0 inside a gap, and the whole move across the
        gap in the bar the instrument trades again (a position held through it is marked at
        the next price)."""
        marks = self.marks
        out = np.zeros_like(marks)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[1:] = marks[1:] / marks[:-1] - 1.0
        out[~np.isfinite(out)] = 0.0
        return out

    @cached_property
    def open_marks(self) -> Array:
        """The price a fill at the open of each bar gets: the bar's open, else (no open
        recorded, or no trade in the bar) its mark, so the whole move lands before the fill."""
        if self.open is None:
            raise ValueError(
                "filling at the open needs open prices: build the market with market_from_frames "
                "from candles that have an open column, or fill at the close"
            )
        opened = np.asarray(self.open, dtype=np.float64)
        return np.where(np.isfinite(opened), opened, self.marks)

    @cached_property
    def gap_returns(self) -> Array:
        """From the previous mark to this bar's open: what a position held until a fill at the
        open earns (0 where a return is undefined, as in ``returns``)."""
        out = np.zeros_like(self.marks)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[1:] = self.open_marks[1:] / self.marks[:-1] - 1.0
        out[~np.isfinite(out) | self._unmarked] = 0.0
        return out

    @cached_property
    def intra_returns(self) -> Array:
        """From this bar's open to its mark: what a position filled at the open earns."""
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.asarray(self.marks / self.open_marks - 1.0, dtype=np.float64)
        out[~np.isfinite(out) | self._unmarked] = 0.0
        return out

    @cached_property
    def _unmarked(self) -> NDArray[np.bool_]:
        """Bars without a mark before them (no return to earn yet)."""
        out = np.ones(self.marks.shape, dtype=bool)
        out[1:] = ~np.isfinite(self.marks[:-1])
        return out

    @cached_property
    def tradable_open(self) -> NDArray[np.bool_]:
        """Bars at whose open an instrument can be traded: it has an open, and its liquidity
        and the conversion rate are known at the close before."""
        opened = np.isfinite(self.open_marks) & np.isfinite(np.asarray(self.open, np.float64))
        known = np.isfinite(self.adv) & (self.adv > 0) & np.isfinite(self.daily_vol)
        out = np.zeros_like(self.tradable)
        out[1:] = opened[1:] & (known & np.isfinite(self.rates))[:-1]
        return out

    @cached_property
    def rates(self) -> Array:
        """Account currency per quote unit (1 where the quote is the account currency)."""
        if self.quote_rate is None:
            return np.ones_like(self.close)
        return self.quote_rate

    @cached_property
    def tradable(self) -> NDArray[np.bool_]:
        """Bars at whose close an instrument can be traded: it traded in the bar and its
        liquidity is known from earlier bars."""
        known = np.isfinite(self.adv) & (self.adv > 0) & np.isfinite(self.daily_vol)
        return np.asarray(np.isfinite(self.close) & known & np.isfinite(self.rates))

    @cached_property
    def adv(self) -> Array:
        """Average daily traded value in the account currency over the trailing window up to
        and including the bar; NaN until a day of history exists."""
        value = self.quote_volume * self.rates
        return _trailing_mean(value, self._window, self._min_bars) * self.bars_per_day

    @cached_property
    def daily_vol(self) -> Array:
        """Daily volatility of returns over the trailing window up to and including the bar."""
        traded = np.isfinite(self.close)
        traded[1:] &= np.isfinite(self.close[:-1])
        r = np.where(traded, self.returns, np.nan)
        r[0] = np.nan
        mean = _trailing_mean(r, self._window, self._min_bars)
        square = _trailing_mean(r * r, self._window, self._min_bars)
        variance = np.maximum(square - mean * mean, 0.0)
        return np.sqrt(variance * self.bars_per_day)

    @cached_property
    def borrow(self) -> Array:
        """Per-bar borrow rate a short position pays, per instrument (0 for swaps)."""
        return np.where(self.costs.spot, self.borrow_rate / self.bars_per_year, 0.0)

    # C-ordered copies for the compiled account, which walks bars then instruments.
    @cached_property
    def returns_c(self) -> Array:
        return np.ascontiguousarray(self.returns)

    @cached_property
    def funding_c(self) -> Array:
        return np.ascontiguousarray(self.funding, dtype=np.float64)

    @cached_property
    def tradable_c(self) -> NDArray[np.bool_]:
        return np.ascontiguousarray(self.tradable)

    @cached_property
    def price_c(self) -> Array:
        """Account currency per base unit (the minimum amount's notional)."""
        return np.ascontiguousarray(self.marks * self.rates)

    @cached_property
    def min_notional_c(self) -> Array:
        """The minimum notional in the account currency, per bar."""
        return np.ascontiguousarray(self.costs.min_notional * self.rates)

    @cached_property
    def adv_c(self) -> Array:
        return np.ascontiguousarray(self.adv)

    @cached_property
    def daily_vol_c(self) -> Array:
        return np.ascontiguousarray(self.daily_vol)

    def fill_rows(self, fill: str) -> tuple[Array, Array, NDArray[np.bool_], Array, Array, int]:
        """What the compiled account reads for fills at ``fill`` ("close" of bar t-1 or
        "open" of bar t): the move before the fill, the return after it, and tradability, price
        and minimum notional at the fill (row t-1 for the close, row t for the open)."""
        if fill == "close":
            no_gap = self._no_gap
            return no_gap, self.returns_c, self.tradable_c, self.price_c, self.min_notional_c, 1
        if fill == "open":
            return self._open_rows
        raise ValueError(f"fill {fill!r} is unknown; use 'close' or 'open'")

    @cached_property
    def _no_gap(self) -> Array:
        return np.zeros_like(self.returns_c)

    @cached_property
    def _open_rows(self) -> tuple[Array, Array, NDArray[np.bool_], Array, Array, int]:
        rates = np.empty_like(self.rates)
        rates[0] = np.nan
        rates[1:] = self.rates[:-1]  # the conversion known at the close before the open
        return (
            np.ascontiguousarray(self.gap_returns),
            np.ascontiguousarray(self.intra_returns),
            np.ascontiguousarray(self.tradable_open),
            np.ascontiguousarray(self.open_marks * rates),
            np.ascontiguousarray(self.costs.min_notional * rates),
            0,
        )

    @property
    def _window(self) -> int:
        return max(1, round(self.liquidity_days * self.bars_per_day))

    @property
    def _min_bars(self) -> int:
        return max(1, min(self._window, round(self.bars_per_day)))

    def prepare(self, fill: str = "close") -> None:
        """Compute every cached matrix now (before worker threads share the market)."""
        _ = (self.returns_c, self.funding_c, self.tradable_c, self.price_c, self.borrow)
        _ = (self.min_notional_c, self.adv_c, self.daily_vol_c, self.fill_rows(fill))


def _trailing_mean(x: Array, window: int, min_count: int) -> Array:
    """Mean of the finite values among the last ``window`` rows up to and including each row;
    NaN where fewer than ``min_count`` are finite."""
    finite = np.isfinite(x)
    values = np.where(finite, x, 0.0)
    total = np.cumsum(values, axis=0)
    count = np.cumsum(finite, axis=0).astype(np.float64)
    total[window:] = total[window:] - total[:-window]
    count[window:] = count[window:] - count[:-window]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = total / count
    out[count < min_count] = np.nan
    return out


def costs_of(
    instruments: Sequence[tuple[str, str]],
    venue_costs: Mapping[str, VenueCosts],
    table: Mapping[tuple[str, str], Mapping[str, object]] | None = None,
) -> InstrumentCosts:
    """Per-instrument costs: fees and minimums from ``market/instruments`` rows where present
    (the venue's own fee table), else the venue's configured fees; spread and impact from the
    venue's config."""
    rows = table or {}
    columns: dict[str, list[float]] = {
        k: [] for k in ("maker_fee", "taker_fee", "half_spread_bps", "impact_k")
    }
    minimums: dict[str, list[float]] = {"min_amount": [], "min_notional": []}
    spot: list[bool] = []
    for venue, symbol in instruments:
        if venue not in venue_costs:
            raise ValueError(f"no cost parameters for venue {venue!r}; configure it in keel.toml")
        base = venue_costs[venue]
        row = rows.get((venue, symbol), {})
        columns["maker_fee"].append(float(row.get("maker_fee", base.maker_fee)))  # type: ignore[arg-type]
        columns["taker_fee"].append(float(row.get("taker_fee", base.taker_fee)))  # type: ignore[arg-type]
        columns["half_spread_bps"].append(base.half_spread_bps)
        columns["impact_k"].append(base.impact_k)
        minimums["min_amount"].append(float(row.get("min_amount", 0.0) or 0.0))  # type: ignore[arg-type]
        minimums["min_notional"].append(float(row.get("min_notional", 0.0) or 0.0))  # type: ignore[arg-type]
        kind = row.get("kind")
        spot.append(kind == "spot" if kind is not None else ":" not in symbol)
    unknown = [
        f"{v} {s}"
        for (v, s), maker, taker in zip(
            instruments, columns["maker_fee"], columns["taker_fee"], strict=True
        )
        if not (np.isfinite(maker) and np.isfinite(taker))
    ]
    if unknown:
        raise ValueError(
            f"fees of {', '.join(unknown[:5])} are unknown: market/instruments has no row for "
            "them; run the instruments job (keel backfill or the instruments schedule) first"
        )
    return InstrumentCosts(
        **{k: np.array(v, dtype=np.float64) for k, v in columns.items()},
        **{k: np.array(v, dtype=np.float64) for k, v in minimums.items()},
        spot=np.array(spot, dtype=bool),
    )
