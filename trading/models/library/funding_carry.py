"""Funding carry: short perpetuals whose longs pay rich funding, long those whose shorts pay."""

import polars as pl

from trading.models.registry import Params, model, venue_neutral


class FundingCarryParams(Params):
    threshold: float = 0.0001  # mean funding per interval worth harvesting


@model(
    "funding_carry",
    FundingCarryParams,
    features=["funding_carry_72"],
    sweep={"threshold": [0.00005, 0.0003]},
)
def funding_carry(features: pl.DataFrame, p: FundingCarryParams) -> pl.DataFrame:
    """Weight = -sign(carry) on perpetual swaps whose carry (mean over the venues listing the
    swap) exceeds the threshold, flat below it; spot and unknown carry: no signal."""
    carry = pl.col("funding_carry_72")
    perp = pl.col("symbol").str.contains(":", literal=True)
    signal = (
        pl.when(~perp | carry.is_null())
        .then(None)
        .when(carry.abs() > p.threshold)
        .then(-carry.sign())
        .otherwise(0.0)
    )
    return venue_neutral(features, signal)
