"""Venue protocol v2 on ccxt: client order ids each exchange accepts, lookups by client id,
contracts <-> base units, and order options, checked on the requests ccxt builds for binance,
okx and bybit and on payloads of the recorded shapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from tests.trading.recorded import case, exchange
from trading.venues.base import (
    HaltError,
    OrderOutcomeUnknownError,
    OrderRequest,
    UnknownSymbolError,
    derive_client_order_id,
)
from trading.venues.ccxt_venue import CcxtVenue
from trading.venues.client_ids import encode_client_order_id

NOW = datetime(2025, 6, 1, tzinfo=UTC)
CID = derive_client_order_id("trend", "okx_main", "BTC/USDT:USDT", NOW, 0)


class Capture:
    """Keeps each request ccxt built, answers from ``answers`` (or fails the call)."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    def __call__(self, url: str, method: str, headers: Any, body: Any) -> Any:
        params = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
        if body:
            try:
                loaded = json.loads(body)
                params.update(loaded[0] if isinstance(loaded, list) else loaded)
            except ValueError:
                params.update({k: v[0] for k, v in parse_qs(body).items()})
        self.requests.append((method, urlparse(url).path, {k: str(v) for k, v in params.items()}))
        if not self.answers:
            raise RuntimeError("no recorded answer")
        return self.answers.pop(0)


def _venue(exchange_id: str, symbols: list[str], *answers: Any) -> tuple[CcxtVenue, Capture]:
    capture = Capture(*answers)
    ex, _ = exchange(exchange_id, capture)
    venue = CcxtVenue(
        exchange_id, ex, symbols, trading_enabled=True, clock=lambda: NOW, sleep=lambda s: None
    )
    return venue, capture


_BINANCE = ("newClientOrderId", "origClientOrderId")
_BYBIT = ("orderLinkId", "orderLinkId", "/v5/order/realtime", "/v5/order/cancel")


@pytest.mark.parametrize(
    ("exchange_id", "symbol", "create_param", "lookup_param", "lookup_path", "cancel_path"),
    [
        ("binance", "SOL/USDT", *_BINANCE, "/api/v3/order", "/api/v3/order"),
        ("binance", "BTC/USDT:USDT", *_BINANCE, "/fapi/v1/order", "/fapi/v1/order"),
        (
            "okx",
            "BTC/USDT:USDT",
            "clOrdId",
            "clOrdId",
            "/api/v5/trade/order",
            "/api/v5/trade/cancel-order",
        ),
        ("bybit", "BTC/USDT:USDT", *_BYBIT),
        ("bybit", "LTC/USDT", *_BYBIT),
    ],
)
def test_client_order_id_reaches_each_exchange_in_the_parameter_it_reads(
    exchange_id: str,
    symbol: str,
    create_param: str,
    lookup_param: str,
    lookup_path: str,
    cancel_path: str,
) -> None:
    venue, capture = _venue(exchange_id, [symbol])

    with pytest.raises(HaltError, match="no recorded answer"):
        venue.create_order(OrderRequest(symbol, "buy", 0.01, CID, "limit", 50_000.0))
    with pytest.raises(HaltError, match="no recorded answer"):
        venue.fetch_order(symbol, CID)
    with pytest.raises(HaltError, match="no recorded answer"):
        venue.cancel_order(symbol, CID)

    (_, _, create), (_, fetch_path, fetch), (_, cancel_at, cancel) = capture.requests
    assert create[create_param] == CID
    assert (fetch_path, fetch[lookup_param]) == (lookup_path, CID)
    assert (cancel_at, cancel[lookup_param]) == (cancel_path, CID)
    assert "None" not in fetch.values()  # no orderId=None beside the client id
    assert "acknowledged" not in cancel


def test_derived_ids_pass_every_exchange_unchanged_and_others_are_reencoded() -> None:
    for exchange_id in ("binance", "okx", "bybit"):
        assert encode_client_order_id(CID, exchange_id) == CID

    okx = encode_client_order_id("keel-3f9a/leg.1", "okx")

    assert okx.isalnum()
    assert len(okx) == 32
    assert okx == encode_client_order_id("keel-3f9a/leg.1", "okx")  # deterministic
    assert encode_client_order_id("keel-3f9a/leg.1", "binance") == "keel-3f9a/leg.1"
    assert encode_client_order_id("keel-3f9a/leg.1", "bybit") != "keel-3f9a/leg.1"


def test_okx_swap_order_is_sent_in_contracts_and_read_back_in_base_units() -> None:
    ack = {"code": "0", "data": [{"clOrdId": CID, "ordId": "701", "sCode": "0", "sMsg": ""}]}
    venue, capture = _venue("okx", ["BTC/USDT:USDT"], ack)

    order = venue.create_order(OrderRequest("BTC/USDT:USDT", "buy", 0.05, CID, "limit", 60_000.0))

    assert capture.requests[0][2]["sz"] == "5"  # 0.05 BTC = 5 contracts of 0.01 BTC
    assert (order.order_id, order.amount, order.status) == ("701", 0.05, "open")


def _okx_position(inst: str, pos: str, side: str, mark: str = "101.33") -> dict[str, Any]:
    recorded = case("okx", "fetchPosition")["httpResponse"]
    item = {**recorded["data"][0], "instId": inst, "pos": pos, "posSide": side, "markPx": mark}
    return {**recorded, "data": [item]}


def test_okx_position_in_contracts_becomes_base_units() -> None:
    venue, _ = _venue("okx", ["BTC/USDT:USDT"], _okx_position("BTC-USDT-SWAP", "3", "long"))

    assert venue.fetch_positions()["size"].to_list() == [pytest.approx(0.03)]


def test_hedge_mode_short_is_short_and_a_missing_mark_stays_unknown() -> None:
    payload = _okx_position("LTC-USDT-SWAP", "2", "short", mark="")
    venue, _ = _venue("okx", ["LTC/USDT:USDT"], payload)

    row = venue.fetch_positions().row(0, named=True)

    assert row["size"] == -2.0
    assert row["mark_price"] is None  # never 0


def _bybit_position(symbol: str, size: str) -> dict[str, Any]:
    item = {
        "symbol": symbol,
        "side": "Buy",
        "size": size,
        "avgPrice": "100",
        "markPrice": "101",
        "unrealisedPnl": "1",
        "positionIdx": 0,
        "positionValue": "100",
        "leverage": "5",
        "createdTime": "1700000000000",
        "updatedTime": "1700000000000",
        "tradeMode": 0,
    }
    return {"retCode": 0, "retMsg": "OK", "result": {"list": [item], "category": "linear"}}


def test_bybit_positions_of_two_swaps_are_fetched_one_symbol_at_a_time() -> None:
    venue, capture = _venue(
        "bybit",
        ["BTC/USDT:USDT", "ETH/USDT:USDT"],
        _bybit_position("BTCUSDT", "0.5"),
        _bybit_position("ETHUSDT", "2"),
    )

    positions = venue.fetch_positions()

    assert [r[2]["symbol"] for r in capture.requests] == ["BTCUSDT", "ETHUSDT"]
    assert positions.select("symbol", "size").rows() == [
        ("BTC/USDT:USDT", 0.5),
        ("ETH/USDT:USDT", 2.0),
    ]


def test_binance_spot_cancel_reports_the_orders_own_client_id() -> None:
    answer = {
        "symbol": "BTCUSDT",
        "origClientOrderId": CID,
        "orderId": 4242,
        "orderListId": -1,
        "clientOrderId": "web_cancel_request_id",  # the cancel request's own id
        "transactTime": 1717000000000,
        "price": "60000.00",
        "origQty": "0.01000000",
        "executedQty": "0.00000000",
        "cummulativeQuoteQty": "0.00000000",
        "status": "CANCELED",
        "timeInForce": "GTC",
        "type": "LIMIT",
        "side": "BUY",
    }
    venue, _ = _venue("binance", ["BTC/USDT"], answer)

    order = venue.cancel_order("BTC/USDT", CID)

    assert (order.client_order_id, order.order_id, order.status) == (CID, "4242", "canceled")


def test_order_options_reach_the_request() -> None:
    venue, capture = _venue("bybit", ["BTC/USDT:USDT"])

    for request in (
        OrderRequest("BTC/USDT:USDT", "buy", 0.01, "a1", "limit", 50_000.0, post_only=True),
        OrderRequest("BTC/USDT:USDT", "sell", 0.01, "a2", "limit", 70_000.0, time_in_force="IOC"),
        OrderRequest("BTC/USDT:USDT", "sell", 0.01, "a3", reduce_only=True),
    ):
        with pytest.raises(HaltError, match="no recorded answer"):
            venue.create_order(request)

    sent = [r[2] for r in capture.requests]
    assert sent[0]["timeInForce"] == "PostOnly"
    assert sent[1]["timeInForce"] == "IOC"
    assert sent[2]["reduceOnly"] == "True"


def test_an_acknowledgement_without_an_id_is_an_unknown_outcome_never_id_none() -> None:
    venue, _ = _venue("okx", ["BTC/USDT:USDT"], {"code": "0", "data": [{"clOrdId": CID}]})

    with pytest.raises(OrderOutcomeUnknownError, match=rf"{CID}.*unreadable.*'id'"):
        venue.create_order(OrderRequest("BTC/USDT:USDT", "buy", 0.01, CID, "limit", 1.0))


def test_dated_futures_and_inverse_swaps_are_refused_not_read_as_spot() -> None:
    venue, _ = _venue("okx", ["BTC/USDT:USDT", "BTC/USD:BTC"])
    market = venue.exchange.markets["BTC/USDT:USDT"]
    dated = {**market, "swap": False, "future": True, "type": "future"}
    venue.exchange.markets["BTC/USDT:USDT"] = dated

    with pytest.raises(UnknownSymbolError, match="future market"):
        venue.instruments()
    with pytest.raises(UnknownSymbolError, match="inverse"):
        _venue("okx", ["BTC/USD:BTC"])[0].fetch_positions()


def test_a_missing_fetch_order_answer_means_the_exchange_never_got_it() -> None:
    venue, _ = _venue("bybit", ["BTC/USDT:USDT"], {"retCode": 0, "result": {"list": []}})

    assert venue.fetch_order("BTC/USDT:USDT", CID) is None
