"""How far the close sits from its recent mean, in standard deviations."""

import polars as pl

from trading.features.registry import feature


@feature("zscore_48", lookback=47)
def zscore_48() -> pl.Expr:
    """(close - mean of 48 closes) / std of 48 closes."""
    close = pl.col("close")
    return (close - close.rolling_mean(48)) / close.rolling_std(48)
