"""Against real public exchange endpoints: off by default (no test may touch the network).
Run with ``.venv/bin/pytest -m network`` on a machine that can reach the exchanges."""

from __future__ import annotations

from datetime import timedelta

import ccxt
import pytest

from trading.timeframes import floor_time, utc_now
from trading.venues.ccxt_venue import CcxtVenue

pytestmark = pytest.mark.network


@pytest.mark.parametrize(
    ("exchange_id", "symbol"),
    [("binance", "BTC/USDT"), ("okx", "BTC/USDT"), ("bybit", "BTC/USDT:USDT")],
)
def test_public_candles_of_the_last_day_arrive_complete(exchange_id: str, symbol: str) -> None:
    exchange = getattr(ccxt, exchange_id)({"enableRateLimit": True, "timeout": 15_000})
    venue = CcxtVenue(exchange_id, exchange, [symbol])
    end = floor_time(utc_now(), "1h")

    bars = venue.fetch_candles(symbol, "1h", end - timedelta(days=1), end)

    assert bars.height == 24
    assert bars["ts"].is_sorted()


def test_public_funding_history_of_a_perpetual_arrives() -> None:
    venue = CcxtVenue("binance", ccxt.binanceusdm({"enableRateLimit": True}), ["BTC/USDT:USDT"])
    end = utc_now()

    rates = venue.fetch_funding_rates("BTC/USDT:USDT", end - timedelta(days=3), end)

    assert rates.height >= 6
