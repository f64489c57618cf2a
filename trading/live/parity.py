"""Parity: a live or paper decision must equal the research decision for the same strategy,
bar and feature version. Research computes targets over the whole feature table (what the
backtest does); the run computed them from the rows of one bar. Any difference means a model
that looks beyond its bar, or a run that read other data than research would have."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import polars as pl

from trading.models.registry import strategy

TOLERANCE = 1e-12
_KEYS = ["strategy", "bar", "venue", "symbol"]


def research_targets(
    features: pl.DataFrame, names: Sequence[str], bars: Sequence[datetime]
) -> pl.DataFrame:
    """The research decision of each strategy at each of ``bars``: targets over the full table."""
    wanted = pl.Series("bar", list(bars), dtype=pl.Datetime("us", "UTC"))
    frames = [
        strategy(name)
        .targets(features)
        .filter(pl.col("ts").is_in(wanted.implode()))
        .select(
            strategy=pl.lit(name), bar=pl.col("ts"), venue="venue", symbol="symbol", weight="weight"
        )
        for name in names
    ]
    schema = {
        "strategy": pl.String(),
        "bar": pl.Datetime("us", "UTC"),
        "venue": pl.String(),
        "symbol": pl.String(),
        "weight": pl.Float64(),
    }
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema)


def differences(decisions: pl.DataFrame, research: pl.DataFrame) -> pl.DataFrame:
    """Rows where the recorded decision and research differ: a missing research row, weights
    apart by more than ``TOLERANCE``, or one side null (no signal) where the other is a number
    (null means "hold", 0 means "go flat": not the same decision). A null venue (venue-neutral
    target) matches a null venue."""
    joined = decisions.select(*_KEYS, pl.col("weight").alias("live")).join(
        research.select(*_KEYS, pl.col("weight").alias("research")).with_columns(
            _found=pl.lit(True)
        ),
        on=_KEYS,
        how="left",
        nulls_equal=True,
    )
    live, back = pl.col("live"), pl.col("research")
    differ = (
        pl.col("_found").is_null()
        | (live.is_null() != back.is_null())
        | ((live - back).abs() > TOLERANCE).fill_null(False)
    )
    return joined.filter(differ).drop("_found").sort(_KEYS, nulls_last=False)
