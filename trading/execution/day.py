"""Route a day of decisions on recorded data: what the router would have sent, bar by bar.

Used by the rewards report (until the ledger records real fills) and by the routing benchmark.
Planned orders are assumed filled at the reference price, so each bar starts from the position
the previous bar's plan built; the first bar starts from a plan of the bar before it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta

import polars as pl

from trading.execution.config import RoutingConfig
from trading.execution.plan import Plan, plan_orders
from trading.execution.types import Mark, MarketStat, Snapshot, VenueState
from trading.models.registry import Strategy
from trading.risk.config import RiskConfig
from trading.venues.base import Instrument


def market_stats(candles: pl.DataFrame, before: date) -> dict[tuple[str, str], MarketStat]:
    """Per (venue, symbol), from the days before ``before``: mean daily traded value (ADV),
    daily return volatility, and a bar's share of ADV by the bars per day seen."""
    past = candles.filter(pl.col("date") < before)
    bars_per_day = past.group_by("venue", "symbol", "date").len()["len"].max()
    daily = past.group_by("venue", "symbol", "date").agg(
        (pl.col("close") * pl.col("volume")).sum().alias("value"), pl.col("close").last()
    )
    per = (
        daily.sort("venue", "symbol", "date")
        .with_columns(ret=pl.col("close").log().diff().over("venue", "symbol"))
        .group_by("venue", "symbol")
        .agg(pl.col("value").mean().alias("adv"), pl.col("ret").std().alias("vol"))
    )
    per_bar = float(bars_per_day) if isinstance(bars_per_day, int) and bars_per_day else 24.0
    return {
        (v, s): MarketStat(adv_usd=adv, daily_vol=vol or 0.0, bar_volume_usd=adv / per_bar)
        for v, s, adv, vol in per.iter_rows()
    }


def strategy_targets(features: pl.DataFrame, strategies: Iterable[Strategy]) -> pl.DataFrame:
    """Each strategy's weights per canonical instrument and bar. A model that still answers per
    venue and symbol has its weights averaged over the venues (the instrument is the symbol)."""
    frames = []
    for s in strategies:
        out = s.model.fn(features, s.params)
        key = "instrument" if "instrument" in out.columns else "symbol"
        frames.append(
            out.group_by(pl.col(key).alias("instrument"), "ts")
            .agg(pl.col("weight").cast(pl.Float64).fill_nan(None).mean().clip(-1.0, 1.0))
            .with_columns(strategy=pl.lit(s.name))
        )
    if not frames:
        return pl.DataFrame(
            schema={
                "strategy": pl.String,
                "instrument": pl.String,
                "ts": pl.Datetime("us", "UTC"),
                "weight": pl.Float64,
            }
        )
    return pl.concat(frames).select("strategy", "instrument", "ts", "weight").sort("ts")


def route_bars(
    targets: pl.DataFrame,
    closes: pl.DataFrame,
    instruments: Mapping[tuple[str, str], Instrument],
    stats: Mapping[tuple[str, str], MarketStat],
    allocations: Mapping[str, float],
    limits: RiskConfig,
    config: RoutingConfig,
    venue_states: Mapping[str, VenueState],
    bars: list[datetime],
    bar_length: timedelta,
) -> list[tuple[datetime, Plan]]:
    """The plan of each bar in ``bars`` (decided at the bar's close, priced at its close),
    positions carried over as if every approved order filled; ``bars[0]`` warms up and is not
    returned."""
    positions: dict[tuple[str, str], float] = {}
    out: list[tuple[datetime, Plan]] = []
    by_bar = closes.partition_by("ts", as_dict=True)
    target_by_bar = targets.partition_by("ts", as_dict=True)
    spent = 0.0
    for i, ts in enumerate(bars):
        at = by_bar.get((ts,))
        if at is None:
            continue
        decided = ts + bar_length
        marks = {
            (v, s): Mark(c, decided) for v, s, c in at.select("venue", "symbol", "close").rows()
        }
        gross = {v: 0.0 for v in venue_states}
        for (v, s), q in positions.items():
            gross[v] = gross.get(v, 0.0) + abs(q) * (marks[(v, s)].price if (v, s) in marks else 0)
        states = {
            v: VenueState(
                v,
                st.equity_usd,
                gross.get(v, 0.0),
                0.0,
                st.max_gross_exposure_usd,
                st.max_equity_usd,
                st.healthy,
            )
            for v, st in venue_states.items()
        }
        snap = Snapshot(decided, ts, dict(positions), states, marks, rewards_spent_today_usd=spent)
        wanted = target_by_bar.get((ts,))
        if wanted is None:
            continue
        plan = plan_orders(wanted.drop("ts"), allocations, snap, instruments, stats, limits, config)
        for o in plan.orders:
            key = (o.venue, o.instrument)
            positions[key] = positions.get(key, 0.0) + o.signed_amount
        if i > 0:
            spent += plan.rewards_extra_usd
            out.append((ts, plan))
    return out
