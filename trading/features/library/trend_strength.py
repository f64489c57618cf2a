"""Trend strength: a feature built on two other features."""

import polars as pl

from trading.features.registry import feature


@feature("trend_strength_168", lookback=0, inputs=["ret_168", "vol_168"])
def trend_strength_168() -> pl.Expr:
    """The week's log return in units of its own volatility over the week."""
    strength: pl.Expr = pl.col("ret_168") / (pl.col("vol_168") * 168**0.5)
    return strength
