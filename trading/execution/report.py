"""The rewards and volume report: per venue and day, what was traded, what it cost in fees,
what it earned in rebates and points, how far each venue's 30-day volume is from the next fee
tier, and what routing saved against sending everything to the single cheapest venue.

Rows come from plans (the router's planned, gate-approved orders) until the ledger records
real fills; ``source`` says which. The row of venue ``all`` carries the day's totals and the
routing comparison.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import polars as pl

from trading.execution.config import RoutingConfig
from trading.execution.plan import Plan
from trading.execution.rewards import fee_rate, next_tier, venue_rewards
from trading.venues.base import Instrument

ALL = "all"
REWARDS_DAILY: Mapping[str, pl.DataType] = {
    "date": pl.Date(),
    "venue": pl.String(),
    "source": pl.String(),  # planned | fills
    "orders": pl.Int64(),
    "volume_usd": pl.Float64(),
    "maker_volume_usd": pl.Float64(),
    "taker_volume_usd": pl.Float64(),
    "fees_usd": pl.Float64(),  # paid (positive fees)
    "rebates_usd": pl.Float64(),  # earned (negative fees)
    "points": pl.Float64(),
    "points_value_usd": pl.Float64(),
    "routed_cost_usd": pl.Float64(),  # venue "all" only: fees + spread + impact − rewards
    "single_venue_cost_usd": pl.Float64(),
    "saved_vs_single_usd": pl.Float64(),
    "volume_30d_usd": pl.Float64(),
    "next_tier_volume_usd": pl.Float64(),  # null at the top tier or without tiers
}
NULLABLE = frozenset(
    {"routed_cost_usd", "single_venue_cost_usd", "saved_vs_single_usd", "next_tier_volume_usd"}
)


TRADES: Mapping[str, pl.DataType] = {
    "venue": pl.String(),
    "notional_usd": pl.Float64(),
    "liquidity": pl.String(),  # maker | taker | null (unknown)
    "fee_usd": pl.Float64(),  # negative: a rebate; null when the fee asset has no price
}


def trades_from_plans(
    plans: Sequence[Plan],
    instruments: Mapping[tuple[str, str], Instrument],
    config: RoutingConfig,
) -> pl.DataFrame:
    """The approved orders of a day of plans as trades, priced at their fee tier."""
    rows = []
    for plan in plans:
        for o in plan.orders:
            rewards = venue_rewards(config, o.venue)
            rate = fee_rate(instruments[(o.venue, o.instrument)], rewards, o.style)
            notional = o.amount * o.price
            rows.append((o.venue, notional, o.style, rate * notional))
    return pl.DataFrame(rows, schema=dict(TRADES), orient="row")


def trades_from_fills(fills: pl.DataFrame) -> pl.DataFrame:
    """Fills (``trading.frames.FILLS``) as trades. A fee paid in the quote or settle currency
    counts as is, one paid in the base asset at the fill price; any other fee asset has no
    price here and counts as null (left out of the fee sums)."""
    parts = pl.col("symbol").str.split_exact("/", 1)
    base = parts.struct.field("field_0")
    quote_settle = parts.struct.field("field_1").str.split(":")
    fee_asset = pl.col("fee_asset")
    in_quote = fee_asset.is_in(quote_settle) | pl.col("fee").is_null() | (pl.col("fee") == 0.0)
    return fills.select(
        "venue",
        (pl.col("amount") * pl.col("price")).alias("notional_usd"),
        pl.col("liquidity"),
        pl.when(in_quote)
        .then(pl.col("fee").fill_null(0.0))
        .when(fee_asset == base)
        .then(pl.col("fee") * pl.col("price"))
        .otherwise(None)
        .alias("fee_usd"),
    )


def daily_rows(
    day: date,
    trades: pl.DataFrame,
    config: RoutingConfig,
    source: str,
    plans: Sequence[Plan] = (),
) -> pl.DataFrame:
    """One row per venue that traded plus the ``all`` row, for one day of ``trades``; the
    ``all`` row's routing comparison comes from the day's ``plans`` (fills cannot say what the
    alternatives would have cost). The 30-day and tier columns are filled by
    ``with_tier_progress``."""
    venues = sorted(set(trades["venue"].to_list()))
    maker = {v: venue_rewards(config, v).points_per_usd_maker for v in venues}
    taker = {v: venue_rewards(config, v).points_per_usd_taker for v in venues}
    value = {v: venue_rewards(config, v).point_value_usd for v in venues}
    liq = pl.col("liquidity")
    points = pl.when(liq == "maker").then(
        pl.col("venue").replace_strict(maker, return_dtype=pl.Float64)
    ).when(liq == "taker").then(
        pl.col("venue").replace_strict(taker, return_dtype=pl.Float64)
    ).otherwise(0.0) * pl.col("notional_usd")
    per_venue = (
        trades.with_columns(points=points)
        .group_by("venue")
        .agg(
            pl.len().cast(pl.Int64).alias("orders"),
            pl.col("notional_usd").sum().alias("volume_usd"),
            pl.col("notional_usd").filter(liq == "maker").sum().alias("maker_volume_usd"),
            pl.col("notional_usd").filter(liq == "taker").sum().alias("taker_volume_usd"),
            pl.col("fee_usd").clip(lower_bound=0.0).sum().alias("fees_usd"),
            (-pl.col("fee_usd")).clip(lower_bound=0.0).sum().alias("rebates_usd"),
            pl.col("points").sum(),
        )
        .with_columns(
            points_value_usd=pl.col("points")
            * pl.col("venue").replace_strict(value, return_dtype=pl.Float64)
        )
        .sort("venue")
    )
    routed = sum(float(p.parents["routed_cost_usd"].sum()) for p in plans) if plans else None
    single = sum(float(p.parents["single_venue_cost_usd"].sum()) for p in plans) if plans else None
    total = per_venue.select(pl.lit(ALL).alias("venue"), pl.exclude("venue").sum()).with_columns(
        routed_cost_usd=pl.lit(routed, pl.Float64),
        single_venue_cost_usd=pl.lit(single, pl.Float64),
    )
    return (
        pl.concat([per_venue, total], how="diagonal")
        .with_columns(
            date=pl.lit(day, pl.Date),
            source=pl.lit(source),
            saved_vs_single_usd=pl.col("single_venue_cost_usd") - pl.col("routed_cost_usd"),
            volume_30d_usd=pl.lit(0.0),
            next_tier_volume_usd=pl.lit(None, pl.Float64),
        )
        .select([pl.col(c).cast(t) for c, t in REWARDS_DAILY.items()])
    )


def with_tier_progress(history: pl.DataFrame, config: RoutingConfig) -> pl.DataFrame:
    """``history`` (rows of this table, any days) with ``volume_30d_usd``: the configured
    30-day volume before the report's first day plus the report's volume over the trailing 30
    days, and the next taker tier's threshold above it."""
    first = history["date"].min()
    frame = history.sort("venue", "date").with_columns(
        pl.col("volume_usd")
        .rolling_sum_by("date", window_size="30d")
        .over("venue")
        .alias("_rolled")
    )
    base = {v: venue_rewards(config, v).volume_30d_usd for v in frame["venue"].unique()}
    days_in = (pl.col("date") - pl.lit(first)).dt.total_days() + 1
    carried = pl.col("venue").replace_strict(base, default=0.0, return_dtype=pl.Float64) * (
        (30 - days_in).clip(0, 30) / 30.0
    )
    rolled = frame.with_columns((pl.col("_rolled") + carried).alias("volume_30d_usd"))
    nxt = [_next(config, v, vol) for v, vol in rolled.select("venue", "volume_30d_usd").iter_rows()]
    return rolled.with_columns(pl.Series("next_tier_volume_usd", nxt, dtype=pl.Float64)).select(
        list(REWARDS_DAILY)
    )


def _next(config: RoutingConfig, venue: str, volume: float) -> float | None:
    if venue == ALL:
        return None
    upcoming = next_tier(venue_rewards(config, venue).tiers.taker, volume)
    return upcoming[0] if upcoming else None
