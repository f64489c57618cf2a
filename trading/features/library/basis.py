"""Cross-venue basis: how rich an instrument trades on one venue against the others."""

import polars as pl

from trading.features.registry import feature


@feature("venue_basis", lookback=0, over="cross_venue")
def venue_basis() -> pl.Expr:
    """close / median close of the same instrument across venues at the bar, minus one."""
    return pl.col("close") / pl.col("close").median() - 1.0
