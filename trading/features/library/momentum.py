"""Momentum: the return of the past month, skipping the last day (short-term reversal)."""

import polars as pl

from trading.features.registry import feature


@feature("momentum_720_24", lookback=720)
def momentum_720_24() -> pl.Expr:
    """Log return from 720 bars ago to 24 bars ago."""
    log_close = pl.col("close").log()
    return log_close.shift(24) - log_close.shift(720)


@feature("xs_momentum_rank", lookback=0, over="cross_section", inputs=["momentum_720_24"])
def xs_momentum_rank() -> pl.Expr:
    """Momentum's rank among all instruments at the bar, scaled to [-1, 1]."""
    rank = pl.col("momentum_720_24").rank("average")
    count = pl.col("momentum_720_24").count()
    return pl.when(count > 1).then(2.0 * (rank - 1.0) / (count - 1.0) - 1.0)
