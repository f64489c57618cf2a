"""The pre-trade risk gate: ``check(orders, snapshot, limits) -> (approved, denials)``.

Pure and deterministic. Orders are checked in the given order against a running book: each
approved order moves the positions and exposures the next one is checked against, so a batch
can never pass limits its orders would breach together. A denial is a value with a reason code
(see ``REASONS``), never an exception. Orders that only shrink a position pass the exposure and
loss limits (reducing risk is always allowed), but never a HALTED state, a stale price or a
venue that is down. Total gross and net exposure come from the positions at their marks; a
venue's cap is checked against the venue state's gross exposure (the ledger's figure, the one
the router's capacity uses) plus its open and in-flight orders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from trading.execution.types import PlannedOrder, Snapshot
from trading.risk.config import RiskConfig
from trading.risk.states import Denial, States

REASONS = {
    "halted": "a trading state HALTED covers the order (only cancels pass)",
    "reducing_only": "a trading state REDUCING covers the order and it does not reduce",
    "stale_data": "the decision used market data older than max_data_age_bars",
    "no_fresh_price": "no reference price, or one older than max_price_age_seconds",
    "price_collar": "the order price is further than price_collar_bps from the reference",
    "order_notional": "order notional above max_order_notional_usd",
    "order_amount": "order amount above max_order_amount for the instrument",
    "position_limit": "the instrument's position would exceed max_position_usd",
    "gross_exposure": "total gross exposure would exceed max_gross_exposure_usd",
    "net_exposure": "total net exposure would exceed max_net_exposure_usd",
    "venue_unhealthy": "the venue is halted, stale or down",
    "venue_gross_cap": "the venue's gross exposure plus open orders would exceed its cap",
    "venue_equity_cap": "the venue holds more equity than its cap; only reducing orders pass",
    "order_rate": "the venue's order rate would exceed max_orders_per_minute",
    "daily_loss": "the daily loss limit is hit; only reducing orders pass",
    "spot_short": "a spot position cannot go below zero",
}


@dataclass(slots=True)
class _Book:
    """Positions and exposures as approved orders move them."""

    snapshot: Snapshot
    positions: dict[tuple[str, str], float] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)
    venue_gross: dict[str, float] = field(default_factory=dict)
    instrument_qty: dict[str, float] = field(default_factory=dict)
    gross: float = 0.0
    net: float = 0.0

    def __post_init__(self) -> None:
        self.positions = dict(self.snapshot.positions)
        self.sent = dict(self.snapshot.orders_last_minute)
        self.venue_gross = {v: s.gross_exposure_usd for v, s in self.snapshot.venues.items()}
        for (v, s), q in self.positions.items():
            self.instrument_qty[s] = self.instrument_qty.get(s, 0.0) + q
            self.gross += abs(q) * self.mark(v, s)
            self.net += q * self.mark(v, s)

    def mark(self, venue: str, symbol: str) -> float:
        m = self.snapshot.marks.get((venue, symbol))
        return m.price if m is not None else 0.0

    def net_qty(self, symbol: str) -> float:
        return self.instrument_qty.get(symbol, 0.0)

    def gross_usd(self) -> float:
        return self.gross

    def net_usd(self) -> float:
        return self.net

    def apply(self, order: PlannedOrder) -> None:
        """Move the book by an approved order."""
        key = (order.venue, order.instrument)
        held = self.positions.get(key, 0.0)
        s = order.signed_amount
        price = self.mark(*key)
        self.positions[key] = held + s
        self.instrument_qty[order.instrument] = self.instrument_qty.get(order.instrument, 0.0) + s
        grown = (abs(held + s) - abs(held)) * price
        self.venue_gross[order.venue] = self.venue_gross.get(order.venue, 0.0) + grown
        self.gross += grown
        self.net += s * price


def _reduces(before: float, delta: float) -> bool:
    """Shrinks a position without flipping it."""
    return before != 0.0 and before * delta < 0.0 and abs(delta) <= abs(before) + 1e-12


def _grows(before: float, after: float) -> bool:
    return abs(after) > abs(before) + 1e-12


def _deny(order: PlannedOrder, reason: str, scope: str, name: str, detail: str) -> Denial:
    return Denial(reason, scope, name, detail, order.client_order_id)  # type: ignore[arg-type]


def _check_one(
    order: PlannedOrder, book: _Book, limits: RiskConfig, states: States
) -> Denial | None:
    snap = book.snapshot
    key = (order.venue, order.instrument)
    s = order.signed_amount
    venue_before = book.positions.get(key, 0.0)
    inst_before = book.net_qty(order.instrument)
    reduces = _reduces(inst_before, s)
    state, scope, name = states.strictest(venue=order.venue, instrument=order.instrument)
    if state == "HALTED":
        return _deny(order, "halted", scope, name, f"{scope} {name or 'all'} is HALTED")
    if state == "REDUCING":
        own = venue_before if scope == "venue" else inst_before
        if not _reduces(own, s):
            return _deny(order, "reducing_only", scope, name, f"position {own:g}, order {s:+g}")
    vstate = snap.venues.get(order.venue)
    if vstate is None or not vstate.healthy:
        return _deny(order, "venue_unhealthy", "venue", order.venue, "no healthy venue state")
    if snap.data_age_bars > limits.max_data_age_bars:
        return _deny(
            order,
            "stale_data",
            "all",
            "",
            f"data {snap.data_age_bars} bars old > {limits.max_data_age_bars}",
        )
    mark = snap.marks.get(key)
    max_age = timedelta(seconds=limits.max_price_age_seconds)
    if mark is None or mark.price <= 0.0 or snap.ts - mark.ts > max_age:
        return _deny(order, "no_fresh_price", "instrument", order.instrument, "stale or missing")
    if limits.price_collar_bps is not None:
        off_bps = abs(order.price / mark.price - 1.0) * 1e4
        if off_bps > limits.price_collar_bps:
            return _deny(
                order,
                "price_collar",
                "instrument",
                order.instrument,
                f"{off_bps:.1f} bps from {mark.price:g} > {limits.price_collar_bps:g}",
            )
    notional = order.amount * mark.price
    if limits.max_order_notional_usd is not None and notional > limits.max_order_notional_usd:
        return _deny(
            order,
            "order_notional",
            "instrument",
            order.instrument,
            f"{notional:.2f} > {limits.max_order_notional_usd:g}",
        )
    max_amount = limits.max_order_amount.get(order.instrument)
    if max_amount is not None and order.amount > max_amount:
        return _deny(
            order,
            "order_amount",
            "instrument",
            order.instrument,
            f"{order.amount:g} > {max_amount:g}",
        )
    if order.kind == "spot" and venue_before + s < -1e-12:
        return _deny(order, "spot_short", "venue", order.venue, f"{venue_before:g} {s:+g}")
    if limits.max_orders_per_minute is not None and order.not_before - snap.ts < timedelta(
        minutes=1
    ):
        count = book.sent.get(order.venue, 0)
        if count + 1 > limits.max_orders_per_minute:
            return _deny(
                order, "order_rate", "venue", order.venue, f"{count} sent in the last minute"
            )
    return _check_exposure(order, book, limits, reduces, venue_before, inst_before, mark.price)


def _check_exposure(
    order: PlannedOrder,
    book: _Book,
    limits: RiskConfig,
    reduces: bool,
    venue_before: float,
    inst_before: float,
    price: float,
) -> Denial | None:
    s = order.signed_amount
    snap = book.snapshot
    loss_hit = limits.max_daily_loss_usd is not None and (
        -snap.daily_pnl_usd >= limits.max_daily_loss_usd
    )
    if loss_hit and not reduces:
        return _deny(order, "daily_loss", "all", "", f"pnl {snap.daily_pnl_usd:.2f}")
    if limits.max_position_usd is not None and _grows(inst_before, inst_before + s):
        after = abs(inst_before + s) * price
        if after > limits.max_position_usd:
            return _deny(
                order,
                "position_limit",
                "instrument",
                order.instrument,
                f"{after:.2f} > {limits.max_position_usd:g}",
            )
    venue_grows = _grows(venue_before, venue_before + s)
    delta_gross = (abs(venue_before + s) - abs(venue_before)) * price
    if limits.max_gross_exposure_usd is not None and delta_gross > 0.0:
        after = book.gross_usd() + delta_gross
        if after > limits.max_gross_exposure_usd:
            return _deny(
                order,
                "gross_exposure",
                "all",
                "",
                f"{after:.2f} > {limits.max_gross_exposure_usd:g}",
            )
    if limits.max_net_exposure_usd is not None:
        before = book.net_usd()
        after = before + s * price
        if abs(after) > limits.max_net_exposure_usd and abs(after) > abs(before):
            return _deny(
                order, "net_exposure", "all", "", f"{after:.2f} vs {limits.max_net_exposure_usd:g}"
            )
    vstate = snap.venues[order.venue]
    equity_cap = vstate.max_equity_usd
    if venue_grows and equity_cap is not None and vstate.equity_usd > equity_cap:
        return _deny(
            order,
            "venue_equity_cap",
            "venue",
            order.venue,
            f"equity {vstate.equity_usd:.2f} > {equity_cap:g}",
        )
    if vstate.max_gross_exposure_usd is not None and delta_gross > 0.0:
        after = book.venue_gross[order.venue] + vstate.pending_notional_usd + delta_gross
        if after > vstate.max_gross_exposure_usd * (1.0 + 1e-9):
            return _deny(
                order,
                "venue_gross_cap",
                "venue",
                order.venue,
                f"{after:.2f} > {vstate.max_gross_exposure_usd:g}",
            )
    return None


def check(
    orders: Sequence[PlannedOrder], snapshot: Snapshot, limits: RiskConfig
) -> tuple[list[PlannedOrder], list[Denial]]:
    """Every order passes here before it is sent: the approved ones, in order, and one denial
    (with its reason code) per refused order."""
    book = _Book(snapshot)
    states = States(limits.states)
    approved: list[PlannedOrder] = []
    denials: list[Denial] = []
    for order in orders:
        denial = _check_one(order, book, limits, states)
        if denial is not None:
            denials.append(denial)
            continue
        approved.append(order)
        book.apply(order)
        if order.not_before - snapshot.ts < timedelta(minutes=1):
            book.sent[order.venue] = book.sent.get(order.venue, 0) + 1
    return approved, denials
