"""The MAX effect: short the coins with the most lottery-like recent days (retail overpays for
them), long the calmest."""

import polars as pl

from trading.models.registry import Params, model, venue_neutral


class MaxEffectParams(Params):
    long_calm: bool = True  # also hold the calmest coins long, market-neutral


@model(
    "max_effect", MaxEffectParams, features=["max_daily_return_30d"], sweep={"long_calm": [False]}
)
def max_effect(features: pl.DataFrame, p: MaxEffectParams) -> pl.DataFrame:
    """Weight = minus the MAX rank in [-1, 1] across instruments at each bar (each instrument's
    MAX averaged over its venues); unknown MAX: no signal."""
    value = pl.col("max_daily_return_30d")
    rank = value.rank("average").over("ts")
    count = value.count().over("ts")
    scaled = pl.when(count > 1).then(2.0 * (rank - 1.0) / (count - 1.0) - 1.0).otherwise(0.0)
    scaled = pl.when(value.is_null()).then(None).otherwise(scaled)
    signal = -scaled if p.long_calm else (-scaled).clip(upper_bound=0.0)
    return venue_neutral(features, signal)
