"""Implementation shortfall: what a fill cost against the decision price, next to what the
research cost model charged for the same order (fee, half spread, square-root impact).

Shortfall in bps of the order's notional, positive = cost: ``side × (fill − decision) /
decision + fee / notional``. The excess over the model, per strategy and venue, is what the
research cost model should absorb (the trader's feedback loop)."""

from __future__ import annotations

import polars as pl

from trading.costs import VenueCosts, cost_rate
from trading.execution.orders import PINNED_PREFIX

_SCHEMA = {
    "strategy": pl.String,
    "account": pl.String,
    "venue": pl.String,
    "symbol": pl.String,
    "fills": pl.Int64,
    "notional": pl.Float64,
    "realized_bps": pl.Float64,
    "model_bps": pl.Float64,
}


def shortfall(
    filled: pl.DataFrame,
    costs: dict[str, VenueCosts],
    net_targets: pl.DataFrame,
) -> pl.DataFrame:
    """Per Keel order and contributing strategy: realized and modelled cost in bps, the
    order's notional split by each strategy's share of the net target (|contribution|) of the
    order's own parent: a pinned leg's order (``keelp`` id) among the legs pinned to its venue,
    a venue-neutral order among the venue-neutral targets (venue ``*``).

    ``filled`` is one row per order (``trading.live.order_fills.per_order``: fills summed, at
    their VWAP) with ``adv`` (daily traded value) and ``daily_vol`` known at its first fill
    (``trading.liquidity.as_of``); the model prices the order's whole notional."""
    if filled.is_empty():
        return pl.DataFrame(schema=_SCHEMA)
    where = ["run_id", "account", "symbol", "parent"]  # parent: a pinned venue, or "*"
    filled = filled.with_columns(
        parent=pl.when(pl.col("client_order_id").str.starts_with(PINNED_PREFIX))
        .then(pl.col("venue"))
        .otherwise(pl.lit("*"))
    )
    shares = (
        net_targets.select(
            *where[:3],
            "strategy",
            parent=pl.col("venue") if "venue" in net_targets.columns else pl.lit("*"),
            share=pl.col("contribution").abs(),
        )
        .with_columns(share=pl.col("share") / pl.col("share").sum().over(where))
        .filter(pl.col("share") > 0)
    )
    joined = filled.join(shares, on=where, how="inner")
    rows = []
    for r in joined.iter_rows(named=True):
        notional = r["notional"]
        sign = 1.0 if r["side"] == "buy" else -1.0
        realized = sign * (r["price"] - r["decision"]) / r["decision"] + r["fee"] / notional
        venue_costs = costs.get(r["venue"], VenueCosts(0.0002, 0.0005))
        adv = r["adv"] if r["adv"] is not None else float("nan")
        vol = r["daily_vol"] if r["daily_vol"] is not None else 0.0
        model = cost_rate(notional, venue_costs, adv, vol, "taker")
        rows.append(
            {
                "strategy": r["strategy"],
                "account": r["account"],
                "venue": r["venue"],
                "symbol": r["symbol"],
                "fills": r["fills"],
                "notional": notional * r["share"],
                "realized_bps": realized * 1e4,
                "model_bps": model * 1e4,
            }
        )
    return pl.DataFrame(rows, schema=_SCHEMA)


def summary(per_fill: pl.DataFrame) -> pl.DataFrame:
    """Notional-weighted shortfall per strategy, account and venue, with the model's figure."""
    w = pl.col("notional")
    return (
        per_fill.group_by("strategy", "account", "venue")
        .agg(
            fills=pl.col("fills").sum(),
            notional=w.sum(),
            realized_bps=(pl.col("realized_bps") * w).sum() / w.sum(),
            model_bps=(pl.col("model_bps") * w).sum() / w.sum(),
        )
        .with_columns(excess_bps=pl.col("realized_bps") - pl.col("model_bps"))
        .sort("strategy", "account", "venue")
    )
