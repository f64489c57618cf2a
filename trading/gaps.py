"""Missing bars against the expected calendar: the silent bug that fakes backtest profits."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import polars as pl

from trading import frames
from trading.timeframes import floor_time, timeframe_delta

GAPS: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "gap_start": frames.UTC_TS,  # first missing bar
    "gap_end": frames.UTC_TS,  # last missing bar
    "missing_bars": pl.Int64(),
}


def find_gaps(
    candles: pl.DataFrame,
    timeframe: str,
    start: datetime,
    last_expected: datetime,
    symbols: Iterable[str],
) -> pl.DataFrame:
    """Runs of missing bars per symbol between ``start`` and ``last_expected`` (both bar opens,
    inclusive). A symbol with no bars at all is one gap spanning the whole window."""
    step = timeframe_delta(timeframe)
    if last_expected < start:
        return frames.empty(GAPS)
    bounds = pl.DataFrame(
        {"symbol": list(symbols)},
        schema={"symbol": pl.String},
    ).with_columns(
        lo=pl.lit(start - step).cast(frames.UTC_TS),
        hi=pl.lit(last_expected + step).cast(frames.UTC_TS),
    )
    present = candles.select("symbol", "ts").filter(
        (pl.col("ts") >= start) & (pl.col("ts") <= last_expected)
    )
    # Sentinels one bar outside each end turn leading and trailing gaps into interior ones.
    sentinels = pl.concat(
        [
            bounds.select("symbol", pl.col("lo").alias("ts")),
            bounds.select("symbol", pl.col("hi").alias("ts")),
        ]
    )
    step_us = int(step.total_seconds() * 1_000_000)
    runs = (
        pl.concat([present, sentinels.join(bounds.select("symbol"), on="symbol")])
        .unique()
        .sort("symbol", "ts")
        .with_columns(prev=pl.col("ts").shift(1).over("symbol"))
        .filter(pl.col("prev").is_not_null())
        .with_columns(
            missing_bars=((pl.col("ts") - pl.col("prev")).dt.total_microseconds() // step_us - 1)
        )
        .filter(pl.col("missing_bars") > 0)
        .select(
            "symbol",
            gap_start=pl.col("prev") + step,
            gap_end=pl.col("ts") - step,
            missing_bars=pl.col("missing_bars").cast(pl.Int64),
        )
    )
    return frames.conform(runs, GAPS)


def last_expected_bar(
    bars: pl.DataFrame, timeframe: str, end: datetime, as_of: datetime
) -> datetime:
    """The newest bar a gap check should expect: the newest one any instrument of the venue
    delivered (lag against the clock is the freshness check's job, with its tolerance), and
    never past the window or the newest bar closed at ``as_of``."""
    step = timeframe_delta(timeframe)
    limit = min(end, floor_time(as_of, timeframe)) - step
    newest = bars.get_column("ts").max() if bars.height else None
    if isinstance(newest, datetime):
        return min(limit, newest)
    return limit
