"""Ingestion benchmark: ratios measured in one run, never absolute timings in tests.

(a) rows/s of Keel's normalize + validate + upsert of candles, against a plain pyarrow parquet
    write of the same rows (goal: at least 0.4x).
(b) time to upsert one new day into a table holding 1 year versus 5 years of hourly candles for
    30 instruments on 3 venues (goal: ratio at most 1.2 — cost follows new rows, not table size).

Run: ``make bench`` (or ``.venv/bin/python -m bench.ingest [--quick]``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from bench.timing import best_of
from lake import catalog
from lake.store import Lake

VENUES = ("v_alpha", "v_beta", "v_gamma")
SYMBOLS = tuple(f"C{i:02d}/USDT" for i in range(30))
BASE_DAY = date(2019, 1, 1)


def raw_rows(first_day: date, days: int, timeframe_minutes: int = 60) -> pl.DataFrame:
    """What a venue hands back before normalization: epoch-ms timestamps, float OHLCV, tidy."""
    bars = days * 1440 // timeframe_minutes
    n = len(VENUES) * len(SYMBOLS) * bars
    rng = np.random.default_rng(0)
    start_ms = (
        int(datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC).timestamp()) * 1000
    )
    ts = start_ms + np.tile(
        np.arange(bars, dtype=np.int64) * timeframe_minutes * 60_000, len(VENUES) * len(SYMBOLS)
    )
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    open_ = close * np.exp(rng.normal(0, 0.001, n))
    spread = np.abs(rng.normal(0, 0.002, n))
    return pl.DataFrame(
        {
            "venue": np.repeat(np.array(VENUES), len(SYMBOLS) * bars),
            "symbol": np.tile(np.repeat(np.array(SYMBOLS), bars), len(VENUES)),
            "ts_ms": ts,
            "open": open_,
            "high": np.maximum(open_, close) * (1 + spread),
            "low": np.minimum(open_, close) * (1 - spread),
            "close": close,
            "volume": np.abs(rng.normal(1000, 100, n)),
        }
    )


def normalize(raw: pl.DataFrame, timeframe: str) -> pl.DataFrame:
    """Keel's normalization of venue rows into the lake layout."""
    return raw.select(
        "venue",
        "symbol",
        pl.lit(timeframe).alias("timeframe"),
        pl.from_epoch("ts_ms", time_unit="ms")
        .dt.cast_time_unit("us")
        .dt.replace_time_zone("UTC")
        .alias("ts"),
        pl.from_epoch("ts_ms", time_unit="ms").dt.date().alias("date"),
        "open",
        "high",
        "low",
        "close",
        "volume",
    )


def bench_throughput(root: Path, days: int, repeats: int) -> tuple[int, float, float]:
    """Keel's MERGE of ``days`` of new candles into a table that already holds the ``days``
    before them, against pyarrow writing the same rows to a fresh parquet file."""
    history = normalize(raw_rows(BASE_DAY, days), "1h")
    raw = raw_rows(BASE_DAY + timedelta(days=days), days)
    spec = catalog.candles("1h")
    counter = iter(range(10_000))
    lakes = []
    for _ in range(repeats + 1):
        lake = Lake(root / f"keel_{next(counter)}")
        lake.upsert(spec, history)
        lakes.append(Lake(lake.root))
    targets = iter(lakes)

    def keel() -> None:
        next(targets).upsert(spec, normalize(raw, "1h"))

    def baseline() -> None:
        table = normalize(raw, "1h").to_arrow()
        pq.write_table(table, root / f"plain_{next(counter)}.parquet")

    keel()  # warm caches (first imports, rule building) outside the timing
    baseline()
    return raw.height, best_of(repeats, keel), best_of(repeats, baseline)


def history_days(years: int) -> int:
    """Whole calendar years plus 14 days, so the new day lands mid-month (the month's Delta
    file then already holds two weeks) at the same day of month for every table size."""
    return (date(BASE_DAY.year + years, 1, 15) - BASE_DAY).days


def build_history(root: Path, years: int) -> Lake:
    """A table of ``years`` of hourly candles, 30 instruments × 3 venues, written directly."""
    from deltalake import write_deltalake

    lake = Lake(root / f"hist_{years}y")
    spec = catalog.candles("1h")
    days = history_days(years)
    step = 365
    for first in range(0, days, step):
        part = normalize(raw_rows(BASE_DAY + timedelta(days=first), min(step, days - first)), "1h")
        part = part.with_columns(spec.derived_columns())
        write_deltalake(
            lake.uri(spec), part.to_arrow(), partition_by=list(spec.partition_by), mode="append"
        )
    return lake


def bench_new_day(root: Path, repeats: int, cold: bool) -> tuple[float, float]:
    """Median time to upsert one new day, alternating between the two tables so that machine
    noise hits both alike; one untimed warm-up write each. ``cold`` opens the table afresh for
    every write (a new process); otherwise the writer keeps its table handle (a long run)."""
    spec = catalog.candles("1h")
    lakes = {years: build_history(root / ("cold" if cold else "warm"), years) for years in (1, 5)}
    samples: dict[int, list[float]] = {1: [], 5: []}
    for i in range(repeats + 1):
        for years, lake in lakes.items():
            new_day = BASE_DAY + timedelta(days=history_days(years) + i)
            rows = normalize(raw_rows(new_day, 1), "1h")
            writer = Lake(lake.root) if cold else lake
            began = time.perf_counter()
            writer.upsert(spec, rows)
            if i > 0:
                samples[years].append(time.perf_counter() - began)
    return statistics.median(samples[1]), statistics.median(samples[5])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    days = 10 if args.quick else 60
    repeats = 2 if args.quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rows, keel_s, plain_s = bench_throughput(root, days, repeats)
        print(
            f"(a) {rows:,} new hourly candles: keel normalize+validate+MERGE {keel_s:.3f}s "
            f"({rows / keel_s:,.0f} rows/s), pyarrow parquet write {plain_s:.3f}s "
            f"({rows / plain_s:,.0f} rows/s)"
        )
        print(f"    ratio keel/plain throughput = {plain_s / keel_s:.2f}x (goal >= 0.4x)")
        for cold in (False, True):
            one, five = bench_new_day(root, repeats=3 if args.quick else 9, cold=cold)
            how = "table opened per write" if cold else "writer keeps its table open"
            print(
                f"(b) upsert one new day ({len(VENUES) * len(SYMBOLS) * 24} rows), {how}: "
                f"1-year table {one:.3f}s, 5-year table {five:.3f}s"
            )
            print(f"    ratio 5y/1y = {five / one:.2f} (goal <= 1.2)")


if __name__ == "__main__":
    main()
