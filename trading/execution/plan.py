"""The one entry the live loop calls each bar: targets of many strategies → checked orders.

    strategy risk → net targets → parent order per instrument (target − position) → router
    split across venues → rounding, minimums, TWAP slices, client order ids → risk gate

Every order in ``Plan.orders`` passed the gate; every order refused is in ``Plan.denials``;
every quantity that could not be sent (rounding, minimums, no venue, no capacity) is in
``Plan.dropped``. Same inputs, same plan, same client order ids.

Pinned legs (targets with a ``venue``): each netted (instrument, venue) is its own parent,
routed only to that venue, its orders numbered from ``PINNED_LEG`` so their client ids never
collide with the venue-neutral parent's legs on the same venue. What a pinned parent starts
from: the venue's position when the instrument has no venue-neutral target (the legs own the
venue), else the legs' previous attributed notional (the venue-neutral parent owns the rest of
the instrument's position, so the instrument as a whole always moves to its net target).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import polars as pl

from trading.execution.config import RoutingConfig
from trading.execution.orders import leg_orders, slice_count
from trading.execution.quotes import Capacity, listing, quote, reference_price, styles
from trading.execution.router import VenueQuote, equal_split_cost, route, single_venue_cost
from trading.execution.types import Dropped, MarketStat, PlannedOrder, Snapshot
from trading.portfolio.netting import attribute_costs, keys, net_targets
from trading.risk.config import RiskConfig
from trading.risk.gate import check
from trading.risk.states import Denial
from trading.risk.strategies import check_strategies
from trading.venues.base import Instrument

ROUTES: Mapping[str, pl.DataType] = {
    "instrument": pl.String(),
    "venue": pl.String(),
    "notional_usd": pl.Float64(),
    "cash_usd": pl.Float64(),
    "rewards_usd": pl.Float64(),
}
PARENTS: Mapping[str, pl.DataType] = {
    "instrument": pl.String(),
    "venue": pl.String(),  # null: venue-neutral (the router picks); else a pinned parent
    "notional_usd": pl.Float64(),
    "routed_cost_usd": pl.Float64(),
    "single_venue_cost_usd": pl.Float64(),
    "equal_split_cost_usd": pl.Float64(),
    "extra_cash_usd": pl.Float64(),
    "unrouted_usd": pl.Float64(),
}
_DUST_USD = 1e-6
PINNED_LEG = 100  # leg number of a pinned parent's orders (neutral legs count from 0)


@dataclass(frozen=True, slots=True)
class Plan:
    """What one bar's decision sends, refuses and leaves out, and who owns what.
    ``attribution``: strategy, instrument, notional_usd, share, cost_usd. ``routes``: planned
    USD per instrument and venue with cash cost and rewards. ``parents``: per instrument, the
    USD routed and its net cost against the single cheapest venue and an equal split of the
    same amount (both ignoring caps), and what no venue could take.
    ``rewards_extra_usd``: extra cash this plan pays to earn rewards; the caller adds it to
    the day's spend (``Snapshot.rewards_spent_today_usd``) so the daily budget holds across
    bars. TWAP slices with a later ``not_before`` passed the gate now; check them again when
    they are due, against the snapshot of that time."""

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
    """Turn ``targets`` (strategy, instrument, weight in [-1, 1] or null = no signal; an
    optional ``venue`` pins a leg) and the capital per strategy into gate-approved orders
    across venues. ``instruments`` and ``market`` are keyed by (venue, symbol); ``previous``
    is the last plan's attribution, which strategies without a signal keep."""
    allowed, strategy_denials = check_strategies(targets, allocations, limits, previous)
    netted = net_targets(allowed, allocations, previous)
    run = _Run(snapshot, instruments, market, config, Capacity.of(snapshot))
    run.budget = max(config.rewards_budget_usd_per_day - snapshot.rewards_spent_today_usd, 0.0)
    net = netted.net
    if "venue" not in net.columns:
        net = net.with_columns(venue=pl.lit(None, dtype=pl.String))
    held = _pinned_held(previous)
    for symbol, rows in _by_instrument(net):
        neutral = [usd for venue, usd in rows if venue is None]
        pinned = [(venue, usd) for venue, usd in rows if venue is not None]
        starts: dict[str, float] = {}
        for venue, usd in pinned:
            price = reference_price(symbol, [venue], snapshot)
            own = snapshot.positions.get((venue, symbol), 0.0)
            before = held.get((symbol, venue), 0.0) / price if neutral and price else own
            starts[venue] = before
            run.parent(symbol, usd, venue=venue, start=before)
        for usd in neutral:
            run.parent(symbol, usd, start=snapshot.net_position(symbol) - sum(starts.values()))
    approved, denials = check(run.orders, snapshot, limits)
    return Plan(
        orders=tuple(approved),
        denials=tuple(strategy_denials) + tuple(denials),
        dropped=tuple(run.dropped),
        attribution=_attribution(netted.attribution, approved, previous),
        routes=pl.DataFrame(run.routes, schema=dict(ROUTES), orient="row"),
        parents=pl.DataFrame(run.parents, schema=dict(PARENTS), orient="row"),
        rewards_extra_usd=run.extra,
    )


@dataclass(slots=True)
class _Run:
    """One plan in the making: parents are routed in instrument order, each seeing the venue
    capacity, tier progress and rewards budget the earlier ones left."""

    snapshot: Snapshot
    instruments: Mapping[tuple[str, str], Instrument]
    market: Mapping[tuple[str, str], MarketStat]
    config: RoutingConfig
    capacity: Capacity
    budget: float = 0.0
    extra: float = 0.0
    orders: list[PlannedOrder] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    routes: list[tuple[str, str, float, float, float]] = field(default_factory=list)
    parents: list[tuple[str, str | None, float, float, float, float, float, float]] = field(
        default_factory=list
    )
    volume: dict[str, float] = field(default_factory=dict)

    def parent(
        self, symbol: str, target_usd: float, *, start: float, venue: str | None = None
    ) -> None:
        """Route, round and slice the order that moves ``symbol`` from ``start`` (base units)
        to its net target: across the venues listing it, or only on ``venue`` when pinned."""
        markets = [
            m for m in listing(self.instruments, symbol) if venue is None or m.venue == venue
        ]
        if not markets:
            why = "no venue lists it" if venue is None else f"{venue} does not list it"
            self.dropped.append(Dropped(symbol, venue or "", abs(target_usd), why, "usd"))
            return
        price = reference_price(symbol, [m.venue for m in markets], self.snapshot)
        if price is None:
            self.dropped.append(
                Dropped(symbol, venue or "", abs(target_usd), "no reference price", "usd")
            )
            return
        delta = target_usd / price - start
        total = abs(delta) * price
        if total <= _DUST_USD:
            return
        direction = 1.0 if delta > 0 else -1.0
        config = self.config
        options = [(m, style) for m in markets for style in styles(config)]
        markets = [m for m, _ in options]
        quotes = [
            quote(
                m,
                self.market.get((m.venue, symbol)),
                config,
                style,
                self.capacity.usd(m.venue, symbol, direction, price, m.kind == "spot"),
                self.volume.get(m.venue, 0.0),
            )
            for m, style in options
        ]
        split = route(
            quotes, total, config.impact_weight, config.rewards_weight, self.budget - self.extra
        )
        self.extra += split.extra_cash_usd
        routed = total - split.unrouted_usd
        self.parents.append(
            (
                symbol,
                venue,
                routed,
                split.cash_usd - split.rewards_usd,
                single_venue_cost(quotes, routed),
                equal_split_cost(quotes, routed),
                split.extra_cash_usd,
                split.unrouted_usd,
            )
        )
        if split.unrouted_usd > _DUST_USD:
            self.dropped.append(
                Dropped(symbol, venue or "", split.unrouted_usd / price, "no venue capacity")
            )
        first = 0 if venue is None else PINNED_LEG
        for leg, (m, q, usd) in enumerate(zip(markets, quotes, split.notional_usd, strict=True)):
            if usd > _DUST_USD:
                self._leg(m, q, first + leg, usd, price, direction)

    def _leg(
        self, m: Instrument, q: VenueQuote, leg: int, usd: float, price: float, direction: float
    ) -> None:
        stat = self.market.get((m.venue, m.symbol))
        amount = usd / price
        twap = self.config.twap
        slices = slice_count(amount, price, m, stat.bar_volume_usd if stat else 0.0, twap)
        mark = self.snapshot.marks.get((m.venue, m.symbol))
        made, lost = leg_orders(
            bar=self.snapshot.bar_ts,
            start=self.snapshot.ts,
            instrument=m,
            side="buy" if direction > 0 else "sell",
            amount=amount,
            price=mark.price if mark is not None else price,
            leg=leg,
            slices=slices,
            style=twap.mode if slices > 1 and twap.mode != "auto" else q.style,
            interval=timedelta(minutes=twap.interval_minutes),
            cost_usd=q.cash(usd),
            rewards_usd=q.rewards(usd),
        )
        self.orders.extend(made)
        self.dropped.extend(lost)
        sent = sum(o.amount for o in made)
        if sent > 0.0:
            self.capacity.take(m.venue, m.symbol, direction * sent, price)
            self.volume[m.venue] = self.volume.get(m.venue, 0.0) + sent * price
            self.routes.append((m.symbol, m.venue, sent * price, q.cash(usd), q.rewards(usd)))


def _by_instrument(net: pl.DataFrame) -> list[tuple[str, list[tuple[str | None, float]]]]:
    """The net targets per instrument, in instrument order: (venue or None, USD) each."""
    out: dict[str, list[tuple[str | None, float]]] = {}
    for symbol, venue, usd in net.select("instrument", "venue", "notional_usd").iter_rows():
        out.setdefault(symbol, []).append((venue, usd))
    return sorted(out.items())


def _pinned_held(previous: pl.DataFrame | None) -> dict[tuple[str, str], float]:
    """The pinned legs' previous attributed notional per (instrument, venue)."""
    if previous is None or "venue" not in previous.columns:
        return {}
    legs = previous.filter(pl.col("venue").is_not_null())
    out: dict[tuple[str, str], float] = {}
    for symbol, venue, usd in legs.select("instrument", "venue", "notional_usd").iter_rows():
        out[(symbol, venue)] = out.get((symbol, venue), 0.0) + (usd or 0.0)
    return out


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
    return attribution.join(owned, on=keys(attribution), how="left", nulls_equal=True).with_columns(
        pl.col("cost_usd").fill_null(0.0)
    )
