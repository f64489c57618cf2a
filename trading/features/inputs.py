"""The bars features are computed from: candles with the funding rate known at each close."""

from __future__ import annotations

import polars as pl

from trading.timeframes import timeframe_delta


def feature_input(candles: pl.DataFrame, funding: pl.DataFrame, timeframe: str) -> pl.DataFrame:
    """Candles with ``funding_rate``: the latest rate settled at or before the bar's close (so
    no bar sees a settlement that happened after it closed); null for spot pairs."""
    bars = candles.sort("venue", "symbol", "ts").with_columns(
        close_time=pl.col("ts") + timeframe_delta(timeframe)
    )
    if funding.is_empty():
        return bars.with_columns(funding_rate=pl.lit(None, dtype=pl.Float64)).drop("close_time")
    rates = funding.select(
        "venue", "symbol", pl.col("ts").alias("funding_ts"), "funding_rate"
    ).sort("venue", "symbol", "funding_ts")
    joined = bars.join_asof(
        rates,
        left_on="close_time",
        right_on="funding_ts",
        by=["venue", "symbol"],
        strategy="backward",
        check_sortedness=False,  # both sides are sorted by (venue, symbol, time) above
    )
    return joined.drop("close_time", "funding_ts")
