"""Quality findings that decide whether downstream work may run: a price move that other venues
do not confirm, and funding settlements lost between pages.

Like ``trading.quality``, each function returns the offending rows (empty when clean).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import polars as pl

DEFAULT_FUNDING_INTERVAL = timedelta(hours=8)
_GAP_TOLERANCE = 1.5  # a spacing beyond 1.5 intervals means at least one settlement is missing


def confirmed_outliers(outliers: pl.DataFrame, diverging: pl.DataFrame, venue: str) -> pl.DataFrame:
    """Outlier bars of ``venue`` whose close also disagrees with the other venues' closes of the
    same instrument and bar: a spike the market did not make, so a bad price, not a fat tail.
    ``outliers`` comes from ``return_outliers``, ``diverging`` from ``cross_venue_divergence``."""
    if outliers.is_empty() or diverging.is_empty():
        return outliers.head(0)
    disputed = diverging.filter(
        (pl.col("low_venue") == venue) | (pl.col("high_venue") == venue)
    ).select("symbol", "ts", "divergence")
    return outliers.join(disputed, on=["symbol", "ts"], how="inner").sort("symbol", "ts")


def funding_intervals(settlements: pl.DataFrame) -> pl.DataFrame:
    """Each symbol's settlement interval, read from its own history (the median spacing), so a
    venue or contract that settles every 1, 4 or 8 hours is judged by its own clock."""
    return (
        settlements.sort("symbol", "ts")
        .with_columns(step=pl.col("ts").diff().over("symbol"))
        .group_by("symbol")
        .agg(interval=pl.col("step").drop_nulls().median())
        .with_columns(pl.col("interval").fill_null(DEFAULT_FUNDING_INTERVAL))
    )


def funding_gaps(
    settlements: pl.DataFrame,
    symbols: Sequence[str],
    start: datetime,
    as_of: datetime,
) -> pl.DataFrame:
    """Spans in ``[start, as_of)`` where settlements of a listed symbol are missing: a spacing
    beyond 1.5 of the symbol's interval, counted from the last settlement before ``start``
    (``settlements`` should reach back at least one interval before it)."""
    schema = {
        "symbol": pl.String(),
        "gap_start": settlements.schema.get("ts", pl.Datetime("us", "UTC")),
        "gap_end": settlements.schema.get("ts", pl.Datetime("us", "UTC")),
        "interval": pl.Duration("us"),
        "missing": pl.Int64(),
    }
    present = settlements.filter(pl.col("symbol").is_in(list(symbols)), pl.col("ts") < as_of)
    if present.is_empty():
        return pl.DataFrame(schema=schema)
    intervals = funding_intervals(present).with_columns(
        us=pl.col("interval").dt.total_microseconds()
    )
    spacing = (pl.col("ts") - pl.col("previous")).dt.total_microseconds()
    spaced = (
        present.select("symbol", "ts")
        .sort("symbol", "ts")
        .with_columns(previous=pl.col("ts").shift(1).over("symbol"))
        .join(intervals, on="symbol")
        .filter(
            pl.col("previous").is_not_null(),
            pl.col("ts") > start,
            spacing > pl.col("us") * _GAP_TOLERANCE,
        )
    )
    return spaced.select(
        "symbol",
        gap_start=pl.col("previous") + pl.col("interval"),
        gap_end=pl.col("ts") - pl.col("interval"),
        interval=pl.col("interval").cast(pl.Duration("us")),
        missing=(spacing / pl.col("us")).round().cast(pl.Int64) - 1,
    ).cast(schema)  # type: ignore[arg-type]
