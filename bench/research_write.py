"""Writing one chunk of research trades (32 strategies x 20 instruments x 2 years hourly, a
trade on ~45% of bars, as the trend sweep of ``bench/research_path.py`` trades): one row per
trade as research wrote them before (delta-rs's default writer, dictionary encoding tried on
every column), the same rows through ``Lake.replace`` today, and the stored form
(``research/trade_lists``, one row per strategy and instrument). Back to back in one process,
so the ratios hold under a shared machine's load.

    .venv/bin/python -m bench.research_write
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

STRATEGIES, INSTRUMENTS, BARS = 32, 20, 730 * 24


def main() -> None:
    from deltalake import write_deltalake

    from lake import catalog
    from lake.research_trades import flatten, trade_lists
    from lake.store import Lake

    rng = np.random.default_rng(0)
    ts = pl.datetime_range(
        pl.datetime(2023, 1, 1, time_zone="UTC"),
        pl.datetime(2023, 1, 1, time_zone="UTC") + pl.duration(hours=BARS - 1),
        "1h",
        eager=True,
    ).dt.cast_time_unit("us")
    instruments = [("sim_bench", f"S{i}/USDT") for i in range(INSTRUMENTS)]
    chunks = []
    for k in range(STRATEGIES):
        trades = np.where(
            rng.random((BARS, INSTRUMENTS)) < 0.45, rng.normal(0, 0.01, (BARS, INSTRUMENTS)), 0.0
        )
        positions = np.cumsum(trades, axis=0)
        chunks.append(trade_lists(f"s{k:03d}", instruments, ts, trades, positions))
    lists = pl.concat(chunks)
    rows = flatten(lists)
    print(f"{rows.height:,} trades, {lists.height:,} list rows")
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        write_deltalake(
            str(Path(tmp) / "default"), rows.to_arrow(), mode="overwrite", partition_by=["strategy"]
        )
        default_s = time.perf_counter() - began
        lake = Lake(Path(tmp) / "lake")
        began = time.perf_counter()
        lake.replace(catalog.research_trades(), rows, "strategy", keys_unique=True)
        rows_s = time.perf_counter() - began
        began = time.perf_counter()
        lake.replace(catalog.research_trade_lists(), lists, "strategy", keys_unique=True)
        lists_s = time.perf_counter() - began
    print(f"one row per trade, delta-rs defaults (before):    {default_s:.2f}s")
    print(f"one row per trade, Lake.replace (text-only dict): {rows_s:.2f}s")
    print(f"research/trade_lists, Lake.replace:               {lists_s:.2f}s")
    print(f"before / now = {default_s / lists_s:.1f}x (load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
