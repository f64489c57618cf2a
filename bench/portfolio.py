"""Ideas and portfolio benchmark: 1,000 ideas, 200 strategies, 2 years of hourly bars.

Goals (issue 15): ``keel idea list`` answers in at most 1 s with 1,000 ideas; the portfolio and
the regime report over 2 years hourly (17,520 bars) of 200 strategies take at most 10 s.
Measured three ways, in one run:

- ``keel idea list`` as a user runs it (a fresh process: interpreter start and imports included);
- the analysis alone (``trading.portfolio.book.analyse``: regime labels, rolling HRP weights,
  the netted backtest over 29 instruments, the block-bootstrap report, clusters, marginal
  effects of 100 candidates on a portfolio of 100);
- end to end from the lake (read research returns, positions, BTC closes; analyse; overwrite
  the portfolio and regime tables; write the HTML chart), as the asset and
  ``keel report regimes`` do.

Printed as seconds and as the fraction of each goal.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from lake import catalog
from lake.ideas import IdeaBook
from lake.research_trades import to_lists
from lake.store import Lake
from trading.config import load_config
from trading.ideas.pipeline import Idea, new_idea
from trading.ideas.stages import Move
from trading.portfolio.book import analyse

IDEAS, STRATEGIES, MEMBERS, BARS, INSTRUMENTS = 1_000, 200, 100, 17_520, 29
START = datetime(2024, 11, 1, tzinfo=UTC)


def seed_ideas(lake: Lake) -> None:
    """1,000 ideas; 200 of them name a strategy and move on: 100 to paper or live."""
    book = IdeaBook(lake)
    at = START
    items = [
        new_idea(
            Idea(
                f"idea{i:04d}",
                f"hypothesis {i}",
                "bench",
                ("bench",),
                strategy=f"s{i:03d}" if i < STRATEGIES else "",
            ),
            at,
        )
        for i in range(IDEAS)
    ]
    book.add_many(items)
    moves = []
    for i in range(STRATEGIES):
        path = ["idea", "research", "paper"] + (["live"] if i % 4 == 0 else [])
        path = path if i < MEMBERS else path[:2]
        for seq, (a, b) in enumerate(itertools.pairwise(path), start=1):
            moves.append(Move(f"idea{i:04d}", seq, at, a, b, "bench", capital=10_000.0))
    book.record(moves)


def synthetic(rng: np.random.Generator) -> tuple[pl.Series, np.ndarray, np.ndarray]:
    """Hourly timestamps, BTC closes, and 200 strategies' returns (correlated in groups)."""
    ts = pl.Series("ts", [START + timedelta(hours=h) for h in range(BARS)]).dt.cast_time_unit("us")
    btc = 30_000 * np.exp(np.cumsum(rng.normal(0, 0.006, BARS)))
    groups = rng.normal(0, 0.003, (BARS, 20))
    returns = groups[:, np.arange(STRATEGIES) % 20] + rng.normal(0.00002, 0.004, (BARS, STRATEGIES))
    return ts, btc, returns


def positions(name: str) -> np.ndarray:
    """A strategy's positions: changes every ~24 bars, held between."""
    rng = np.random.default_rng(int(name[1:]))
    changes = rng.normal(0, 0.05, (BARS // 24 + 1, INSTRUMENTS))
    return np.repeat(changes, 24, axis=0)[:BARS]


def write_research(lake: Lake, ts: pl.Series, returns: np.ndarray) -> None:
    """research/equity and research/trades of the 200 strategies, as research writes them."""
    names = [f"s{i:03d}" for i in range(STRATEGIES)]
    equity = pl.concat(
        pl.DataFrame(
            {
                "strategy": n,
                "ts": ts,
                "net_return": returns[:, j],
                "equity": np.cumprod(1 + returns[:, j]),
                "drawdown": 0.0,
                "gross_exposure": 1.0,
            }
        )
        for j, n in enumerate(names)
    )
    lake.replace(catalog.research_equity(), equity, "strategy")
    day = ts.gather(np.arange(0, BARS, 24))
    trades = pl.concat(
        pl.DataFrame(
            {
                "strategy": n,
                "venue": "sim_alpha",
                "symbol": f"X{k}/USDT",
                "ts": day,
                "trade": 0.0,
                "position": positions(n)[::24, k],
            }
        )
        for n in names[:MEMBERS]
        for k in range(INSTRUMENTS)
    )
    lake.replace(catalog.research_trade_lists(), to_lists(trades), "strategy")


def main() -> None:
    config = load_config()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        lake = Lake(Path(tmp) / "lake")
        began = time.perf_counter()
        seed_ideas(lake)
        print(f"seeded {IDEAS} ideas and their moves in {time.perf_counter() - began:.1f}s")
        env = {**os.environ, "KEEL_LAKE": lake.root}
        keel = str(Path(sys.executable).parent / "keel")
        times = []
        for _ in range(3):
            began = time.perf_counter()
            subprocess.run([keel, "idea", "list"], env=env, check=True, capture_output=True)
            times.append(time.perf_counter() - began)
        listing = min(times)
        began = time.perf_counter()
        IdeaBook(lake).pipeline()
        read = time.perf_counter() - began
        print(
            f"keel idea list, 1,000 ideas: {listing:.2f}s as a fresh process "
            f"({listing / 1.0:.0%} of the 1 s goal); reading the pipeline alone {read:.3f}s"
        )

        ts, btc, returns = synthetic(rng)
        names = [f"s{i:03d}" for i in range(STRATEGIES)]
        members = names[:MEMBERS]
        fee = np.full(INSTRUMENTS, 0.0005)
        began, cpu = time.perf_counter(), time.process_time()
        book = analyse(
            ts, names, returns, members, btc, 24.0, config.regimes, config.portfolio, positions, fee
        )
        pure, pure_cpu = time.perf_counter() - began, time.process_time() - cpu
        print(
            f"analysis, {STRATEGIES} strategies x {BARS} bars ({MEMBERS} in the portfolio): "
            f"{pure:.2f}s wall, {pure_cpu:.2f}s CPU ({pure / 10:.0%} of the 10 s goal); "
            f"report rows {book.report.height}"
        )

        write_research(lake, ts, returns)
        candles = pl.DataFrame(
            {
                "venue": "sim_alpha",
                "symbol": "BTC/USDT",
                "timeframe": "1h",
                "ts": ts,
                "date": ts.dt.date(),
                "open": btc,
                "high": btc,
                "low": btc,
                "close": btc,
                "volume": 1.0,
            }
        )
        lake.upsert(catalog.candles("1h"), candles)
        from assets.pipeline_inputs import load_book
        from assets.portfolio_metadata import write_book

        os.environ["KEEL_REPORTS"] = str(Path(tmp) / "reports")
        began, cpu = time.perf_counter(), time.process_time()
        loaded = load_book(lake, config, names)
        assert loaded is not None
        write_book(lake, config, loaded)
        total, total_cpu = time.perf_counter() - began, time.process_time() - cpu
        print(
            f"end to end from the lake (read, analyse, write tables and chart): {total:.2f}s "
            f"wall, {total_cpu:.2f}s CPU ({total / 10:.0%} of the 10 s goal)"
        )
        print(
            f"machine load average while measuring: {os.getloadavg()[0]:.1f} on "
            f"{os.cpu_count()} cores (CPU time is what the work needs)"
        )


if __name__ == "__main__":
    main()
