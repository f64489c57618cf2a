"""Markets for the backtest engine's tests, built one way: a small hand-written market whose
figures a test can work out by hand, and a seeded random one (missing bars, funding, minimums,
spot and perpetuals, a pair quoted in another currency) to compare the engine with the per-bar
reference account on."""

from __future__ import annotations

import numpy as np

from trading.backtest.engine import InstrumentCosts, Market
from trading.costs import VenueCosts

FREE = VenueCosts(maker_fee=0.0, taker_fee=0.0, half_spread_bps=0.0, impact_k=0.0)

# The random market's instruments: one venue, four symbols; S3 is quoted at 2.0 of the account
# currency, S1 needs 0.5 units, S2 $400 an order; S0 and S2 are spot.
ONE_VENUE = [("v", f"S{i}") for i in range(4)]
# The same four columns as one instrument X on three venues and Y on one.
X_ON_THREE_Y_ON_ONE = [("a", "X"), ("b", "X"), ("c", "X"), ("a", "Y")]


def simple_market(
    close: list[list[float]] | np.ndarray,
    *,
    open_: list[list[float]] | np.ndarray | None = None,
    funding: list[list[float]] | None = None,
    volume: float = 1e6,
    costs: VenueCosts = FREE,
    spot: bool = False,
    borrow_rate: float = 0.0,
    liquidity_days: float = 1.0,
    bars_per_year: float = 365.0,
) -> Market:
    """A market with a column per instrument (``v``, ``S0``, ``S1``, ...), the same costs and
    volume everywhere; daily bars by default: a window of ``liquidity_days`` bars, trading from
    bar 1 (the first bar with a return to estimate volatility from)."""
    c = np.array(close, dtype=float)
    return Market(
        ts=np.arange(len(c)).astype("datetime64[h]"),
        instruments=[("v", f"S{i}") for i in range(c.shape[1])],
        close=c,
        quote_volume=np.full_like(c, volume),
        funding=np.array(funding, dtype=float) if funding else np.zeros_like(c),
        costs=InstrumentCosts.uniform(c.shape[1], costs, spot=spot),
        bars_per_year=bars_per_year,
        borrow_rate=borrow_rate,
        liquidity_days=liquidity_days,
        open=None if open_ is None else np.array(open_, dtype=float),
    )


def random_market(
    seed: int,
    *,
    bars: int = 150,
    instruments: list[tuple[str, str]] = ONE_VENUE,
    with_open: bool = False,
) -> Market:
    """Four columns of hourly bars from a seeded random walk: 4% of bars missing, funding
    settled on about one bar in eight, random fees (maker rebates included), spread and
    impact, the minimums, spot flags and quote currency of ``ONE_VENUE``. ``with_open``
    adds opens near the previous close, 2% of them not recorded."""
    rng = np.random.default_rng(seed)
    n = len(instruments)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (bars, n)), axis=0))
    open_ = close * np.exp(rng.normal(0, 0.004, (bars, n))) if with_open else None
    close[rng.random((bars, n)) < 0.04] = np.nan  # missing bars
    if open_ is not None:
        open_[np.isnan(close)] = np.nan
        open_[rng.random((bars, n)) < 0.02] = np.nan  # a bar whose open was not recorded
    return Market(
        ts=np.arange(bars).astype("datetime64[h]"),
        instruments=instruments,
        close=close,
        quote_volume=rng.uniform(1e4, 1e6, (bars, n)),
        funding=np.where(rng.random((bars, n)) < 0.125, rng.normal(0, 1e-4, (bars, n)), 0.0),
        costs=InstrumentCosts(
            maker_fee=rng.uniform(-1e-4, 2e-4, n),
            taker_fee=rng.uniform(0, 1e-3, n),
            half_spread_bps=rng.uniform(0, 5, n),
            impact_k=rng.uniform(0, 1, n),
            min_amount=np.array([0.0, 0.5, 0.0, 0.0]),
            min_notional=np.array([0.0, 0.0, 400.0, 0.0]),
            spot=np.array([True, False, True, False]),
        ),
        bars_per_year=8760.0,
        quote_rate=np.where(np.arange(n) == 3, 2.0, 1.0) * np.ones((bars, n)),
        borrow_rate=0.2,
        liquidity_days=2.0,
        open=open_,
    )
