"""Quality findings on tiny inline frames, with expected rows written out."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from trading import frames
from trading.quality import cross_venue_divergence, duplicate_keys, return_outliers, stale_symbols

T0 = datetime(2024, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)


def _candles(venue: str, symbol: str, closes: list[float], start: int = 0) -> pl.DataFrame:
    ts = [T0 + (start + i) * H for i in range(len(closes))]
    return frames.conform(
        pl.DataFrame(
            {
                "venue": venue,
                "symbol": symbol,
                "timeframe": "1h",
                "ts": ts,
                "date": [t.date() for t in ts],
                "open": closes,
                "high": closes,
                "low": closes,
                "close": closes,
                "volume": 1.0,
            }
        ),
        frames.CANDLES,
    )


def test_symbol_lagging_more_than_allowed_bars_is_stale() -> None:
    candles = pl.concat([_candles("a", "BTC", [1.0] * 10), _candles("a", "ETH", [1.0] * 6)])
    as_of = T0 + 10 * H + timedelta(minutes=5)  # bar 9 closed at 10:00

    stale = stale_symbols(candles, "1h", as_of, max_bars=3, symbols=["BTC", "ETH", "SOL"])

    assert stale.select("symbol", "bars_behind").rows() == [("ETH", 4), ("SOL", None)]


def test_fresh_symbols_are_not_stale() -> None:
    candles = _candles("a", "BTC", [1.0] * 10)

    stale = stale_symbols(candles, "1h", T0 + 10 * H, max_bars=0, symbols=["BTC"])

    assert stale.is_empty()


def test_duplicate_keys_lists_every_copy() -> None:
    rows = _candles("a", "BTC", [1.0, 2.0, 3.0])
    dupes = duplicate_keys(pl.concat([rows, rows[1:2]]), ("venue", "symbol", "ts"))

    assert dupes["ts"].to_list() == [T0 + H, T0 + H]


def test_a_price_spike_is_an_outlier_and_calm_bars_are_not() -> None:
    closes = [100.0 * (1.0 + 0.001 * ((i * 7) % 5 - 2)) for i in range(60)]
    closes[50] *= 1.2
    candles = _candles("a", "BTC", closes)

    outliers = return_outliers(candles, k=8.0, window=20)

    # The fall back at bar 51 is measured against a window that now holds the spike itself.
    assert outliers["ts"].to_list() == [T0 + 50 * H]


def test_a_constant_price_is_not_an_outlier_but_a_move_off_it_is() -> None:
    flat = _candles("a", "BTC", [100.0] * 40)
    moved = _candles("a", "ETH", [100.0] * 39 + [101.0])

    assert return_outliers(flat, k=8.0, window=20).is_empty()
    assert return_outliers(moved, k=8.0, window=20)["ts"].to_list() == [T0 + 39 * H]


def test_outliers_match_a_plain_loop_reference() -> None:
    closes = [100.0 + math.sin(i / 3.0) + (15.0 if i in (30, 44) else 0.0) for i in range(80)]
    candles = _candles("a", "BTC", closes)
    window, k = 12, 4.0

    fast = return_outliers(candles, k=k, window=window)["ts"].to_list()

    rets = [math.log(closes[i] / closes[i - 1]) for i in range(1, 80)]  # rets[i - 1]: bar i
    expected = []
    for i in range(1, 80):
        history = rets[max(0, i - 1 - window) : i - 1]
        if len(history) < max(10, window // 2):
            continue
        mean = sum(history) / len(history)
        std = math.sqrt(sum((r - mean) ** 2 for r in history) / (len(history) - 1))
        if abs(rets[i - 1] / std) > k:
            expected.append(T0 + i * H)
    assert fast == expected
    assert fast  # the crafted spikes are found


def test_venues_differing_beyond_the_threshold_diverge() -> None:
    candles = pl.concat(
        [
            _candles("a", "BTC", [100.0, 100.0, 100.0]),
            _candles("b", "BTC", [100.1, 103.0, 100.0]),
            _candles("b", "ETH", [5.0, 5.0, 5.0]),  # listed on one venue only: nothing to compare
        ]
    )

    diverging = cross_venue_divergence(candles, threshold=0.02)

    assert diverging.select("symbol", "ts", "low_venue", "high_venue").rows() == [
        ("BTC", T0 + H, "a", "b")
    ]
    assert diverging["divergence"][0] == pytest.approx(0.03)
