"""Time-series trend: long what went up over the past week, short what went down, sized by
the move's strength in units of its own volatility."""

import polars as pl

from trading.models.registry import Params, model, venue_neutral


class TrendParams(Params):
    scale: float = 0.5  # weight per unit of volatility-adjusted return
    min_strength: float = 0.0  # ignore moves weaker than this


@model("trend", TrendParams, features=["ret_168", "vol_168"], sweep={"scale": [0.25, 1.0]})
def trend(features: pl.DataFrame, p: TrendParams) -> pl.DataFrame:
    """Weight = scale × (weekly return / weekly volatility), per instrument (both averaged over
    its venues); flat below min_strength; unknown strength: no signal."""
    strength = pl.col("ret_168") / (pl.col("vol_168") * 168**0.5)
    signal = (
        pl.when(strength.abs() >= p.min_strength)
        .then(strength * p.scale)
        .when(strength.is_not_null())
        .then(0.0)
    )
    return venue_neutral(features, signal.clip(-1.0, 1.0))
