"""Keel's fills per order, against the order's decision price: what the implementation
shortfall and the cost calibration both measure.

An order filled in pieces is one order: its fills are summed (amount, fee, notional) and
priced at their volume-weighted average, so a parent filled in ten slices counts once, at its
full size, and not as ten small orders (which would inflate the sample and bias the fitted
impact down: impact grows with the order's size, not the slice's).
"""

from __future__ import annotations

import polars as pl

KEY = ("account", "venue", "client_order_id")
SCHEMA: dict[str, pl.DataType] = {
    "account": pl.String(),
    "venue": pl.String(),
    "client_order_id": pl.String(),
    "run_id": pl.String(),  # the run that placed the order
    "symbol": pl.String(),
    "side": pl.String(),
    "style": pl.String(),  # taker | maker | mixed (fills of both)
    "fills": pl.UInt32(),
    "ts": pl.Datetime("us", "UTC"),  # the first fill
    "amount": pl.Float64(),  # base units, summed
    "price": pl.Float64(),  # volume-weighted average fill price
    "fee": pl.Float64(),  # summed
    "notional": pl.Float64(),  # Σ amount × price
    "decision": pl.Float64(),  # the order's price: the decision price (or its limit)
}


def per_order(fills: pl.DataFrame, orders: pl.DataFrame) -> pl.DataFrame:
    """One row per Keel order with usable fills (``SCHEMA``). Fills not placed by Keel, with
    a non-positive or non-finite amount or price, a non-finite fee, or whose order has no
    positive decision price, are left out."""
    good = [pl.col(c).is_finite() & (pl.col(c) > 0) for c in ("amount", "price")]
    keel = fills.filter(pl.col("origin") == "keel", *good, pl.col("fee").is_finite())
    if keel.is_empty():
        return pl.DataFrame(schema=SCHEMA)
    decision = (
        orders.filter(pl.col("price").is_finite(), pl.col("price") > 0)
        .unique(list(KEY), keep="first", maintain_order=True)
        .select(*KEY, "run_id", pl.col("price").alias("decision"))
    )
    notional = (pl.col("amount") * pl.col("price")).sum()
    styles = pl.col("liquidity").unique()
    grouped = keel.group_by(*KEY).agg(
        pl.col("symbol").first(),
        pl.col("side").first(),
        pl.when(styles.len() == 1).then(styles.first()).otherwise(pl.lit("mixed")).alias("style"),
        pl.len().alias("fills"),
        pl.col("ts").min(),
        pl.col("amount").sum(),
        (notional / pl.col("amount").sum()).alias("price"),
        pl.col("fee").sum(),
        notional.alias("notional"),
    )
    joined = grouped.join(decision, on=list(KEY), how="inner")
    return joined.select(*SCHEMA).cast(SCHEMA).sort("ts", *KEY)  # type: ignore[arg-type]
