"""Cross-venue basis: short an instrument where it trades rich against its other venues, long
where it trades cheap; the basis mean-reverts."""

import polars as pl

from trading.models.registry import Params, budget, model


class BasisParams(Params):
    entry: float = 0.0005  # basis (fraction) at which to take a full position


@model("basis", BasisParams, features=["venue_basis"], sweep={"entry": [0.0002, 0.001]})
def basis(features: pl.DataFrame, p: BasisParams) -> pl.DataFrame:
    """Weight = -basis / entry, capped at ±1."""
    signal = (-pl.col("venue_basis") / p.entry).clip(-1.0, 1.0)
    return features.select("venue", "symbol", "ts", weight=budget(signal))
