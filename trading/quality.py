"""Data-quality findings over candle frames: pure polars, shared by Dagster checks and research.

Each function returns the offending rows (empty when the data is clean), so a caller can both
decide and show a sample. Gaps live in ``trading.gaps``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import polars as pl

from trading import frames
from trading.timeframes import floor_time, timeframe_delta


def stale_symbols(
    candles: pl.DataFrame,
    timeframe: str,
    as_of: datetime,
    max_bars: int,
    symbols: Iterable[str],
) -> pl.DataFrame:
    """Symbols whose newest bar is more than ``max_bars`` bars older than the newest bar that
    should have closed by ``as_of`` (symbols with no bar at all are stale too)."""
    step = timeframe_delta(timeframe)
    expected = floor_time(as_of, timeframe) - step
    newest = candles.group_by("symbol").agg(newest=pl.col("ts").max())
    out = (
        pl.DataFrame({"symbol": list(symbols)}, schema={"symbol": pl.String})
        .join(newest, on="symbol", how="left")
        .with_columns(
            expected=pl.lit(expected).cast(frames.UTC_TS),
            bars_behind=pl.when(pl.col("newest").is_null())
            .then(None)
            .otherwise(
                (pl.lit(expected) - pl.col("newest")).dt.total_seconds()
                // int(step.total_seconds())
            ),
        )
        .filter(pl.col("newest").is_null() | (pl.col("bars_behind") > max_bars))
    )
    return out.sort("symbol")


def duplicate_keys(df: pl.DataFrame, key: Sequence[str]) -> pl.DataFrame:
    """Rows whose key appears more than once."""
    return df.filter(pl.struct(list(key)).is_duplicated()).sort(list(key))


def return_outliers(
    candles: pl.DataFrame, k: float, window: int, min_periods: int | None = None
) -> pl.DataFrame:
    """Bars whose close-to-close log return exceeds ``k`` rolling standard deviations of the
    ``window`` returns before it (the bar itself is excluded, so a spike cannot hide itself)."""
    min_periods = min_periods or max(10, window // 2)
    scored = (
        candles.sort("symbol", "ts")
        .with_columns(ret=pl.col("close").log().diff().over("symbol"))
        .with_columns(
            sigma=pl.col("ret")
            .rolling_std(window_size=window, min_samples=min_periods)
            .shift(1)
            .over("symbol")
        )
        # A flat price has zero return and zero spread: 0/0 is NaN, which polars orders above
        # every number, so it must be scored 0 explicitly (a move off a flat price stays inf).
        .with_columns(
            z=pl.when(pl.col("ret") == 0.0).then(0.0).otherwise(pl.col("ret") / pl.col("sigma"))
        )
    )
    return scored.filter(pl.col("z").abs() > k).select(
        "venue", "symbol", "ts", "date", "close", "ret", "sigma", "z"
    )


def cross_venue_divergence(candles: pl.DataFrame, threshold: float) -> pl.DataFrame:
    """Bars where the same instrument's close differs between venues by more than
    ``threshold`` (a fraction) of the lowest close."""
    wide = (
        candles.group_by("symbol", "ts")
        .agg(
            venues=pl.col("venue").n_unique(),
            low=pl.col("close").min(),
            high=pl.col("close").max(),
            low_venue=pl.col("venue").sort_by("close").first(),
            high_venue=pl.col("venue").sort_by("close").last(),
        )
        .filter(pl.col("venues") > 1)
        .with_columns(divergence=pl.col("high") / pl.col("low") - 1.0)
    )
    return (
        wide.filter(pl.col("divergence") > threshold)
        .with_columns(date=pl.col("ts").dt.date())
        .sort("symbol", "ts")
    )
