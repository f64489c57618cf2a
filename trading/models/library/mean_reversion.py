"""Mean reversion: fade closes that stretched far from their two-day mean."""

import polars as pl

from trading.models.registry import Params, model, venue_neutral


class MeanReversionParams(Params):
    entry: float = 2.0  # z-score beyond which to fade


@model("mean_reversion", MeanReversionParams, features=["zscore_48"], sweep={"entry": [1.5, 3.0]})
def mean_reversion(features: pl.DataFrame, p: MeanReversionParams) -> pl.DataFrame:
    """Weight = -z / entry where |z| exceeds entry, else flat (z averaged over the venues);
    unknown z: no signal."""
    z = pl.col("zscore_48")
    signal = pl.when(z.abs() > p.entry).then(-z / p.entry).when(z.is_not_null()).then(0.0)
    return venue_neutral(features, signal.clip(-1.0, 1.0))
