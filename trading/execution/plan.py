"""The one entry the live loop calls each bar: targets of many strategies → checked orders.

    strategy risk → net targets → parent order per instrument (target − position) → router
    split across venues → rounding, minimums, TWAP slices, client order ids → risk gate

Every order in ``Plan.orders`` passed the gate; every order refused is in ``Plan.denials``;
every quantity that could not be sent (rounding, minimums, no venue, no capacity) is in
``Plan.dropped``. Same inputs, same plan, same client order ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import polars as pl

from trading.execution.config import RoutingConfig
from trading.execution.orders import leg_orders, slice_count
from trading.execution.quotes import Capacity, listing, quote, reference_price
from trading.execution.router import equal_split_cost, route, single_venue_cost
from trading.execution.types import Dropped, MarketStat, PlannedOrder, Snapshot
from trading.portfolio.netting import attribute_costs, net_targets
from trading.risk.config import RiskConfig
from trading.risk.gate import check
from trading.risk.states import Denial
from trading.risk.strategies import check_strategies
from trading.venues.base import Instrument, Side

ROUTES: Mapping[str, pl.DataType] = {
    "instrument": pl.String(),
    "venue": pl.String(),
    "notional_usd": pl.Float64(),
    "cash_usd": pl.Float64(),
    "rewards_usd": pl.Float64(),
}
PARENTS: Mapping[str, pl.DataType] = {
    "instrument": pl.String(),
    "notional_usd": pl.Float64(),
    "routed_cost_usd": pl.Float64(),
    "single_venue_cost_usd": pl.Float64(),
    "equal_split_cost_usd": pl.Float64(),
    "extra_cash_usd": pl.Float64(),
}
_DUST_USD = 1e-6


@dataclass(frozen=True, slots=True)
class Plan:
    """What one bar's decision sends, refuses and leaves out, and who owns what.
    ``attribution``: strategy, instrument, notional_usd, share, cost_usd. ``routes``: planned
    USD per instrument and venue with cash cost and rewards. ``parents``: per instrument, the
    routed net cost against the single cheapest venue and an equal split."""

    orders: tuple[PlannedOrder, ...]
    denials: tuple[Denial, ...]
    dropped: tuple[Dropped, ...]
    attribution: pl.DataFrame
    routes: pl.DataFrame
    parents: pl.DataFrame
    rewards_extra_usd: float


def plan_orders(
    targets: pl.DataFrame,
    allocations: Mapping[str, float],
    snapshot: Snapshot,
    instruments: Mapping[tuple[str, str], Instrument],
    market: Mapping[tuple[str, str], MarketStat],
    limits: RiskConfig,
    config: RoutingConfig,
    previous: pl.DataFrame | None = None,
) -> Plan:
    """Turn ``targets`` (strategy, instrument, weight in [-1, 1] or null) and the capital
    per strategy into gate-approved orders across venues. ``instruments`` and ``market`` are
    keyed by (venue, symbol); ``previous`` is the last plan's attribution, which strategies
    without a signal keep."""
    allowed, strategy_denials = check_strategies(targets, allocations, limits, previous)
    netted = net_targets(allowed, allocations, previous)
    capacity = Capacity.of(snapshot)
    budget = max(config.rewards_budget_usd_per_day - snapshot.rewards_spent_today_usd, 0.0)
    interval = timedelta(minutes=config.twap.interval_minutes)
    orders: list[PlannedOrder] = []
    dropped: list[Dropped] = []
    routes: list[tuple[str, str, float, float, float]] = []
    parents: list[tuple[str, float, float, float, float, float]] = []
    extra_total = 0.0
    volume: dict[str, float] = {}
    for symbol, target_usd in netted.net.iter_rows():
        markets = listing(instruments, symbol)
        if not markets:
            dropped.append(Dropped(symbol, "", abs(target_usd), "no venue lists the instrument"))
            continue
        price = reference_price(symbol, [m.venue for m in markets], snapshot)
        if price is None:
            dropped.append(Dropped(symbol, "", abs(target_usd), "no reference price"))
            continue
        delta = target_usd / price - snapshot.net_position(symbol)
        if abs(delta) * price <= _DUST_USD:
            continue
        direction = 1.0 if delta > 0 else -1.0
        side: Side = "buy" if delta > 0 else "sell"
        quotes = [
            quote(
                m,
                market.get((m.venue, symbol)),
                config,
                config.style,
                capacity.usd(m.venue, symbol, direction, price),
                volume.get(m.venue, 0.0),
            )
            for m in markets
        ]
        total = abs(delta) * price
        split = route(
            quotes, total, config.impact_weight, config.rewards_weight, budget - extra_total
        )
        extra_total += split.extra_cash_usd
        parents.append(
            (
                symbol,
                total,
                split.cash_usd - split.rewards_usd,
                single_venue_cost(quotes, total),
                equal_split_cost(quotes, total),
                split.extra_cash_usd,
            )
        )
        if split.unrouted_usd > _DUST_USD:
            dropped.append(Dropped(symbol, "", split.unrouted_usd / price, "no venue capacity"))
        for leg, (m, q, usd) in enumerate(zip(markets, quotes, split.notional_usd, strict=True)):
            if usd <= _DUST_USD:
                continue
            stat = market.get((m.venue, symbol))
            amount = usd / price
            slices = slice_count(
                amount, price, m, stat.bar_volume_usd if stat else 0.0, config.twap
            )
            leg_price = (
                snapshot.marks[(m.venue, symbol)].price
                if ((m.venue, symbol) in snapshot.marks)
                else price
            )
            made, lost = leg_orders(
                bar=snapshot.bar_ts,
                start=snapshot.ts,
                instrument=m,
                side=side,
                amount=amount,
                price=leg_price,
                leg=leg,
                slices=slices,
                style=config.twap.mode if slices > 1 else config.style,
                interval=interval,
                cost_usd=q.cash(usd),
                rewards_usd=q.rewards(usd),
            )
            orders.extend(made)
            dropped.extend(lost)
            sent = sum(o.amount for o in made)
            if sent > 0.0:
                capacity.take(m.venue, symbol, direction * sent, price)
                volume[m.venue] = volume.get(m.venue, 0.0) + sent * price
                routes.append((symbol, m.venue, sent * price, q.cash(usd), q.rewards(usd)))
    approved, denials = check(orders, snapshot, limits)
    return Plan(
        orders=tuple(approved),
        denials=tuple(strategy_denials) + tuple(denials),
        dropped=tuple(dropped),
        attribution=_attribution(netted.attribution, approved, previous),
        routes=pl.DataFrame(routes, schema=dict(ROUTES), orient="row"),
        parents=pl.DataFrame(parents, schema=dict(PARENTS), orient="row"),
        rewards_extra_usd=extra_total,
    )


def _attribution(
    attribution: pl.DataFrame, approved: list[PlannedOrder], previous: pl.DataFrame | None
) -> pl.DataFrame:
    costs: dict[str, float] = {}
    for o in approved:
        costs[o.instrument] = costs.get(o.instrument, 0.0) + o.expected_cost_usd - o.rewards_usd
    frame = pl.DataFrame(
        {"instrument": list(costs), "cost_usd": list(costs.values())},
        schema={"instrument": pl.String(), "cost_usd": pl.Float64()},
    )
    owned = attribute_costs(attribution, frame, previous)
    return attribution.join(owned, on=["strategy", "instrument"], how="left").with_columns(
        pl.col("cost_usd").fill_null(0.0)
    )
