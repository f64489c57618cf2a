"""Research results skip the lake's key scan (``keys_unique``) because their keys are unique by
construction: these tests are that guarantee."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from assets.research_run import _frames
from lake import catalog
from lake.research_trades import flatten, to_lists, trade_lists
from trading.backtest.engine import InstrumentCosts, Market, Settings, run
from trading.costs import VenueCosts

FREE = VenueCosts(maker_fee=0.0, taker_fee=0.0, half_spread_bps=0.0, impact_k=0.0)


def _market(bars: int, n: int, seed: int) -> Market:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (bars, n)), axis=0))
    close[rng.random((bars, n)) < 0.1] = np.nan
    return Market(
        ts=np.arange(bars).astype("datetime64[h]").astype("datetime64[us]"),
        instruments=[("a" if i % 2 else "b", f"S{i // 2}") for i in range(n)],
        close=close,
        quote_volume=np.full((bars, n), 1e7),
        funding=np.zeros((bars, n)),
        costs=InstrumentCosts.uniform(n, FREE),
        bars_per_year=8760.0,
        liquidity_days=0.1,
    )


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 1000), bars=st.integers(3, 60), n=st.integers(1, 6))
def test_research_frames_hold_one_row_per_key(seed: int, bars: int, n: int) -> None:
    market = _market(bars, n, seed)
    weights = np.random.default_rng(seed).uniform(-1, 1, (bars, n))
    result = run(market, weights, Settings())
    ts = pl.Series(market.ts).dt.replace_time_zone("UTC").dt.cast_time_unit("us")

    frames = [_frames(name, "run", market, result, ts) for name in ("s1", "s2")]
    equity = pl.concat([e for e, _ in frames])
    lists = pl.concat([t for _, t in frames])
    trades = flatten(lists)

    assert not equity.select(pl.struct(catalog.research_equity().key).is_duplicated().any()).item()
    list_key = pl.struct(catalog.research_trade_lists().key)
    assert not lists.select(list_key.is_duplicated().any()).item()
    assert not trades.select(pl.struct(catalog.research_trades().key).is_duplicated().any()).item()
    assert equity.height == 2 * bars
    assert lists.height == 2 * n
    assert trades.height == 2 * int(np.count_nonzero(np.abs(result.trades) > 1e-12))


def _reference_rows(key: str, market: Market, result: Any, ts: pl.Series) -> pl.DataFrame:
    """One row per trade, as research wrote them before the list form."""
    bar, inst = np.nonzero(np.abs(result.trades) > 1e-12)
    return pl.DataFrame(
        {
            "strategy": key,
            "venue": pl.Series([v for v, _ in market.instruments]).gather(inst),
            "symbol": pl.Series([s for _, s in market.instruments]).gather(inst),
            "ts": ts.gather(bar),
            "trade": result.trades[bar, inst],
            "position": result.positions[bar, inst],
        },
        schema=dict(catalog.RESEARCH_TRADES),
    )


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 1000), bars=st.integers(3, 60), n=st.integers(1, 6))
def test_trade_lists_hold_exactly_the_trades_of_one_row_per_trade(
    seed: int, bars: int, n: int
) -> None:
    market = _market(bars, n, seed)
    weights = np.random.default_rng(seed).uniform(-1, 1, (bars, n))
    weights[:, 0] = 0.0  # an instrument never traded keeps its (empty) row
    result = run(market, weights, Settings())
    ts = pl.Series(market.ts).dt.replace_time_zone("UTC").dt.cast_time_unit("us")

    lists = trade_lists("s", market.instruments, ts, result.trades, result.positions)
    order = ["strategy", "venue", "symbol", "ts"]
    expected = _reference_rows("s", market, result, ts).sort(order)

    assert flatten(lists).sort(order).equals(expected)
    assert to_lists(expected).equals(lists.filter(pl.col("ts").list.len() > 0).sort(order[:3]))
