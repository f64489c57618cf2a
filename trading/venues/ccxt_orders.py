"""Orders on a ccxt exchange: create (never retried blindly), look up and cancel by the client
order id, in the parameter each exchange reads; amounts leave in contracts and return in base
units. A mixin of ``CcxtVenue``, kept apart so each file stays readable."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from trading.venues.base import (
    Capabilities,
    HaltError,
    Order,
    OrderOutcomeUnknownError,
    OrderRejectedError,
    OrderRequest,
    PayloadError,
    RetryableError,
)
from trading.venues.client_ids import encode_client_order_id, rule_for

T = TypeVar("T")


class CcxtOrders:
    """The order calls of ``CcxtVenue``; the attributes and helpers below are the venue's."""

    _name: str
    _exchange: Any
    _trading_enabled: bool
    _caps: Capabilities
    _clock: Callable[[], datetime]

    def _call(self, call: str, fn: Callable[[], T], retries: bool = True) -> T:
        raise NotImplementedError

    def _market(self, symbol: str, call: str) -> dict[str, Any]:
        raise NotImplementedError

    def _contract_size(self, symbol: str) -> float:
        raise NotImplementedError

    def _record(
        self, o: dict[str, Any], call: str, symbol: str, request: OrderRequest | None = None
    ) -> Order:
        raise NotImplementedError

    def _require_trading(self, call: str) -> None:
        if not self._trading_enabled:
            raise HaltError(
                self._name,
                call,
                "order placement is disabled for this venue; set trading_enabled = true in its "
                "config to allow it (live trading is off unless explicitly enabled)",
            )

    def _lookup_params(self, client_order_id: str) -> dict[str, Any]:
        rule = rule_for(self._exchange.id)
        cid = encode_client_order_id(client_order_id, self._exchange.id)
        return {rule.lookup_param: cid}

    def create_order(self, request: OrderRequest) -> Order:
        """Place an order (amount in base units; sent in contracts). Never retried: a timeout
        or an unreadable acknowledgement raises ``OrderOutcomeUnknownError``, and the caller
        looks the order up by client order id instead of resending."""
        self._require_trading("create_order")
        why = self._caps.refuse(request)
        if why:
            raise OrderRejectedError(self._name, "create_order", "unsupported", why)
        self._market(request.symbol, "create_order")
        rule = rule_for(self._exchange.id)
        cid = encode_client_order_id(request.client_order_id, self._exchange.id)
        params: dict[str, Any] = {rule.create_param: cid}
        if request.reduce_only:
            params["reduceOnly"] = True
        if request.post_only:
            params["postOnly"] = True
        elif request.time_in_force != "GTC":
            params["timeInForce"] = request.time_in_force
        contracts = request.amount / self._contract_size(request.symbol)
        try:
            order = self._call(
                "create_order",
                lambda: self._exchange.create_order(
                    request.symbol, request.type, request.side, contracts, request.price, params
                ),
                retries=False,
            )
        except RetryableError as exc:
            raise OrderOutcomeUnknownError(
                self._name, "create_order", cid, f"no answer: {exc}"
            ) from None
        try:
            return self._record(
                order, "create_order", request.symbol, replace(request, client_order_id=cid)
            )
        except PayloadError as exc:
            raise OrderOutcomeUnknownError(
                self._name, "create_order", cid, f"unreadable acknowledgement: {exc}"
            ) from None

    def fetch_order(self, symbol: str, client_order_id: str) -> Order | None:
        """The order with that client order id, or None if the exchange does not know it."""
        market = self._market(symbol, "fetch_order")
        params = self._lookup_params(client_order_id)
        if rule_for(self._exchange.id).realtime_lookup:
            return self._fetch_order_realtime(market, params)
        try:
            order = self._call(
                "fetch_order", lambda: self._exchange.fetch_order(None, symbol, params)
            )
        except OrderRejectedError as exc:
            if exc.reason == "not_found":
                return None
            raise
        return self._record(order, "fetch_order", symbol)

    def _fetch_order_realtime(self, market: dict[str, Any], params: dict[str, Any]) -> Order | None:
        """Bybit v5: ``/v5/order/realtime`` by ``orderLinkId`` answers open and recent closed
        orders; ccxt's ``fetch_order`` would send ``orderId=None`` alongside."""
        if market.get("spot"):
            category = "spot"
        else:
            category = "linear" if market.get("linear", True) else "inverse"
        request = {"category": category, "symbol": market["id"], **params}
        response = self._call(
            "fetch_order", lambda: self._exchange.privateGetV5OrderRealtime(request)
        )
        items = ((response or {}).get("result") or {}).get("list") or []
        if not items:
            return None
        order = self._exchange.parse_order(items[0], market)
        return self._record(order, "fetch_order", market["symbol"])

    def cancel_order(self, symbol: str, client_order_id: str) -> Order:
        """Cancel by client order id; the record carries the canceled order's own client id
        (Binance spot answers with the cancel request's id as ``clientOrderId``)."""
        self._require_trading("cancel_order")
        self._market(symbol, "cancel_order")
        order = self._call(
            "cancel_order",
            lambda: self._exchange.cancel_order(None, symbol, self._lookup_params(client_order_id)),
        )
        cid = encode_client_order_id(client_order_id, self._exchange.id)
        info = order.get("info") or {}
        own = info.get("origClientOrderId") or cid
        if own != cid:
            raise PayloadError(
                self._name, "cancel_order", "origClientOrderId", f"canceled {own}, asked {cid}"
            )
        if order.get("status") is None:  # an id-only acknowledgement (okx, bybit): ask
            looked_up = self.fetch_order(symbol, client_order_id)
            if looked_up is None:
                raise PayloadError(self._name, "cancel_order", "id", f"{cid} vanished on cancel")
            return looked_up
        record = self._record(order, "cancel_order", symbol)
        return replace(record, client_order_id=cid)
