"""The ccxt venue against real recorded exchange payloads (binance, okx, bybit), injected at
ccxt's fetch layer: ccxt's request building and parsing run for real, Keel's conversion is
checked against what ccxt itself parsed from the same bytes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import ccxt
import polars as pl
import pytest

from tests.trading.recorded import (
    FAKE_API_KEY,
    FAKE_SECRET,
    BinanceFuturesHistory,
    case,
    exchange,
    query,
    replay,
)
from trading import frames
from trading.venues.base import HaltError, OrderRequest, UnknownSymbolError, Venue
from trading.venues.ccxt_venue import CcxtVenue

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def _ms(value: float) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


def _venue(ex: Any, symbols: list[str], **kwargs: Any) -> CcxtVenue:
    return CcxtVenue(ex.id, ex, symbols, clock=lambda: NOW, sleep=lambda s: None, **kwargs)


def test_ccxt_venue_implements_the_venue_interface() -> None:
    ex, _ = exchange("binance", replay([]))

    assert isinstance(_venue(ex, ["BTC/USDT"]), Venue)


@pytest.mark.parametrize("exchange_id", ["binance", "okx", "bybit"])
def test_recorded_candles_convert_exactly_to_what_ccxt_parsed(exchange_id: str) -> None:
    recorded = case(exchange_id, "fetchOHLCV")
    symbol, timeframe, since, limit = recorded["input"][:4]
    ex, network = exchange(exchange_id, replay(recorded["httpResponse"]))
    parsed = recorded["parsedResponse"]

    bars = _venue(ex, [symbol], page_limit=limit).fetch_candles(
        symbol, timeframe, _ms(since), _ms(parsed[-1][0] + 1)
    )

    assert dict(bars.schema) == dict(frames.CANDLES)
    assert bars.select("open", "high", "low", "close", "volume").rows() == [
        tuple(float(x) for x in row[1:]) for row in parsed
    ]
    assert bars["ts"].to_list() == [_ms(row[0]) for row in parsed]
    assert bars["symbol"].unique().to_list() == [symbol]
    assert str(limit) in network.requests[0][0]  # ccxt built the paged request for real


def test_swap_candles_of_binance_usdm_convert() -> None:
    recorded = case("binance", "fetchOHLCV", 2)
    symbol, timeframe = recorded["input"][:2]
    parsed = recorded["parsedResponse"]
    ex, network = exchange("binance", replay(recorded["httpResponse"]))

    bars = _venue(ex, [symbol]).fetch_candles(
        symbol, timeframe, _ms(parsed[0][0]), _ms(parsed[-1][0] + 1)
    )

    assert "/fapi/v1/klines" in network.requests[0][0]
    assert bars["close"].to_list() == [float(r[4]) for r in parsed]


def test_paging_walks_history_dedupes_overlaps_and_stops_at_the_end() -> None:
    server = BinanceFuturesHistory(overlap=2)  # every page repeats the last 2 bars
    ex, _ = exchange("binance", server)
    venue = _venue(ex, ["XRP/USDT:USDT"], page_limit=30)
    start = datetime(2021, 11, 17, 1, tzinfo=UTC)

    bars = venue.fetch_candles("XRP/USDT:USDT", "1h", start, start + timedelta(hours=100))

    assert bars.height == 100
    assert bars["ts"].is_unique().all()
    assert bars["ts"].is_sorted()
    assert len(server.calls) >= 4  # 100 bars in pages of 30
    assert bars["close"][0] == pytest.approx(1.07925)


def test_paging_stops_at_the_present_and_drops_the_forming_bar() -> None:
    server = BinanceFuturesHistory()
    ex, _ = exchange("binance", server)
    now = datetime(2021, 11, 18, 10, 30, tzinfo=UTC)
    venue = CcxtVenue("b", ex, ["XRP/USDT:USDT"], page_limit=10, clock=lambda: now)

    bars = venue.fetch_candles(
        "XRP/USDT:USDT",
        "1h",
        datetime(2021, 11, 18, tzinfo=UTC),
        datetime(2021, 11, 25, tzinfo=UTC),
    )

    assert bars["ts"].max() == datetime(2021, 11, 18, 9, tzinfo=UTC)  # 10:00 has not closed
    assert len(server.calls) == 2


def test_a_hole_in_the_exchange_history_shows_up_as_a_gap() -> None:
    from trading.gaps import find_gaps

    ex, _ = exchange("binance", BinanceFuturesHistory(drop_hours=(10, 11, 12)))
    start = datetime(2021, 11, 17, 1, tzinfo=UTC)
    bars = _venue(ex, ["XRP/USDT:USDT"], page_limit=50).fetch_candles(
        "XRP/USDT:USDT", "1h", start, start + timedelta(hours=48)
    )

    gaps = find_gaps(bars, "1h", start, start + timedelta(hours=47), ["XRP/USDT:USDT"])

    assert gaps.rows() == [
        ("XRP/USDT:USDT", start + timedelta(hours=10), start + timedelta(hours=12), 3)
    ]


def test_funding_rate_history_pages_through_the_recorded_series() -> None:
    server = BinanceFuturesHistory()
    ex, _ = exchange("binance", server)
    venue = _venue(ex, ["XRP/USDT:USDT"], page_limit=25)

    rates = venue.fetch_funding_rates(
        "XRP/USDT:USDT", datetime(2021, 11, 18, tzinfo=UTC), datetime(2021, 12, 18, 8, tzinfo=UTC)
    )

    assert dict(rates.schema) == dict(frames.FUNDING_RATES)
    assert rates.height == 91
    assert rates["ts"][0] == datetime(2021, 11, 18, 0, 0, 0, 17000, tzinfo=UTC)
    assert rates["funding_rate"][0] == pytest.approx(0.0001)
    assert rates["mark_price"].null_count() == 91
    assert all("/fapi/v1/fundingRate" in url for url in server.calls)


def test_balance_lists_every_non_zero_asset_as_ccxt_parsed_it() -> None:
    recorded = case("binance", "fetchBalance")
    ex, _ = exchange("binance", replay(recorded["httpResponse"]))

    balances = _venue(ex, ["BTC/USDT"]).fetch_balances()

    expected = {k: v for k, v in recorded["parsedResponse"]["total"].items() if v}
    assert dict(zip(balances["asset"], balances["total"], strict=True)) == expected
    assert (balances["free"] + balances["used"] - balances["total"]).abs().to_list() == [
        pytest.approx(0.0)
    ] * balances.height


def test_okx_funding_account_balance_converts() -> None:
    recorded = case("okx", "fetchBalance")
    ex, network = exchange("okx", replay(recorded["httpResponse"]))

    balances = _venue(ex, ["BTC/USDT"], balance_params={"type": "funding"}).fetch_balances()

    assert "/api/v5/asset/balances" in network.requests[0][0]

    expected = {k: v for k, v in recorded["parsedResponse"]["total"].items() if v}
    assert dict(zip(balances["asset"], balances["total"], strict=True)) == expected


def test_bybit_balance_converts() -> None:
    recorded = case("bybit", "fetchBalance")
    ex, _ = exchange("bybit", replay(recorded["httpResponse"]))

    balances = _venue(ex, ["BTC/USDT:USDT"]).fetch_balances()

    expected = {k: v for k, v in recorded["parsedResponse"]["total"].items() if v}
    assert dict(zip(balances["asset"], balances["total"], strict=True)) == expected


def test_positions_are_signed_base_units() -> None:
    recorded = case("binance", "fetchPositions")
    ex, _ = exchange("binance", replay(recorded["httpResponse"]))

    positions = _venue(ex, ["BTC/USDT:USDT"]).fetch_positions()

    p = recorded["parsedResponse"][0]
    assert positions.rows() == [
        (
            "binance",
            "BTC/USDT:USDT",
            p["contracts"] * p["contractSize"],
            p["entryPrice"],
            p["markPrice"],
            p["unrealizedPnl"],
        )
    ]


def test_okx_position_converts() -> None:
    recorded = case("okx", "fetchPosition")
    ex, _ = exchange("okx", replay(recorded["httpResponse"]))

    positions = _venue(ex, ["LTC/USDT:USDT"]).fetch_positions()

    p = recorded["parsedResponse"]
    sign = -1 if p["side"] == "short" else 1
    assert positions["size"].to_list() == [sign * p["contracts"] * p["contractSize"]]
    assert positions["entry_price"].to_list() == [p["entryPrice"]]


def test_open_orders_carry_client_order_ids() -> None:
    recorded = case("binance", "fetchOpenOrders")
    ex, _ = exchange("binance", replay(recorded["httpResponse"]))

    orders = _venue(ex, ["LTC/USDT"]).fetch_open_orders()

    o = recorded["parsedResponse"][0]
    assert orders.select("order_id", "client_order_id", "side", "amount", "price").rows() == [
        (o["id"], o["clientOrderId"], o["side"], o["amount"], o["price"])
    ]


@pytest.mark.parametrize(
    ("exchange_id", "index", "symbol"),
    [
        ("binance", 0, "LTC/USDT"),
        ("binance", 1, "BTC/USDT:USDT"),
        ("bybit", 0, None),
    ],
)
def test_own_trades_convert_to_fills(exchange_id: str, index: int, symbol: str | None) -> None:
    recorded = case(exchange_id, "fetchMyTrades", index)
    t = recorded["parsedResponse"][0]
    ex, _ = exchange(exchange_id, replay(recorded["httpResponse"]))

    fills = _venue(ex, [symbol or t["symbol"]]).fetch_fills()

    row = fills.row(0, named=True)
    assert (row["fill_id"], row["symbol"], row["side"]) == (t["id"], t["symbol"], t["side"])
    assert (row["amount"], row["price"]) == (t["amount"], t["price"])
    assert row["fee"] == (t["fee"] or {}).get("cost")
    assert row["liquidity"] == t["takerOrMaker"]
    assert row["ts"] == _ms(t["timestamp"])


@pytest.mark.parametrize("exchange_id", ["binance", "okx", "bybit"])
def test_created_order_converts_as_ccxt_parsed_it(exchange_id: str) -> None:
    recorded = case(exchange_id, "createOrder")
    symbol, kind, side, amount, price = recorded["input"][:5]
    ex, _ = exchange(exchange_id, replay(recorded["httpResponse"]))
    venue = _venue(ex, [symbol], trading_enabled=True)

    order = venue.create_order(OrderRequest(symbol, side, amount, "keel-cid-1", kind, price))

    parsed = recorded["parsedResponse"]
    assert (order.order_id, order.symbol, order.side) == (str(parsed["id"]), symbol, side)
    assert order.client_order_id in {parsed.get("clientOrderId"), "keel-cid-1"}


def test_order_request_ccxt_would_send_carries_the_client_order_id() -> None:
    ex, network = exchange("binance", replay([]))
    ex.httpProxy = "http://127.0.0.1:9"
    ex.httpsProxy = "http://127.0.0.1:9"  # conflicting: ccxt raises before any socket opens
    ex.fetch = type(ex).fetch.__get__(ex)  # the real fetch, to hit ccxt's own proxy check
    venue = _venue(ex, ["SOL/USDT"], trading_enabled=True)

    with pytest.raises(HaltError, match="InvalidProxySettings"):
        venue.create_order(OrderRequest("SOL/USDT", "buy", 0.05, "keel-abc123", "limit", 241.0))

    assert network.requests == []
    assert ex.last_request_url.startswith("https://api.binance.com/api/v3/order")
    sent = query("?" + ex.last_request_body) if ex.last_request_body else query(ex.last_request_url)
    assert sent["symbol"] == "SOLUSDT"
    assert sent["side"] == "BUY"
    assert sent["type"] == "LIMIT"
    assert sent["quantity"] == "0.05"
    assert sent["price"] == "241"
    assert sent["newClientOrderId"] == "keel-abc123"
    assert "signature" in sent


def test_order_placement_is_refused_unless_enabled() -> None:
    ex, network = exchange("binance", replay({}))

    with pytest.raises(HaltError, match="trading_enabled = true"):
        _venue(ex, ["SOL/USDT"]).create_order(
            OrderRequest("SOL/USDT", "buy", 0.05, "c", "limit", 1.0)
        )

    assert network.requests == []


def test_a_symbol_the_exchange_does_not_list_is_named() -> None:
    ex, _ = exchange("binance", replay([]))

    with pytest.raises(UnknownSymbolError, match="binance does not list 'PEPE/USDT'"):
        _venue(ex, ["PEPE/USDT"]).fetch_candles("PEPE/USDT", "1h", NOW - timedelta(days=1), NOW)


def test_an_unconfigured_symbol_is_refused_before_any_request() -> None:
    ex, network = exchange("binance", replay([]))

    with pytest.raises(UnknownSymbolError, match="not configured"):
        _venue(ex, ["BTC/USDT"]).fetch_candles("LTC/USDT", "1h", NOW - timedelta(days=1), NOW)

    assert network.requests == []


def test_instruments_carry_precision_limits_and_fees() -> None:
    ex, _ = exchange("binance", replay([]))

    (btc,) = _venue(ex, ["BTC/USDT"]).instruments()

    assert (btc.price_step, btc.amount_step) == (0.01, 0.00001)
    assert (btc.min_amount, btc.min_notional) == (0.00001, 5.0)
    assert (btc.maker_fee, btc.taker_fee, btc.kind) == (0.001, 0.001, "spot")


def test_markets_are_loaded_once_per_venue() -> None:
    loads = {"n": 0}
    recorded = case("binance", "fetchOHLCV")

    def handler(url: str, method: str, headers: Any, body: Any) -> Any:
        return recorded["httpResponse"]

    ex, _ = exchange("binance", handler)
    markets = ex.markets
    ex.markets = None

    def load_markets(*args: Any) -> Any:
        loads["n"] += 1
        ex.set_markets(list(markets.values()))
        return ex.markets

    ex.load_markets = load_markets
    venue = _venue(ex, ["BTC/USDT"], page_limit=3)
    for _ in range(3):
        venue.fetch_candles("BTC/USDT", "1h", _ms(1706630400000), _ms(1706637600001))

    assert loads["n"] == 1


def test_credentials_never_appear_in_a_translated_error() -> None:
    def handler(url: str, method: str, headers: Any, body: Any) -> Any:
        raise ccxt.AuthenticationError(f"binance rejected key {FAKE_API_KEY} secret {FAKE_SECRET}")

    from trading.venues.secrets import register_secret

    register_secret(FAKE_API_KEY)
    register_secret(FAKE_SECRET)
    ex, _ = exchange("binance", handler)

    with pytest.raises(HaltError) as err:
        _venue(ex, ["BTC/USDT"]).fetch_balances()

    assert FAKE_API_KEY not in str(err.value)
    assert FAKE_SECRET not in str(err.value)
    assert "check the API key" in str(err.value)


def test_a_recorded_error_body_goes_through_ccxts_own_error_mapping() -> None:
    body = '{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}'

    def handler(url: str, method: str, headers: Any, request_body: Any) -> Any:
        ex.handle_errors(
            401, "Unauthorized", url, method, {}, body, ex.parse_json(body), headers, request_body
        )
        raise AssertionError("ccxt did not raise")

    ex, network = exchange("binance", handler)

    with pytest.raises(HaltError, match=r"AuthenticationError.*Invalid API-key"):
        _venue(ex, ["BTC/USDT"]).fetch_balances()

    assert len(network.requests) == 1  # not retried


def test_candles_frame_matches_a_plain_row_by_row_reference() -> None:
    from trading.venues.ccxt_venue import ohlcv_frame

    rows = [
        [1706630400000 + i * 3_600_000, 1.0 + i, 2.0 + i, 0.5 + i, 1.5 + i, 10.0 * i]
        for i in range(50)
    ]

    fast = ohlcv_frame(rows, "v", "X/USDT", "1h")

    reference = pl.DataFrame(
        [
            {
                "venue": "v",
                "symbol": "X/USDT",
                "timeframe": "1h",
                "ts": _ms(r[0]),
                "date": _ms(r[0]).date(),
                "open": r[1],
                "high": r[2],
                "low": r[3],
                "close": r[4],
                "volume": r[5],
            }
            for r in rows
        ]
    )
    assert fast.equals(frames.conform(reference, frames.CANDLES))


@pytest.mark.parametrize(
    ("exchange_id", "symbol", "base_amount", "path", "expected"),
    [
        (
            "okx",
            "BTC/USDT:USDT",
            0.0001,  # BTC; OKX's BTC-USDT-SWAP contract is 0.01 BTC, so 0.01 contracts
            "/api/v5/trade/batch-orders",
            {
                "instId": "BTC-USDT-SWAP",
                "side": "buy",
                "ordType": "limit",
                "sz": "0.01",
                "px": "50000",
                "clOrdId": "keelokx1",
            },
        ),
        (
            "bybit",
            "LTC/USDT",
            0.2,
            "/v5/order/create",
            {
                "symbol": "LTCUSDT",
                "side": "Buy",
                "orderType": "Limit",
                "qty": "0.2",
                "price": "50",
                "orderLinkId": "keelbybit1",
                "category": "spot",
            },
        ),
    ],
)
def test_okx_and_bybit_order_requests_carry_the_client_order_id_and_contracts(
    exchange_id: str, symbol: str, base_amount: float, path: str, expected: dict[str, str]
) -> None:
    import json

    ex, network = exchange(exchange_id, replay([]))
    ex.httpProxy = "http://127.0.0.1:9"
    ex.httpsProxy = "http://127.0.0.1:9"
    ex.fetch = type(ex).fetch.__get__(ex)
    venue = _venue(ex, [symbol], trading_enabled=True)
    amount, price = base_amount, float(expected.get("px") or expected["price"])

    with pytest.raises(HaltError, match="InvalidProxySettings"):
        venue.create_order(
            OrderRequest(
                symbol,
                "buy",
                amount,
                expected.get("clOrdId") or expected["orderLinkId"],
                "limit",
                price,
            )
        )

    assert network.requests == []
    assert path in ex.last_request_url
    sent = json.loads(ex.last_request_body)
    sent = sent[0] if isinstance(sent, list) else sent
    assert {k: str(sent.get(k)) for k in expected} == expected
