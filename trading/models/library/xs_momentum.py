"""Cross-sectional momentum: long the month's winners, short its losers, at every bar."""

import polars as pl

from trading.models.registry import Params, budget, model


class XsMomentumParams(Params):
    threshold: float = 0.5  # trade only the top and bottom of the rank


@model(
    "xs_momentum", XsMomentumParams, features=["xs_momentum_rank"], sweep={"threshold": [0.0, 0.8]}
)
def xs_momentum(features: pl.DataFrame, p: XsMomentumParams) -> pl.DataFrame:
    """Weight = rank in [-1, 1] where |rank| >= threshold."""
    rank = pl.col("xs_momentum_rank")
    signal = pl.when(rank.abs() >= p.threshold).then(rank).otherwise(0.0)
    return features.select("venue", "symbol", "ts", weight=budget(signal))
