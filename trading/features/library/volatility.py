"""Rolling volatility of one-bar log returns."""

import polars as pl

from trading.features.registry import feature


@feature("vol_24", lookback=25)
def vol_24() -> pl.Expr:
    """Standard deviation of the last 24 one-bar log returns."""
    return pl.col("close").log().diff().rolling_std(24)


@feature("vol_168", lookback=169)
def vol_168() -> pl.Expr:
    """Standard deviation of the last 168 one-bar log returns."""
    return pl.col("close").log().diff().rolling_std(168)
