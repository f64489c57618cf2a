"""Cross-venue basis: short an instrument where it trades rich against its other venues, long
where it trades cheap; the basis mean-reverts. Its legs only make sense on their own venue, so
the model is ``per_venue``: each target is a leg pinned to its venue."""

import polars as pl

from trading.models.registry import Params, model, pinned_legs


class BasisParams(Params):
    entry: float = 0.0005  # basis (fraction) at which to take a full position


@model(
    "basis",
    BasisParams,
    features=["venue_basis"],
    sweep={"entry": [0.0002, 0.001]},
    per_venue=True,
)
def basis(features: pl.DataFrame, p: BasisParams) -> pl.DataFrame:
    """Leg weight = -basis / entry on each venue, capped at ±1; no basis known: no signal."""
    signal = (-pl.col("venue_basis") / p.entry).clip(-1.0, 1.0)
    return pinned_legs(features, signal)
