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


def daily_rows(
    day: date,
    plans: Sequence[Plan],
    instruments: Mapping[tuple[str, str], Instrument],
    config: RoutingConfig,
) -> pl.DataFrame:
    """One row per venue that traded plus the ``all`` row, for one day of plans (the 30-day
    and tier columns are filled by ``with_tier_progress``)."""
    acc: dict[str, dict[str, float]] = {}
    for plan in plans:
        for o in plan.orders:
            rewards = venue_rewards(config, o.venue)
            notional = o.amount * o.price
            rate = fee_rate(instruments[(o.venue, o.instrument)], rewards, o.style)
            per_usd = (
                rewards.points_per_usd_maker if o.style == "maker" else rewards.points_per_usd_taker
            )
            row = acc.setdefault(o.venue, dict.fromkeys(_SUMS, 0.0))
            row["orders"] += 1
            row["volume_usd"] += notional
            row[f"{o.style}_volume_usd"] += notional
            row["fees_usd"] += max(rate, 0.0) * notional
            row["rebates_usd"] += max(-rate, 0.0) * notional
            row["points"] += per_usd * notional
            row["points_value_usd"] += per_usd * notional * rewards.point_value_usd
    routed = sum(float(p.parents["routed_cost_usd"].sum()) for p in plans)
    single = sum(float(p.parents["single_venue_cost_usd"].sum()) for p in plans)
    total = dict.fromkeys(_SUMS, 0.0)
    for row in acc.values():
        for k in _SUMS:
            total[k] += row[k]
    rows = [_row(day, venue, values, None, None) for venue, values in sorted(acc.items())] + [
        _row(day, ALL, total, routed, single)
    ]
    return pl.DataFrame(rows, schema=dict(REWARDS_DAILY))


_SUMS = (
    "orders",
    "volume_usd",
    "maker_volume_usd",
    "taker_volume_usd",
    "fees_usd",
    "rebates_usd",
    "points",
    "points_value_usd",
)


def _row(
    day: date, venue: str, values: dict[str, float], routed: float | None, single: float | None
) -> dict[str, object]:
    return {
        "date": day,
        "venue": venue,
        "source": "planned",
        **{k: int(values[k]) if k == "orders" else values[k] for k in _SUMS},
        "routed_cost_usd": routed,
        "single_venue_cost_usd": single,
        "saved_vs_single_usd": None if routed is None or single is None else single - routed,
        "volume_30d_usd": 0.0,
        "next_tier_volume_usd": None,
    }


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
