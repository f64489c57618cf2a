"""Bad account payloads are refused with an error naming venue, call and field, never passed
on as zeros, "open" or "buy"; borrowed amounts are kept; an unreadable history page is retried
instead of ending history. Payloads are recorded ccxt results (binance, okx), altered."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.trading.recorded import BinanceFuturesHistory, case, exchange
from trading.venues.base import PayloadError
from trading.venues.ccxt_parse import balances_frame, order_record, positions_frame, trades_frame
from trading.venues.ccxt_venue import CcxtVenue
from trading.venues.errors import RetryPolicy

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def _trade(**changes: Any) -> dict[str, Any]:
    return {**case("binance", "fetchMyTrades")["parsedResponse"][0], **changes}


def _order(**changes: Any) -> dict[str, Any]:
    return {**case("binance", "fetchOpenOrders")["parsedResponse"][0], **changes}


@pytest.mark.parametrize(
    ("changes", "field", "why"),
    [
        ({"amount": float("nan")}, "amount", "not finite"),
        ({"amount": -0.5}, "amount", ".*must be positive"),
        ({"amount": "lots"}, "amount", "not a number: 'lots'"),
        ({"price": None}, "price", "missing"),
        ({"side": None}, "side", ".*must be buy or sell"),
        ({"id": None}, "id", "missing"),
    ],
)
def test_a_bad_fill_is_refused_naming_venue_call_and_field(
    changes: dict[str, Any], field: str, why: str
) -> None:
    with pytest.raises(PayloadError, match=rf"binance\.fetch_my_trades: field '{field}': {why}"):
        trades_frame([_trade(**changes)], "binance", {})


def test_the_same_fill_twice_is_kept_once_and_conflicting_copies_are_refused() -> None:
    same = trades_frame([_trade(), _trade()], "binance", {})

    assert same.height == 1
    with pytest.raises(PayloadError, match="reported twice with different contents"):
        trades_frame([_trade(), _trade(amount=99.0)], "binance", {})


def test_swap_fills_are_converted_from_contracts_to_base_units() -> None:
    fill = trades_frame([_trade(symbol="BTC/USDT:USDT", amount=3)], "okx", {"BTC/USDT:USDT": 0.01})

    assert fill["amount"].to_list() == [pytest.approx(0.03)]


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"id": None}, "id"), ({"status": "weird"}, "status"), ({"side": None}, "side")],
)
def test_an_unreadable_order_is_refused_never_open_with_id_none(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(PayloadError, match=f"field '{field}'"):
        order_record(_order(**changes), "binance", "fetch_open_orders", 1.0, NOW)


def test_a_position_without_a_side_is_refused() -> None:
    p = {**case("binance", "fetchPositions")["parsedResponse"][0], "side": None}

    with pytest.raises(PayloadError, match="fetch_positions: field 'side'"):
        positions_frame([p], "binance", {})


def test_borrowed_amounts_are_kept_as_debt() -> None:
    balance = {
        "USDT": {"free": 800.0, "used": 200.0, "total": 1000.0, "debt": 300.0},
        "free": {"USDT": 800.0, "BTC": 0.0},
        "used": {"USDT": 200.0, "BTC": 0.0},
        "total": {"USDT": 1000.0, "BTC": 0.0},
        "debt": {"USDT": 300.0, "BTC": 0.01},
    }

    rows = balances_frame(balance, "binance").rows(named=True)

    assert [(r["asset"], r["total"], r["debt"]) for r in rows] == [
        ("BTC", 0.0, 0.01),
        ("USDT", 1000.0, 300.0),
    ]


def test_a_non_numeric_balance_names_the_asset() -> None:
    with pytest.raises(PayloadError, match="field 'USDT': not a number"):
        balances_frame({"total": {"USDT": "n/a"}}, "binance")


def _flaky_http(instance: Any, server: BinanceFuturesHistory, rate: float, seed: int) -> None:
    """Serve ``server`` over HTTP, answering ``rate`` of the requests with a 200 whose body is
    unparseable: truncated JSON, an empty body or an HTML page."""
    import json

    rng = random.Random(seed)
    garbage = ['[[1637110800000,"1.0"', "", "<html><body>maintenance</body></html>"]

    def request(method: str, url: str, data: Any = None, headers: Any = None, **_: Any) -> Any:
        response = requests.Response()
        response.status_code, response.reason, response.url = 200, "OK", url
        body = (
            rng.choice(garbage)
            if rng.random() < rate
            else json.dumps(server(url, method, headers, data))
        )
        response._content = body.encode()
        response.headers["Content-Type"] = "application/json"
        return response

    instance.session.request = request


def test_unparseable_pages_are_retried_and_no_history_is_lost_in_30_of_30_runs() -> None:
    start = datetime(2021, 11, 17, 1, tzinfo=UTC)
    complete = 0
    for seed in range(30):
        server = BinanceFuturesHistory()
        ex, _ = exchange("binance", server)
        _flaky_http(ex, server, rate=0.2, seed=seed)
        venue = CcxtVenue(
            "b",
            ex,
            ["XRP/USDT:USDT"],
            page_limit=24,
            clock=lambda: NOW,
            sleep=lambda s: None,
            policy=RetryPolicy(retries=8),
        )
        bars = venue.fetch_candles("XRP/USDT:USDT", "1h", start, start + timedelta(hours=100))
        complete += bars.height == 100
    assert complete == 30
