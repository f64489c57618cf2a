"""The other half of a kill switch: which resting orders must be cancelled. A HALTED state
blocks new orders (the gate) and cancels every open order it covers (here); REDUCING cancels
the resting orders that would grow a position."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from trading.risk.config import RiskConfig
from trading.risk.states import States


@dataclass(frozen=True, slots=True)
class Resting:
    """An open order as the ledger knows it; ``signed_remaining`` is positive for buys."""

    venue: str
    symbol: str
    client_order_id: str
    signed_remaining: float


@dataclass(frozen=True, slots=True)
class Cancel:
    """A resting order to cancel, and the state that demands it."""

    venue: str
    symbol: str
    client_order_id: str
    reason: str


def required_cancels(
    resting: Iterable[Resting],
    positions: Mapping[tuple[str, str], float],
    limits: RiskConfig,
) -> list[Cancel]:
    """Every resting order a HALTED state covers, and every one under REDUCING that would grow
    its instrument's position (summed over venues) if it filled."""
    states = States(limits.states)
    net: dict[str, float] = {}
    for (_, symbol), qty in positions.items():
        net[symbol] = net.get(symbol, 0.0) + qty
    out = []
    for order in resting:
        state, scope, name = states.strictest(venue=order.venue, instrument=order.symbol)
        where = f"{scope} {name}".strip()
        if state == "HALTED":
            out.append(Cancel(order.venue, order.symbol, order.client_order_id, f"{where} HALTED"))
        elif state == "REDUCING":
            held = (
                positions.get((order.venue, order.symbol), 0.0)
                if scope == "venue"
                else (net.get(order.symbol, 0.0))
            )
            if abs(held + order.signed_remaining) > abs(held):
                out.append(
                    Cancel(order.venue, order.symbol, order.client_order_id, f"{where} REDUCING")
                )
    return out
