"""From decisions to orders: net the strategies' targets per account and instrument, size the
orders from the difference to the ledger's positions, and gate them.

This is the direct path (one order per account, venue and instrument, no cross-venue routing);
the portfolio/execution/risk packages replace ``plan_orders`` wholesale, behind the same
signature, so the trading run changes in one place.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from trading.live.engine import OrderIntent
from trading.live.states import TradingStates, clamp_reducing
from trading.venues.base import Instrument, derive_client_order_id

Key = tuple[str, str, str]  # account, venue, symbol


@dataclass(frozen=True, slots=True)
class Contribution:
    """One strategy's decision on one instrument of one account."""

    strategy: str
    account: str
    venue: str
    symbol: str
    weight: float
    capital: float
    price: float


@dataclass(slots=True)
class Plan:
    """Net targets (with attribution), the orders to send, and what the gate denied."""

    net_targets: list[dict[str, Any]] = field(default_factory=list)
    orders: list[OrderIntent] = field(default_factory=list)
    denials: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Limits:
    """What the gate enforces besides trading states."""

    max_order_notional: float
    trading_enabled: Mapping[str, bool]  # venue -> live orders allowed
    refused: frozenset[tuple[str, str]] = frozenset()  # (account, venue) failing reconciliation


def client_order_id(account: str, venue: str, symbol: str, bar: datetime) -> str:
    """The order's deterministic id: one order per account, venue, instrument and bar."""
    return derive_client_order_id(account, venue, symbol, bar.isoformat())


def plan_orders(
    contributions: list[Contribution],
    positions: Mapping[Key, float],
    previous: Mapping[tuple[str, str, str, str], float],
    instruments: Mapping[tuple[str, str], Instrument],
    states: TradingStates,
    limits: Limits,
    bar: datetime,
    known_orders: frozenset[str] = frozenset(),
) -> Plan:
    """Net, size and gate; ``previous`` holds each (strategy, account, venue, symbol)'s last
    contribution, kept by a HALTED strategy and only shrunk by a REDUCING one."""
    plan = Plan()
    net: dict[Key, float] = {}
    rows: dict[Key, list[dict[str, Any]]] = {}
    for c in sorted(contributions, key=lambda c: (c.account, c.venue, c.symbol, c.strategy)):
        key = (c.account, c.venue, c.symbol)
        wanted = c.weight * c.capital / c.price if c.price > 0 else 0.0
        before = previous.get((c.strategy, *key), 0.0)
        state = states.of(strategy=c.strategy)
        amount = (
            before
            if state == "HALTED"
            else clamp_reducing(before, wanted)
            if state == "REDUCING"
            else wanted
        )
        net[key] = net.get(key, 0.0) + amount
        rows.setdefault(key, []).append(
            {
                "strategy": c.strategy,
                "account": c.account,
                "venue": c.venue,
                "symbol": c.symbol,
                "weight": c.weight,
                "capital": c.capital,
                "price": c.price,
                "contribution": amount,
            }
        )
    for key in sorted(net):
        account, venue, symbol = key
        position = positions.get(key, 0.0)
        strategies = ",".join(r["strategy"] for r in rows[key])
        price = rows[key][0]["price"]
        plan.net_targets += [{**r, "net_target": net[key], "position": position} for r in rows[key]]
        spec = instruments.get((venue, symbol))
        target = net[key]
        cid = client_order_id(account, venue, symbol, bar)

        def deny(
            code: str, detail: str, amount: float, who: tuple[str, Key] = (strategies, key)
        ) -> None:
            plan.denials.append(_denial(*who, code, detail, amount))

        if cid in known_orders:
            continue  # this bar's order exists already (a retried run): reconciliation owns it
        if spec is None:
            deny("unknown_instrument", f"{venue} does not list {symbol}", target - position)
            continue
        if spec.kind == "spot" and target < 0.0:
            # A spot account cannot go short: hold nothing instead, and say so.
            deny("spot_short", f"net target {target:g} on spot {symbol}; held at 0", target)
            target = 0.0
        state = states.of(venue=venue, symbol=symbol)
        if state == "HALTED":
            deny("halted", states.why(venue=venue, symbol=symbol), target - position)
            continue
        if state == "REDUCING":
            target = clamp_reducing(position, target)
        delta = target - position
        amount = math.floor(abs(delta) / spec.amount_step + 1e-9) * spec.amount_step
        amount = float(f"{amount:.12g}")
        if target == 0.0 and amount > abs(position):
            amount = abs(position)  # closing out: exactly what is held, not a step more
        if amount <= 0.0:
            continue
        if (account, venue) in limits.refused:
            deny("unreconciled", f"{venue} ({account}) failed reconciliation", delta)
            continue
        if account == "live" and not limits.trading_enabled.get(venue, False):
            deny("trading_disabled", f"{venue} does not set trading_enabled = true", delta)
            continue
        if amount < spec.min_amount or amount * price < spec.min_notional:
            deny("below_minimum", f"{amount:g} at {price:g} is below the venue minimum", delta)
            continue
        if amount * price > limits.max_order_notional:
            deny(
                "max_notional",
                f"notional {amount * price:,.0f} above live.max_order_notional "
                f"{limits.max_order_notional:,.0f}",
                delta,
            )
            continue
        reduces = abs(target) < abs(position) and target * position >= 0
        plan.orders.append(
            OrderIntent(
                account,
                venue,
                symbol,
                "buy" if delta > 0 else "sell",
                amount,
                price,
                cid,
                strategies,
                reduce_only=reduces and spec.kind == "swap",
            )
        )
    return plan


def _denial(strategies: str, key: Key, code: str, detail: str, amount: float) -> dict[str, Any]:
    account, venue, symbol = key
    return {
        "strategy": strategies,
        "account": account,
        "venue": venue,
        "symbol": symbol,
        "side": "buy" if amount > 0 else "sell",
        "amount": abs(amount),
        "reason": code,
        "detail": detail,
    }
