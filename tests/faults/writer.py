"""A writer process for the race tests: waits for a start time, then upserts 48 hourly candles
into a lake (``python -m tests.faults.writer ROOT START_EPOCH``)."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta

import polars as pl

from lake import catalog
from lake.store import Lake
from trading import frames

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def candles(venue: str = "a", hours: int = 48) -> pl.DataFrame:
    """``hours`` flat hourly bars of BTC/USDT on ``venue`` from 2024-03-01."""
    ts = [T0 + timedelta(hours=h) for h in range(hours)]
    return frames.conform(
        pl.DataFrame(
            {
                "venue": venue,
                "symbol": "BTC/USDT",
                "timeframe": "1h",
                "ts": ts,
                "date": [t.date() for t in ts],
                "open": 100.0,
                "high": 101.0,
                "low": 99.0,
                "close": 100.0,
                "volume": 1.0,
            }
        ),
        frames.CANDLES,
    )


if __name__ == "__main__":
    root, start = sys.argv[1], float(sys.argv[2])
    frame = candles()
    while time.time() < start:
        time.sleep(0.001)
    Lake(root).upsert(catalog.candles("1h"), frame)
