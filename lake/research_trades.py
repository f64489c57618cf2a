"""Research trades in their stored form and back: one row per strategy and instrument with its
traded bars as lists (``research/trade_lists``), read as one row per trade.

Writing one row per trade cost most of a research run (31.8 M rows for 200 strategies x 20
instruments x 2 years hourly: strategy, venue and symbol repeated per row, dictionary encoding
attempted on every float); the list form stores the same numbers in 4,000 rows. Lakes written
before it hold ``research/trades`` (one row per trade): a strategy absent from the list table is
read from there, so old results stay readable until the next research run replaces them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
import pyarrow as pa
from numpy.typing import NDArray

from lake import catalog
from lake.store import Lake

TRADED = 1e-12  # |trade| above this is a trade (the engine leaves exact zeros or float dust)


def trade_lists(
    strategy: str,
    instruments: Sequence[tuple[str, str]],
    ts: pl.Series,
    trades: NDArray[np.float64],
    positions: NDArray[np.float64],
) -> pl.DataFrame:
    """A strategy's trades (bars x instruments matrices on the bars ``ts``) in the stored form:
    one row per instrument, its traded bars ascending (empty lists when it never traded, so
    the strategy's rows replace older ones even then). Built from offsets over the matrices'
    values, without a row per trade."""
    traded = (np.abs(trades) > TRADED).T  # instrument-major, bars ascending within one
    bar = np.nonzero(traded)[1]
    counts = traded.sum(axis=1)
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    stamps = ts.dt.cast_time_unit("us").dt.replace_time_zone("UTC").to_physical().to_numpy()
    when = pa.array(stamps[bar], type=pa.timestamp("us", tz="UTC"))

    def lists(values: pa.Array) -> pl.Series:
        out = pl.from_arrow(pa.ListArray.from_arrays(offsets, values))
        assert isinstance(out, pl.Series)
        return out

    return pl.DataFrame(
        {
            "strategy": pl.Series([strategy] * len(instruments), dtype=pl.String),
            "venue": pl.Series([v for v, _ in instruments], dtype=pl.String),
            "symbol": pl.Series([s for _, s in instruments], dtype=pl.String),
            "ts": lists(when),
            "trade": lists(pa.array(trades.T[traded])),
            "position": lists(pa.array(positions.T[traded])),
        },
        schema=dict(catalog.RESEARCH_TRADE_LISTS),
    )


def flatten(lists: pl.DataFrame) -> pl.DataFrame:
    """The stored form as one row per trade (the RESEARCH_TRADES layout)."""
    traded = lists.filter(pl.col("ts").list.len() > 0)  # an empty list would explode to nulls
    return traded.explode("ts", "trade", "position").select(list(catalog.RESEARCH_TRADES))


def read_trades(lake: Lake, strategies: Sequence[str] | None = None) -> pl.DataFrame:
    """Research trades of ``strategies`` (default all) as one row per trade: from the list
    table, and for strategies absent there from the per-trade table of older lakes."""
    wanted = None if strategies is None else list(strategies)
    lists = lake.scan(catalog.research_trade_lists())
    if wanted is not None:
        lists = lists.filter(pl.col("strategy").is_in(wanted))
    current = flatten(lists.collect())
    old_spec = catalog.research_trades()
    if not lake.exists(old_spec):
        return current
    found = current["strategy"].unique().to_list()
    old = lake.scan(old_spec).filter(~pl.col("strategy").is_in(found))
    if wanted is not None:
        old = old.filter(pl.col("strategy").is_in(wanted))
    return pl.concat([current, old.collect()])


def to_lists(rows: pl.DataFrame) -> pl.DataFrame:
    """Trades given one row per trade (the RESEARCH_TRADES layout) in the stored form."""
    return (
        rows.sort("strategy", "venue", "symbol", "ts")
        .group_by("strategy", "venue", "symbol", maintain_order=True)
        .agg("ts", "trade", "position")
        .select(list(catalog.RESEARCH_TRADE_LISTS))
    )
