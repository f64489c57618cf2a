"""Cross-sectional momentum: long the month's winners, short its losers, at every bar."""

import polars as pl

from trading.models.registry import Params, model, venue_neutral


class XsMomentumParams(Params):
    threshold: float = 0.5  # trade only the top and bottom of the rank


@model(
    "xs_momentum", XsMomentumParams, features=["xs_momentum_rank"], sweep={"threshold": [0.0, 0.8]}
)
def xs_momentum(features: pl.DataFrame, p: XsMomentumParams) -> pl.DataFrame:
    """Weight = rank in [-1, 1] (averaged over the instrument's venues) where |rank| >=
    threshold, else flat; unknown rank: no signal."""
    rank = pl.col("xs_momentum_rank")
    signal = pl.when(rank.abs() >= p.threshold).then(rank).when(rank.is_not_null()).then(0.0)
    return venue_neutral(features, signal)
