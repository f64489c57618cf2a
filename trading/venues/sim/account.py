"""A simulated exchange account over any market's bars: the account half of the sim and paper
venues.

It matches orders against the market's closed bars: marketable orders take at the last close
plus half a spread and square-root impact, resting limit orders fill when a later bar trades
through their price, and no order takes more than ``participation`` of a bar's volume (the rest
fills on later bars, or is canceled for IOC, or refuses the whole order for FOK). Perpetual
positions need initial margin (``max_leverage``) and pay funding at each settlement. Fees are
the instrument's maker and taker fees (a negative maker fee is a rebate). State is a locked,
atomically written JSON file (``trading.venues.sim.store``). Faults are injected on request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal

import polars as pl

from trading import frames
from trading.configbase import SimAccountFields
from trading.venues.base import (
    Capabilities,
    Instrument,
    Order,
    OrderOutcomeUnknownError,
    OrderRejectedError,
    OrderRequest,
    RetryableError,
    UnknownSymbolError,
)
from trading.venues.sim import ledger, rules
from trading.venues.sim.store import StateStore

Bars = Callable[[str, datetime, datetime], pl.DataFrame]
Funding = Callable[[str, datetime, datetime], pl.DataFrame]
Fault = Literal["lost_ack", "duplicate_fill", "reject", "outage"]
_LOOKBACK = timedelta(days=2)  # resting orders are matched against at most this much history
_DAILY_VOL = 0.03  # volatility scale of the impact term


class SimAccount:
    """Orders, fills, balances and positions of one simulated account."""

    def __init__(
        self,
        venue: str,
        instruments: list[Instrument],
        bars: Bars,
        funding: Funding | None,
        settings: SimAccountFields,
        store: StateStore | None,
        clock: Callable[[], datetime],
        capabilities: Capabilities,
        bar_minutes: int = 1,
    ) -> None:
        self._venue = venue
        self._specs = {i.symbol: i for i in instruments}
        self._bars = bars
        self._funding = funding
        self._settings = settings
        faults = settings.account_faults.model_dump()
        self._store = store or StateStore(
            None, lambda: ledger.new_state(settings.starting_balances, faults), ledger.fingerprint
        )
        self._clock = clock
        self._caps = capabilities
        self._step = timedelta(minutes=bar_minutes)
        # The newest closed bar per symbol, for the bar end it was read at: a closed bar does
        # not change, and a run prices several orders and positions within one bar.
        self._last: dict[str, tuple[datetime, dict[str, Any]]] = {}

    @staticmethod
    def store_for(path: Any, settings: SimAccountFields) -> StateStore:
        """The on-disk store of an account with these settings."""
        faults = settings.account_faults.model_dump()
        return StateStore(
            path, lambda: ledger.new_state(settings.starting_balances, faults), ledger.fingerprint
        )

    # ----------------------------------------------------------------- faults and time

    def inject(self, fault: Fault, count: int = 1) -> None:
        """Make the next ``count`` occurrences misbehave (persisted: other processes see it)."""
        with self._store.transaction() as state:
            state["faults"][fault] = state["faults"].get(fault, 0) + count

    @staticmethod
    def _take(state: dict[str, Any], fault: Fault) -> bool:
        left = int(state["faults"].get(fault, 0))
        if left <= 0:
            return False
        state["faults"][fault] = left - 1
        return True

    def _outage(self, state: dict[str, Any], call: str) -> None:
        """Inside a transaction: fail the call while an injected outage lasts (the count goes
        down and is saved: the store keeps what a block changed when it ends in a VenueError)."""
        if self._take(state, "outage"):
            raise RetryableError(self._venue, call, "exchange unavailable (injected outage)")

    def _closed_until(self) -> datetime:
        """End of the newest closed bar."""
        now = self._clock()
        step_us = int(self._step.total_seconds() * 1_000_000)
        since_epoch = now - datetime(1970, 1, 1, tzinfo=now.tzinfo)
        return now - timedelta(microseconds=(since_epoch // timedelta(microseconds=1)) % step_us)

    def _spec(self, symbol: str, call: str) -> Instrument:
        spec = self._specs.get(symbol)
        if spec is None:
            raise UnknownSymbolError(
                self._venue, call, f"{symbol!r} is not configured; configured: {list(self._specs)}"
            )
        return spec

    def _last_bar(self, symbol: str, call: str) -> dict[str, Any]:
        end = self._closed_until()
        known = self._last.get(symbol)
        if known is not None and known[0] == end:
            return dict(known[1])
        bars = self._bars(symbol, end - 10 * self._step, end)
        if bars.is_empty():
            raise RetryableError(
                self._venue, call, f"no closed {symbol} bar before {end:%Y-%m-%d %H:%M} to price at"
            )
        row = dict(bars.row(-1, named=True))
        self._last[symbol] = (end, row)
        return dict(row)

    # ----------------------------------------------------------------- matching

    def _sync(self, state: dict[str, Any]) -> None:
        """Match open orders against bars closed since the last sync; pay funding due."""
        end = self._closed_until()
        open_orders = [o for o in state["orders"].values() if o["status"] == "open"]
        cursor = datetime.fromisoformat(state["cursor"]) if state["cursor"] else end
        start = max(cursor, end - _LOOKBACK)
        if open_orders and start < end:
            by_symbol: dict[str, list[dict[str, Any]]] = {}
            for order in open_orders:
                by_symbol.setdefault(order["symbol"], []).append(order)
            for symbol, orders in by_symbol.items():
                bars = self._bars(symbol, start, end)
                for bar in bars.iter_rows(named=True):
                    for order in orders:
                        if order["status"] == "open":
                            self._match_bar(state, order, bar)
        state["cursor"] = end.isoformat()
        self._pay_funding(state)

    def _match_bar(self, state: dict[str, Any], order: dict[str, Any], bar: dict[str, Any]) -> None:
        placed = datetime.fromisoformat(order["ts"])
        if bar["ts"] < placed:
            return
        spec = self._specs[order["symbol"]]
        cap = self._settings.participation * float(bar["volume"])
        qty = min(ledger.remaining(order), cap)
        if qty <= 0:
            return
        done = bar["ts"] + self._step
        if order["type"] == "market":
            price = rules.taker_price(spec, order["side"], qty, bar)
            ledger.apply_fill(
                state, self._venue, order, spec, qty, price, spec.taker_fee, "taker", done
            )
            return
        limit = float(order["price"])
        through = (
            float(bar["low"]) < limit if order["side"] == "buy" else float(bar["high"]) > limit
        )
        if through:
            ledger.apply_fill(
                state, self._venue, order, spec, qty, limit, spec.maker_fee, "maker", done
            )

    def _pay_funding(self, state: dict[str, Any]) -> None:
        now = self._clock()
        since = state["funding_cursor"]
        state["funding_cursor"] = now.isoformat()
        if self._funding is None or since is None or not state["positions"]:
            return
        if datetime.fromisoformat(since) >= now:
            return  # no time has passed since the last payment: nothing can be due
        start = max(datetime.fromisoformat(since), now - _LOOKBACK)
        for symbol in list(state["positions"]):
            spec = self._specs[symbol]
            rates = self._funding(symbol, start, now)
            for row in rates.iter_rows(named=True):
                if row["ts"] <= start:  # not a polars filter: its datetime literal costs ~1 ms
                    continue
                mark = row["mark_price"] or state["positions"][symbol]["entry_price"]
                ledger.pay_funding(state, spec, float(row["funding_rate"]), float(mark))

    # ----------------------------------------------------------------- orders

    def create_order(self, request: OrderRequest) -> Order:
        """Validate, book and (if marketable) fill an order; idempotent by client order id."""
        spec = self._spec(request.symbol, "create_order")
        with self._store.transaction() as state:
            self._outage(state, "create_order")
            existing = state["orders"].get(request.client_order_id)
            if existing is not None:
                return self._record(existing)
            if self._take(state, "reject"):
                raise OrderRejectedError(
                    self._venue, "create_order", "invalid", "injected rejection"
                )
            self._sync(state)
            bar = self._last_bar(request.symbol, "create_order")
            order = self._book(state, request, spec, bar)
            if self._take(state, "lost_ack"):  # booked and saved, but the caller hears nothing
                raise OrderOutcomeUnknownError(
                    self._venue, "create_order", request.client_order_id, "acknowledgement lost"
                )
        return self._record(order)

    def _reject(self, reason: Any, message: str, request: OrderRequest) -> OrderRejectedError:
        return OrderRejectedError(
            self._venue, "create_order", reason, f"{request.symbol}: {message}"
        )

    def _book(
        self, state: dict[str, Any], request: OrderRequest, spec: Instrument, bar: dict[str, Any]
    ) -> dict[str, Any]:
        why = self._caps.refuse(request)
        if why:
            raise self._reject("unsupported", why, request)
        last = float(bar["close"])
        amount = request.amount
        problem = rules.order_problem(
            state, request, spec, self._specs, last, self._settings.max_leverage
        )
        if problem is not None:
            raise self._reject(problem[0], problem[1], request)
        price = request.price if request.type == "limit" and request.price else last
        direction = 1.0 if request.side == "buy" else -1.0
        marketable = request.type == "market" or direction * (price - last) >= 0
        state["seq"] += 1
        order: dict[str, Any] = {
            "symbol": request.symbol,
            "client_order_id": request.client_order_id,
            "order_id": f"{self._venue}-o{state['seq']}",
            "side": request.side,
            "type": request.type,
            "amount": amount,
            "price": request.price,
            "filled": 0.0,
            "cost": 0.0,
            "status": "open",
            "tif": request.time_in_force,
            "reduce_only": request.reduce_only,
            "ts": self._clock().isoformat(),
        }
        cap = self._settings.participation * float(bar["volume"])
        if marketable and request.time_in_force == "FOK" and amount > cap:
            order["status"] = "canceled"  # fill or kill: the bar could not fill it all
        elif marketable:
            qty = min(amount, cap)
            fill = rules.taker_price(spec, request.side, qty, bar)
            if request.type == "limit":
                fill = min(fill, price) if direction > 0 else max(fill, price)
            ledger.apply_fill(
                state, self._venue, order, spec, qty, fill, spec.taker_fee, "taker", self._clock()
            )
            if order["status"] == "open" and request.time_in_force != "GTC":
                order["status"] = "canceled"  # IOC: the rest is canceled
        elif request.time_in_force != "GTC":
            order["status"] = "canceled"  # a non-marketable IOC/FOK limit never rests
        state["orders"][request.client_order_id] = order
        return order

    def cancel_order(self, symbol: str, client_order_id: str) -> Order:
        """Cancel a resting order; a finished order comes back as it is."""
        with self._store.transaction() as state:
            self._outage(state, "cancel_order")
            self._sync(state)
            raw = state["orders"].get(client_order_id)
            if raw is not None and raw["symbol"] == symbol and raw["status"] == "open":
                raw["status"] = "canceled"
        if raw is None or raw["symbol"] != symbol:
            raise OrderRejectedError(
                self._venue, "cancel_order", "not_found", f"no order {client_order_id} on {symbol}"
            )
        return self._record(raw)

    def fetch_order(self, symbol: str, client_order_id: str) -> Order | None:
        """The order with that client order id, or None if the account never took it."""
        with self._store.transaction() as state:
            self._outage(state, "fetch_order")
            self._sync(state)
            raw = state["orders"].get(client_order_id)
        return None if raw is None or raw["symbol"] != symbol else self._record(raw)

    def _record(self, raw: dict[str, Any]) -> Order:
        return Order(
            venue=self._venue,
            symbol=raw["symbol"],
            client_order_id=raw["client_order_id"],
            order_id=raw["order_id"],
            side=raw["side"],
            type=raw["type"],
            amount=float(raw["amount"]),
            price=None if raw["price"] is None else float(raw["price"]),
            filled=float(raw["filled"]),
            status=raw["status"],
            ts=datetime.fromisoformat(raw["ts"]),
        )

    # ----------------------------------------------------------------- account reads

    def _synced(self, call: str) -> dict[str, Any]:
        with self._store.transaction() as state:
            self._outage(state, call)
            self._sync(state)
        return state

    def fetch_balances(self) -> pl.DataFrame:
        """Balances: free excludes what open spot orders hold; a simulated account never borrows."""
        state = self._synced("fetch_balances")
        held = ledger.reserved(state, self._specs)
        rows = [
            {
                "venue": self._venue,
                "asset": asset,
                "free": total - held.get(asset, 0.0),
                "used": held.get(asset, 0.0),
                "total": total,
                "debt": 0.0,
            }
            for asset, total in sorted(state["balances"].items())
            if total != 0.0 or held.get(asset)
        ]
        return (
            pl.DataFrame(rows, schema=dict(frames.BALANCES))
            if rows
            else frames.empty(frames.BALANCES)
        )

    def fetch_positions(self) -> pl.DataFrame:
        """Perpetual positions, marked at the last closed bar."""
        state = self._synced("fetch_positions")
        rows = []
        for symbol, pos in sorted(state["positions"].items()):
            mark = float(self._last_bar(symbol, "fetch_positions")["close"])
            size, entry = float(pos["size"]), float(pos["entry_price"])
            rows.append(
                {
                    "venue": self._venue,
                    "symbol": symbol,
                    "size": size,
                    "entry_price": entry,
                    "mark_price": mark,
                    "unrealized_pnl": size * (mark - entry),
                }
            )
        return (
            pl.DataFrame(rows, schema=dict(frames.POSITIONS))
            if rows
            else frames.empty(frames.POSITIONS)
        )

    def fetch_open_orders(self) -> pl.DataFrame:
        """Orders still resting."""
        state = self._synced("fetch_open_orders")
        rows = [
            {f: getattr(self._record(o), f) for f in frames.ORDERS}
            for o in state["orders"].values()
            if o["status"] == "open"
        ]
        return (
            frames.conform(pl.DataFrame(rows), frames.ORDERS)
            if rows
            else frames.empty(frames.ORDERS)
        )

    def fetch_fills(self, since: datetime | None = None) -> pl.DataFrame:
        """Own fills at or after ``since``; a duplicate-fill fault repeats the newest one."""
        with self._store.transaction() as state:
            self._outage(state, "fetch_fills")
            self._sync(state)
            duplicate = bool(state["fills"]) and self._take(state, "duplicate_fill")
        fills = list(state["fills"]) + ([state["fills"][-1]] if duplicate else [])
        rows = [
            {**f, "venue": self._venue, "ts": datetime.fromisoformat(f["ts"])}
            for f in fills
            if since is None or datetime.fromisoformat(f["ts"]) >= since
        ]
        return (
            frames.conform(pl.DataFrame(rows), frames.FILLS) if rows else frames.empty(frames.FILLS)
        )
