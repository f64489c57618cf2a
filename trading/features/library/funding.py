"""Perpetual funding carry."""

import polars as pl

from trading.features.registry import feature


@feature("funding_carry_72", lookback=71)
def funding_carry_72() -> pl.Expr:
    """Mean of the last settled funding rate over 72 bars (zero for spot pairs)."""
    return pl.col("funding_rate").fill_null(0.0).rolling_mean(72)
