"""The one entry the live loop calls each bar: targets of many strategies → checked orders.

    strategy risk → net targets → parent order per instrument (target − position) → router
    split across venues → rounding, minimums, TWAP slices, client order ids → risk gate

Every order in ``Plan.orders`` passed the gate; every order refused is in ``Plan.denials``;
every quantity that could not be sent (rounding, minimums, no venue, no capacity) is in
``Plan.dropped``. Same inputs, same plan, same client order ids.

Pinned legs (targets with a ``venue``): each netted (instrument, venue) is its own parent,
routed only to that venue; its orders carry ``pinned`` and their client ids say so, so they
never collide with the venue-neutral parent's leg on the same venue. What a pinned parent
starts from: the venue's position when the instrument has no venue-neutral target (the legs own
the venue), else what the pinned legs' own orders filled there (``Snapshot.pinned_positions``):
a denied or unfilled leg is not held, so it is retried on its venue next bar and the
venue-neutral parent never buys the gap elsewhere.

Held positions: ``previous`` may give each strategy's holding in base units (``quantity``);
a strategy without a signal (or without a row) holds those units, valued at this bar's
reference price, so a held position drifts with the price without a trade, as in the backtest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import polars as pl

from trading.execution.config import RoutingConfig
from trading.execution.orders import leg_orders, slice_count
from trading.execution.quotes import Capacity, listing, quote, reference_price, styles
from trading.execution.router import VenueQuote, equal_split_cost, route, single_venue_cost
from trading.execution.types import Dropped, MarketStat, PlannedOrder, Snapshot
from trading.portfolio.netting import (
    attribute_costs,
    hold_absent,
    keys,
    net_targets,
    value_held,
    with_prices,
)
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


@dataclass(frozen=True, slots=True)
class Plan:
    """What one bar's decision sends, refuses and leaves out, and who owns what.
    ``attribution``: strategy, instrument (venue for pinned legs), notional_usd, share,
    cost_usd (of its own parent's orders), price (the reference price valuing it) and quantity
    (base units: what the strategy holds once filled). ``routes``: planned
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
    is the last plan's attribution — ``quantity`` (base units, valued at this bar's reference
    price) or ``notional_usd`` — which a strategy keeps when it has no signal, or no row at all
    while it is in ``allocations``."""

    priced: dict[tuple[str, str | None], float | None] = {}

    def price(symbol: str, venue: str | None) -> float | None:
        """The reference price a parent on (symbol, venue or None) trades at (cached)."""
        if (symbol, venue) not in priced:
            where = [venue] if venue else [m.venue for m in listing(instruments, symbol)]
            priced[(symbol, venue)] = reference_price(symbol, where, snapshot)
        return priced[(symbol, venue)]

    if previous is not None and "quantity" in previous.columns:
        previous = value_held(previous, price)
    if previous is not None:
        targets = hold_absent(targets, previous, allocations)
    allowed, strategy_denials = check_strategies(targets, allocations, limits, previous)
    netted = net_targets(allowed, allocations, previous)
    run = _Run(snapshot, instruments, market, config, Capacity.of(snapshot))
    run.budget = max(config.rewards_budget_usd_per_day - snapshot.rewards_spent_today_usd, 0.0)
    net = netted.net
    if "venue" not in net.columns:
        net = net.with_columns(venue=pl.lit(None, dtype=pl.String))
    for symbol, rows in _by_instrument(net):
        neutral = [usd for venue, usd in rows if venue is None]
        pinned = [(venue, usd) for venue, usd in rows if venue is not None]
        starts: dict[str, float] = {}
        for venue, usd in pinned:
            position = snapshot.pinned_positions if neutral else snapshot.positions
            starts[venue] = position.get((venue, symbol), 0.0)
            run.parent(symbol, usd, venue=venue, start=starts[venue])
        for usd in neutral:
            run.parent(symbol, usd, start=snapshot.net_position(symbol) - sum(starts.values()))
    approved, denials = check(run.orders, snapshot, limits)
    attribution = _attribution(netted.attribution, approved, previous)
    return Plan(
        orders=tuple(approved),
        denials=tuple(strategy_denials) + tuple(denials),
        dropped=tuple(run.dropped),
        attribution=_valued(attribution, price),
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
            self.dropped.append(
                Dropped(symbol, venue or "", abs(target_usd), why, "usd", venue is not None)
            )
            return
        price = reference_price(symbol, [m.venue for m in markets], self.snapshot)
        if price is None:
            self.dropped.append(
                Dropped(
                    symbol, venue or "", abs(target_usd), "no reference price", "usd",
                    venue is not None,
                )
            )  # fmt: skip
            return
        delta = target_usd / price - start
        total = abs(delta) * price
        if total <= _DUST_USD:
            return
        direction = 1.0 if delta > 0 else -1.0
        config = self.config
        options = [(m, style) for m in markets for style in styles(config)]
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
                Dropped(
                    symbol, venue or "", split.unrouted_usd / price, "no venue capacity",
                    pinned=venue is not None,
                )
            )  # fmt: skip
        # One leg per venue whatever styles the router mixed there: an order's id names its
        # venue, never its style, so a retried bar whose split flips style finds its order.
        parts: dict[str, list[tuple[VenueQuote, float]]] = {}
        for (m, _), q, usd in zip(options, quotes, split.notional_usd, strict=True):
            if usd > _DUST_USD:
                parts.setdefault(m.venue, []).append((q, usd))
        for m in markets:
            if m.venue in parts:
                self._leg(m, parts[m.venue], price, direction, venue is not None)

    def _leg(
        self,
        m: Instrument,
        parts: list[tuple[VenueQuote, float]],
        price: float,
        direction: float,
        pinned: bool,
    ) -> None:
        """One venue's leg: the USD the router gave it in every style, executed in the style
        that got the most (the first of ``styles`` on a tie), with the cost and rewards of the
        router's split."""
        usd = sum(u for _, u in parts)
        style = max(parts, key=lambda p: p[1])[0].style
        cash = sum(q.cash(u) for q, u in parts)
        rewards = sum(q.rewards(u) for q, u in parts)
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
            pinned=pinned,
            slices=slices,
            style=twap.mode if slices > 1 and twap.mode != "auto" else style,
            interval=timedelta(minutes=twap.interval_minutes),
            cost_usd=cash,
            rewards_usd=rewards,
        )
        self.orders.extend(made)
        self.dropped.extend(lost)
        sent = sum(o.amount for o in made)
        if sent > 0.0:
            self.capacity.take(m.venue, m.symbol, direction * sent, price)
            self.volume[m.venue] = self.volume.get(m.venue, 0.0) + sent * price
            self.routes.append((m.symbol, m.venue, sent * price, cash, rewards))


def _by_instrument(net: pl.DataFrame) -> list[tuple[str, list[tuple[str | None, float]]]]:
    """The net targets per instrument, in instrument order: (venue or None, USD) each."""
    out: dict[str, list[tuple[str | None, float]]] = {}
    for symbol, venue, usd in net.select("instrument", "venue", "notional_usd").iter_rows():
        out.setdefault(symbol, []).append((venue, usd))
    return sorted(out.items())


def _attribution(
    attribution: pl.DataFrame, approved: list[PlannedOrder], previous: pl.DataFrame | None
) -> pl.DataFrame:
    """Costs of each parent's orders (a pinned leg's on its venue, the venue-neutral ones
    under a null venue) shared by the strategies of that parent only."""
    pinned = "venue" in attribution.columns
    costs: dict[tuple[str, str | None], float] = {}
    for o in approved:
        key = (o.instrument, o.venue if pinned and o.pinned else None)
        costs[key] = costs.get(key, 0.0) + o.expected_cost_usd - o.rewards_usd
    frame = pl.DataFrame(
        {
            "instrument": [k[0] for k in costs],
            "venue": [k[1] for k in costs],
            "cost_usd": list(costs.values()),
        },
        schema={"instrument": pl.String(), "venue": pl.String(), "cost_usd": pl.Float64()},
    )
    owned = attribute_costs(attribution, frame if pinned else frame.drop("venue"), previous)
    return attribution.join(owned, on=keys(attribution), how="left", nulls_equal=True).with_columns(
        pl.col("cost_usd").fill_null(0.0)
    )


def _valued(
    attribution: pl.DataFrame, price: Callable[[str, str | None], float | None]
) -> pl.DataFrame:
    """The attribution with the reference price of each row's parent and the base units its
    notional buys there (what a strategy without a signal holds next bar)."""
    return with_prices(attribution, price).with_columns(
        pl.when(pl.col("price") > 0.0)
        .then(pl.col("notional_usd") / pl.col("price"))
        .alias("quantity")
    )
