"""What the simulated account charges and allows: the taker fill price (last close plus half a
spread and square-root impact, from the shared cost model) and whether the account can fund an
order (spot balances net of open orders; perpetual initial margin at the leverage limit)."""

from __future__ import annotations

import math
from typing import Any

from trading.costs import VenueCosts, impact_rate
from trading.venues.base import Instrument, OrderRequest, RejectReason
from trading.venues.sim import ledger

_DAILY_VOL = 0.03  # volatility scale of the impact term
_MAX_SLIP = 0.05


def taker_price(spec: Instrument, side: str, amount: float, bar: dict[str, Any]) -> float:
    """The price a taker order of ``amount`` base units gets against ``bar``."""
    close = float(bar["close"])
    adv = float(bar["volume"]) * close * 1440.0
    costs = VenueCosts(spec.maker_fee, spec.taker_fee)
    slip = costs.half_spread_bps * 1e-4 + impact_rate(
        amount * close, adv, _DAILY_VOL, costs.impact_k
    )
    slip = min(slip, _MAX_SLIP) if math.isfinite(slip) else _MAX_SLIP
    return close * (1.0 + slip if side == "buy" else 1.0 - slip)


def order_problem(
    state: dict[str, Any],
    request: OrderRequest,
    spec: Instrument,
    specs: dict[str, Instrument],
    last: float,
    max_leverage: float,
) -> tuple[RejectReason, str] | None:
    """Why the account refuses the order as asked (reason, message), or None: amount, minimum
    size and notional, a limit without a price, a post-only order that would cross, funds."""
    amount = request.amount
    if not (math.isfinite(amount) and amount > 0):
        return "invalid", f"amount must be positive and finite, got {amount}"
    if amount < spec.min_amount:
        return "invalid", f"amount {amount} is below the minimum {spec.min_amount}"
    if request.type == "limit" and not (request.price and request.price > 0):
        return "invalid", "a limit order needs a positive price"
    price = request.price if request.type == "limit" and request.price else last
    if amount * price < spec.min_notional:
        return "invalid", f"notional {amount * price:.2f} is below {spec.min_notional}"
    direction = 1.0 if request.side == "buy" else -1.0
    if request.post_only and (request.type == "market" or direction * (price - last) >= 0):
        return "post_only_would_cross", f"limit {price} crosses last {last}"
    return funds_problem(state, request, spec, specs, price, last, max_leverage)


def funds_problem(
    state: dict[str, Any],
    request: OrderRequest,
    spec: Instrument,
    specs: dict[str, Instrument],
    price: float,
    last: float,
    max_leverage: float,
) -> tuple[RejectReason, str] | None:
    """Why the account cannot take the order (reason, message), or None if it can."""
    bal: dict[str, float] = state["balances"]
    held = ledger.reserved(state, specs)
    if spec.kind == "spot":
        if request.side == "buy":
            need = request.amount * price * (1.0 + 0.01 + max(spec.taker_fee, 0.0))
            asset = spec.quote
        else:
            need = request.amount
            asset = spec.base
        have = bal.get(asset, 0.0) - held.get(asset, 0.0)
        if have < need:
            return "insufficient_funds", f"needs {need:.8g} {asset}, {have:.8g} free"
        return None
    pos = float(state["positions"].get(spec.symbol, {}).get("size", 0.0))
    signed = request.amount if request.side == "buy" else -request.amount
    grows = pos == 0 or (pos > 0) == (signed > 0) or abs(signed) > abs(pos)
    if request.reduce_only and grows:
        return "invalid", f"reduce-only {request.side} would not reduce {pos}"
    if abs(pos + signed) <= abs(pos):
        return None  # reducing a position never needs more margin
    prices = {s: float(p["entry_price"]) for s, p in state["positions"].items()}
    prices[spec.symbol] = last
    trial = {**state, "positions": {**state["positions"]}}
    trial["positions"][spec.symbol] = {"size": pos + signed, "entry_price": price}
    needed = ledger.margin_needed(trial, specs, prices, max_leverage)
    equity = ledger.margin_equity(state, spec.settle, prices)
    if needed > equity:
        return "margin", (
            f"needs {needed:,.2f} {spec.settle} initial margin at {max_leverage:g}x leverage, "
            f"equity is {equity:,.2f}"
        )
    return None
