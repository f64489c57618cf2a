"""The simulated account's bookkeeping on its JSON state: fills move balances and positions,
funding is paid on perpetual positions, margin is what open positions and orders need.

State layout: ``balances {asset: amount}``, ``positions {symbol: {size, entry_price}}`` (swaps,
signed base units), ``orders {client_order_id: {...}}``, ``fills [...]``, ``seq``, ``cursor``
(the next bar not yet matched), ``funding_cursor``, ``faults {kind: count}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from trading.venues.base import Instrument
from trading.venues.sim.store import dump

State = dict[str, Any]


def new_state(balances: dict[str, float], faults: dict[str, int]) -> State:
    """A fresh account holding only its starting balances."""
    return {
        "balances": {k: float(v) for k, v in balances.items()},
        "positions": {},
        "orders": {},
        "fills": [],
        "seq": 0,
        "cursor": None,
        "funding_cursor": None,
        "faults": {k: int(v) for k, v in faults.items() if v},
    }


def fingerprint(state: State) -> tuple[object, ...]:
    """A cheap summary that changes whenever the state does (the store serializes the whole
    state only then): every change books a fill or an order (``seq``), changes an open order,
    or touches the small parts. Closed orders and past fills never change."""
    small = {k: v for k, v in state.items() if k not in ("orders", "fills")}
    live = [o for o in state["orders"].values() if o["status"] == "open"]
    return len(state["orders"]), len(state["fills"]), dump({"small": small, "open": live})


def remaining(order: dict[str, Any]) -> float:
    """Base units of an order still to fill."""
    return max(0.0, float(order["amount"]) - float(order["filled"]))


def apply_fill(
    state: State,
    venue: str,
    order: dict[str, Any],
    spec: Instrument,
    amount: float,
    price: float,
    fee_rate: float,
    liquidity: str,
    ts: datetime,
) -> None:
    """Book ``amount`` (base units) of ``order`` at ``price``: balances, the position (average
    entry, realized P&L into the settle asset), the fee (negative: a rebate), the fill record."""
    signed = amount if order["side"] == "buy" else -amount
    fee = amount * price * fee_rate
    bal: dict[str, float] = state["balances"]
    if spec.kind == "spot":
        bal[spec.quote] = bal.get(spec.quote, 0.0) - signed * price - fee
        bal[spec.base] = bal.get(spec.base, 0.0) + signed
        if abs(bal[spec.base]) < 1e-12:
            bal[spec.base] = 0.0
    else:
        pos = state["positions"].setdefault(spec.symbol, {"size": 0.0, "entry_price": 0.0})
        size, entry = float(pos["size"]), float(pos["entry_price"])
        new_size = size + signed
        if size == 0 or (size > 0) == (signed > 0):
            entry = (abs(size) * entry + abs(signed) * price) / abs(new_size)
        else:
            closed = min(abs(size), abs(signed))
            direction = 1.0 if size > 0 else -1.0
            bal[spec.settle] = bal.get(spec.settle, 0.0) + closed * (price - entry) * direction
            if abs(signed) > abs(size):
                entry = price
        bal[spec.settle] = bal.get(spec.settle, 0.0) - fee
        if abs(new_size) < 1e-12:
            del state["positions"][spec.symbol]
        else:
            pos["size"], pos["entry_price"] = new_size, entry
    state["seq"] += 1
    filled = float(order["filled"]) + amount
    order["cost"] = float(order.get("cost", 0.0)) + amount * price
    order["filled"] = filled
    if remaining(order) <= 1e-12 * max(1.0, float(order["amount"])):
        order["filled"] = float(order["amount"])
        order["status"] = "closed"
    state["fills"].append(
        {
            "symbol": spec.symbol,
            "fill_id": f"{venue}-f{state['seq']}",
            "order_id": order["order_id"],
            "client_order_id": order["client_order_id"],
            "side": order["side"],
            "amount": amount,
            "price": price,
            "fee": fee,
            "fee_asset": spec.quote if spec.kind == "spot" else spec.settle,
            "liquidity": liquidity,
            "ts": ts.isoformat(),
        }
    )


def pay_funding(state: State, spec: Instrument, rate: float, mark: float) -> float:
    """One funding settlement on a perpetual position: longs pay shorts when the rate is
    positive. Returns the amount paid (negative: received)."""
    pos = state["positions"].get(spec.symbol)
    if pos is None:
        return 0.0
    paid = float(pos["size"]) * mark * rate
    bal: dict[str, float] = state["balances"]
    bal[spec.settle] = bal.get(spec.settle, 0.0) - paid
    return paid


def reserved(state: State, specs: dict[str, Instrument]) -> dict[str, float]:
    """Balances held by open spot orders: quote for buys (at the limit), base for sells."""
    out: dict[str, float] = {}
    for order in state["orders"].values():
        spec = specs.get(order["symbol"])
        if order["status"] != "open" or spec is None or spec.kind != "spot":
            continue
        left = remaining(order)
        if order["side"] == "buy":
            out[spec.quote] = out.get(spec.quote, 0.0) + left * float(order["price"] or 0.0)
        else:
            out[spec.base] = out.get(spec.base, 0.0) + left
    return out


def margin_needed(
    state: State, specs: dict[str, Instrument], prices: dict[str, float], max_leverage: float
) -> float:
    """Initial margin of every perpetual position and open perpetual order, at ``prices``."""
    notional = 0.0
    for symbol, pos in state["positions"].items():
        notional += abs(float(pos["size"])) * prices.get(symbol, float(pos["entry_price"]))
    for order in state["orders"].values():
        spec = specs.get(order["symbol"])
        if order["status"] == "open" and spec is not None and spec.kind == "swap":
            price = float(order["price"] or prices.get(spec.symbol, 0.0))
            notional += remaining(order) * price
    return notional / max_leverage


def margin_equity(state: State, settle: str, prices: dict[str, float]) -> float:
    """Settle-asset balance plus unrealized P&L of every perpetual position."""
    equity = float(state["balances"].get(settle, 0.0))
    for symbol, pos in state["positions"].items():
        mark = prices.get(symbol, float(pos["entry_price"]))
        equity += float(pos["size"]) * (mark - float(pos["entry_price"]))
    return equity
