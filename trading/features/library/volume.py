"""Volume relative to its own recent history."""

import polars as pl

from trading.features.registry import feature


@feature("volume_z_168", lookback=167)
def volume_z_168() -> pl.Expr:
    """z-score of log quote volume against the last 168 bars."""
    quote = (pl.col("close") * pl.col("volume") + 1.0).log()
    return (quote - quote.rolling_mean(168)) / quote.rolling_std(168)
