"""Keel's conversion of ccxt's unified rows into lake frames, timed against ccxt's own parsing of
the same rows in the same run (goal: Keel's overhead at most 25% of ccxt's parse time, for
candles and for trades). Run: ``.venv/bin/python -m bench.ccxt_convert [--quick]``."""

from __future__ import annotations

import argparse
from typing import Any

import ccxt

from bench.timing import best_of
from trading.venues.ccxt_venue import ohlcv_frame, trades_frame


def raw_klines(n: int) -> list[list[Any]]:
    """Binance ``/api/v3/klines`` rows, as the exchange sends them (prices as strings)."""
    t0 = 1_600_000_000_000
    return [
        [
            t0 + i * 60_000,
            f"{100 + i % 50:.2f}",
            f"{101 + i % 50:.2f}",
            f"{99 + i % 50:.2f}",
            f"{100.5 + i % 50:.2f}",
            f"{10 + i % 7:.5f}",
            t0 + i * 60_000 + 59_999,
            "1000.0",
            42,
            "5.0",
            "500.0",
            "0",
        ]
        for i in range(n)
    ]


def raw_trades(n: int) -> list[dict[str, Any]]:
    """Binance ``/api/v3/myTrades`` objects."""
    return [
        {
            "symbol": "BTCUSDT",
            "id": 100_000 + i,
            "orderId": 900_000 + i // 3,
            "orderListId": -1,
            "price": f"{43000 + i % 100:.2f}",
            "qty": "0.00100000",
            "quoteQty": "43.00000000",
            "commission": "0.00004300",
            "commissionAsset": "USDT",
            "time": 1_700_000_000_000 + i,
            "isBuyer": i % 2 == 0,
            "isMaker": i % 3 == 0,
            "isBestMatch": True,
        }
        for i in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n_candles, n_trades, repeats = (20_000, 5_000, 2) if args.quick else (200_000, 50_000, 3)
    exchange = ccxt.binance()
    exchange.set_markets(
        [
            exchange.safe_market_structure(
                {
                    "id": "BTCUSDT",
                    "symbol": "BTC/USDT",
                    "base": "BTC",
                    "quote": "USDT",
                    "baseId": "BTC",
                    "quoteId": "USDT",
                    "type": "spot",
                    "spot": True,
                    "active": True,
                    "precision": {"amount": 1e-5, "price": 0.01},
                }
            )
        ]
    )
    market = exchange.market("BTC/USDT")

    klines = raw_klines(n_candles)
    parsed_ohlcv = exchange.parse_ohlcvs(klines, market, "1m")
    ccxt_s = best_of(repeats, lambda: exchange.parse_ohlcvs(klines, market, "1m"))
    keel_s = best_of(repeats, lambda: ohlcv_frame(parsed_ohlcv, "binance", "BTC/USDT", "1m"))
    print(
        f"candles: {n_candles:,} rows: ccxt parse {ccxt_s:.3f}s ({n_candles / ccxt_s:,.0f}/s), "
        f"keel frame {keel_s:.3f}s ({n_candles / keel_s:,.0f}/s)"
    )
    print(f"    keel overhead = {keel_s / ccxt_s:.1%} of ccxt's parse time (goal <= 25%)")

    trades = raw_trades(n_trades)
    parsed_trades = exchange.parse_trades(trades, market)
    ccxt_s = best_of(repeats, lambda: exchange.parse_trades(trades, market))
    keel_s = best_of(repeats, lambda: trades_frame(parsed_trades, "binance", {}))
    print(
        f"trades: {n_trades:,} rows: ccxt parse {ccxt_s:.3f}s ({n_trades / ccxt_s:,.0f}/s), "
        f"keel frame {keel_s:.3f}s ({n_trades / keel_s:,.0f}/s)"
    )
    print(f"    keel overhead = {keel_s / ccxt_s:.1%} of ccxt's parse time (goal <= 25%)")


if __name__ == "__main__":
    main()
