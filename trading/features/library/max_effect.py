"""The MAX (lottery) effect: retail overpays for the coins with the wildest recent days."""

import polars as pl

from trading.features.registry import feature


@feature("max_daily_return_30d", lookback=744)
def max_daily_return_30d() -> pl.Expr:
    """Largest 24-bar log return over the past 30 days (720 bars)."""
    return pl.col("close").log().diff(24).rolling_max(720)
