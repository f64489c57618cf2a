"""Recorded exchange responses, injected at ccxt's ``fetch`` layer: ccxt builds and signs every
request and parses every response for real; only the socket is replaced."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import ccxt
import polars as pl

FIXTURES = Path(__file__).parents[1] / "fixtures"
FAKE_API_KEY = "KEELFAKEAPIKEY0123456789abcdef"
FAKE_SECRET = "KEELFAKESECRET9876543210fedcba"
FAKE_PASSWORD = "KEELFAKEPASSPHRASE42"

Handler = Callable[[str, str, Any, Any], Any]


def case(exchange: str, method: str, index: int = 0) -> dict[str, Any]:
    """One recorded call: ``input`` (ccxt arguments), ``httpResponse``, ``parsedResponse``."""
    data = json.loads((FIXTURES / "ccxt" / "response" / f"{exchange}.json").read_text())
    return dict(data["methods"][method][index])


def options(exchange: str) -> dict[str, Any]:
    """Exchange options the recorded responses assume (e.g. Binance's leverage brackets)."""
    data = json.loads((FIXTURES / "ccxt" / "response" / f"{exchange}.json").read_text())
    return dict(data.get("options") or {})


def markets(exchange: str) -> list[dict[str, Any]]:
    """The recorded markets of an exchange, without the fixture's note keys."""
    data = json.loads((FIXTURES / "ccxt" / "markets" / f"{exchange}.json").read_text())
    return [v for k, v in data.items() if not k.startswith("_")]


# Bybit asks which account mode a key has before private calls; answering from options keeps
# the recorded call the only request, as in ccxt's own static tests.
_NO_ACCOUNT_PROBES = {"bybit": {"enableUnifiedAccount": True, "enableUnifiedMargin": False}}

# OKX lowered BTC-USDT-SWAP's lot size to 0.01 contracts after the market fixture was recorded;
# ccxt's createOrder fixture (0.01 contracts) was recorded after, so the market must match it.
_PRECISION_FIXES = {("okx", "BTC/USDT:USDT"): {"amount": 0.01}}


def _tick_precision(instance: Any, market: dict[str, Any]) -> dict[str, Any]:
    """The fixtures were recorded when ccxt stored precision as decimal places; today's ccxt
    (TICK_SIZE mode) expects the step itself, so 5 decimals become 0.00001."""
    precision = dict(market.get("precision") or {})
    if instance.precisionMode == ccxt.TICK_SIZE:
        precision = {
            k: (10.0**-v if isinstance(v, int) and v >= 1 else v) for k, v in precision.items()
        }
    precision.update(_PRECISION_FIXES.get((instance.id, market["symbol"]), {}))
    return {**market, "precision": precision}


class Recorder:
    """A stand-in for the network: answers each request from a handler and keeps the URLs."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[tuple[str, str, Any, Any]] = []

    def __call__(self, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        self.requests.append((url, method, headers, body))
        return self.handler(url, method, headers, body)


def exchange(exchange_id: str, handler: Handler, **config: Any) -> tuple[Any, Recorder]:
    """A ccxt exchange with recorded markets whose ``fetch`` answers from ``handler``."""
    instance = getattr(ccxt, exchange_id)(
        {"apiKey": FAKE_API_KEY, "secret": FAKE_SECRET, "password": FAKE_PASSWORD, **config}
    )
    instance.options.update({**_NO_ACCOUNT_PROBES.get(exchange_id, {}), **options(exchange_id)})
    instance.set_markets(
        [instance.safe_market_structure(_tick_precision(instance, m)) for m in markets(exchange_id)]
    )
    recorder = Recorder(handler)
    instance.fetch = recorder
    return instance, recorder


def replay(response: Any) -> Handler:
    """Answer the first request with ``response`` and every later one with an empty list
    (the exchange has nothing after the recorded page)."""
    calls = {"n": 0}

    def handler(url: str, method: str, headers: Any, body: Any) -> Any:
        calls["n"] += 1
        return response if calls["n"] == 1 else []

    return handler


def query(url: str) -> dict[str, str]:
    """The query string of a request URL as a flat dict."""
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


class BinanceFuturesHistory:
    """Serves Binance USDT-M ``/fapi/v1/klines`` and ``/fapi/v1/fundingRate`` pages from real
    recorded series (freqtrade's XRP/USDT:USDT data), honouring startTime and limit the way
    Binance does, so paging loops meet the real response shapes and sizes."""

    def __init__(self, drop_hours: tuple[int, ...] = (), overlap: int = 0) -> None:
        candles = pl.read_ipc(FIXTURES / "freqtrade" / "XRP_USDT_USDT-1h-futures.feather")
        self.klines: list[list[Any]] = [
            [
                int(r["date"].timestamp() * 1000),
                str(r["open"]),
                str(r["high"]),
                str(r["low"]),
                str(r["close"]),
                str(r["volume"]),
                int(r["date"].timestamp() * 1000) + 3_599_999,
                "0",
                1,
                "0",
                "0",
                "0",
            ]
            for i, r in enumerate(candles.iter_rows(named=True))
            if i not in drop_hours
        ]
        funding = pl.read_ipc(FIXTURES / "freqtrade" / "XRP_USDT_USDT-8h-funding_rate.feather")
        self.funding: list[dict[str, Any]] = [
            {
                "symbol": "XRPUSDT",
                "fundingTime": int(r["date"].timestamp() * 1000),
                "fundingRate": f"{r['open']:.8f}",
                "markPrice": "",
            }
            for r in funding.iter_rows(named=True)
        ]
        self.overlap = overlap  # repeat this many rows of the previous page (exchanges do)
        self.calls: list[str] = []

    def __call__(self, url: str, method: str, headers: Any, body: Any) -> Any:
        self.calls.append(url)
        q = query(url)
        start, limit = int(q.get("startTime", 0)), int(q["limit"])
        if "/klines" in url:
            rows = [k for k in self.klines if k[0] >= start - self.overlap * 3_600_000]
            return rows[:limit]
        if "/fundingRate" in url:
            return [f for f in self.funding if f["fundingTime"] >= start][:limit]
        raise AssertionError(f"unexpected request {url}")


def over_http(instance: Any, handler: Handler) -> None:
    """Answer at the HTTP session instead of ``fetch``: ccxt's own ``fetch`` then runs too
    (proxy checks, request logging, status and error handling)."""
    import requests

    def request(method: str, url: str, data: Any = None, headers: Any = None, **_: Any) -> Any:
        payload = handler(url, method, headers, data)
        response = requests.Response()
        response.status_code = 200
        response.reason = "OK"
        response.url = url
        response._content = json.dumps(payload).encode()
        response.headers["Content-Type"] = "application/json"
        return response

    instance.session.request = request
