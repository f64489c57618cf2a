"""Research benchmark: 200 strategies (a moving-average crossover grid) × 20 instruments ×
17,520 hourly bars, fees included, end to end from a Delta feature table to results written.

Timed in the same run against a plain numpy kernel of the same rules, and against vectorbt on
the same grid when a Python with vectorbt is given (its dependencies conflict with Keel's, so it
lives in its own environment):

    python3.11 -m venv /tmp/vbt && /tmp/vbt/bin/pip install vectorbt
    .venv/bin/python -m bench.research --vectorbt-python /tmp/vbt/bin/python

Goals: at least 20x faster than vectorbt, at most 2x the numpy kernel, peak memory at most 4 GB.
Strategies are long-only (weight 1/20 per instrument while fast MA > slow MA), as vectorbt's
``from_signals`` trades them, with a 0.1% fee per trade.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from lake.catalog import TableSpec
from lake.store import Lake
from trading import frames
from trading.backtest.batch import backtest_many
from trading.backtest.engine import InstrumentCosts, Market, Result, Settings, run
from trading.backtest.metrics import metrics
from trading.costs import VenueCosts

FAST = list(range(5, 55, 5))  # 10
SLOW = list(range(60, 460, 20))  # 20
FEE = 0.001
N, T = 20, 17_520

CLOSE_SPEC = TableSpec(
    name="bench/closes",
    layout={
        "venue": pl.String(),
        "symbol": pl.String(),
        "ts": frames.UTC_TS,
        "date": pl.Date(),
        "close": pl.Float64(),
    },
    key=("venue", "symbol", "ts"),
    partition_by=("venue", "month"),
    rules_factory=list,
)
RESULT_SPEC = TableSpec(
    name="bench/results",
    layout={
        "strategy": pl.String(),
        "sharpe": pl.Float64(),
        "total_return": pl.Float64(),
        "max_drawdown": pl.Float64(),
        "turnover": pl.Float64(),
    },
    key=("strategy",),
    partition_by=(),
    rules_factory=list,
)


def synthetic_closes() -> np.ndarray:
    rng = np.random.default_rng(42)
    returns = rng.standard_t(4, (T, N)) * 0.006 / np.sqrt(2) + 0.00002
    close: np.ndarray = 100.0 * np.exp(np.cumsum(returns, axis=0))
    return close


def moving_averages(close: np.ndarray, windows: list[int]) -> dict[int, np.ndarray]:
    """Trailing means via cumulative sums; NaN until a window is full."""
    csum = np.vstack([np.zeros((1, close.shape[1])), np.cumsum(close, axis=0)])
    out = {}
    for w in windows:
        ma = np.full_like(close, np.nan)
        ma[w - 1 :] = (csum[w:] - csum[:-w]) / w
        out[w] = ma
    return out


def keel(lake: Lake, workers: int | None = None) -> tuple[float, int]:
    """Read the Delta table, backtest every strategy with Keel's engine, write the results."""
    warm_up()
    began = time.perf_counter()
    table = lake.scan(CLOSE_SPEC).select("symbol", "ts", "close").collect()
    wide = table.pivot(on="symbol", index="ts", values="close").sort("ts")
    symbols = sorted(c for c in wide.columns if c != "ts")
    close = wide.select(symbols).to_numpy()
    market = Market(
        ts=wide["ts"].to_numpy(),
        instruments=[("bench", s) for s in symbols],
        close=close,
        quote_volume=np.full_like(close, 1e12),  # deep: fees only, as vectorbt charges
        funding=np.zeros_like(close),
        costs=InstrumentCosts.uniform(len(symbols), VenueCosts(FEE, FEE, 0.0, 0.0)),
        bars_per_year=8760.0,
    )
    mas = moving_averages(close, FAST + SLOW)
    benchmark = market.returns[:, 0]
    grid = [(fast, slow) for fast in FAST for slow in SLOW]

    def weights(fast: int, slow: int) -> Callable[[], np.ndarray]:
        return lambda: (mas[fast] > mas[slow]) * (1.0 / N)

    def reduce(i: int, result: Result) -> dict[str, object]:
        m = metrics(result, benchmark, market.bars_per_year)
        keep = ("sharpe", "total_return", "max_drawdown", "turnover")
        return {"strategy": f"ma_{grid[i][0]}_{grid[i][1]}", **{k: m[k] for k in keep}}

    strategies = [weights(f, s) for f, s in grid]
    rows = backtest_many(market, strategies, reduce, Settings(capital=1.0), workers=workers)
    lake.upsert(RESULT_SPEC, pl.DataFrame([r for r in rows if isinstance(r, dict)]))
    return time.perf_counter() - began, len(rows)


def warm_up() -> None:
    """Load the compiled account from numba's cache (or compile it) before timing, as the
    vectorbt side warms its JIT up first."""
    tiny = Market(
        ts=np.arange(3).astype("datetime64[h]"),
        instruments=[("w", "W")],
        close=np.ones((3, 1)),
        quote_volume=np.ones((3, 1)),
        funding=np.zeros((3, 1)),
        costs=InstrumentCosts.uniform(1, VenueCosts(0.0, 0.0, 0.0, 0.0)),
        bars_per_year=365.0,
    )
    run(tiny, np.zeros((3, 1)))


def numpy_kernel(close: np.ndarray) -> tuple[float, np.ndarray]:
    """The same rules in plain numpy, no I/O: the floor for an in-memory implementation."""
    began = time.perf_counter()
    mas = moving_averages(close, FAST + SLOW)
    returns = np.nan_to_num(close[1:] / close[:-1] - 1.0)
    finals = []
    for fast in FAST:
        for slow in SLOW:
            weights = (mas[fast] > mas[slow]) * (1.0 / N)
            positions = np.vstack([np.zeros((1, N)), weights[:-1]])
            trades = np.abs(np.diff(positions, axis=0, prepend=0.0)).sum(axis=1)
            net = np.r_[0.0, (positions[1:] * returns).sum(axis=1)] - trades * FEE
            finals.append(np.prod(1.0 + net))
    return time.perf_counter() - began, np.array(finals)


VBT_SCRIPT = """
import json, sys, time
import numpy as np, pandas as pd, vectorbt as vbt
close = pd.DataFrame(np.load(sys.argv[1]))
close.index = pd.date_range("2022-01-01", periods=len(close), freq="h")
fast, slow, fee = json.loads(sys.argv[2]), json.loads(sys.argv[3]), float(sys.argv[4])
n = close.shape[1]
# Warm up numba's compilation on a tiny input, so only the real work is timed.
tiny = close.iloc[:50, :2]
vbt.Portfolio.from_signals(tiny, tiny > tiny.mean(), tiny < tiny.mean(), fees=fee,
                           size=0.5, size_type="percent", freq="1h").total_return()
vbt.MA.run(tiny, window=[2, 3]).ma
began = time.perf_counter()
ma = vbt.MA.run(close, window=sorted(set(fast + slow))).ma  # every window computed once
values = {w: ma.xs(w, level="ma_window", axis=1).values for w in sorted(set(fast + slow))}
entries = np.concatenate([values[f] > values[s] for f in fast for s in slow], axis=1)
exits = np.concatenate([values[f] <= values[s] for f in fast for s in slow], axis=1)
big = pd.DataFrame(np.tile(close.values, (1, len(fast) * len(slow))), index=close.index)
pf = vbt.Portfolio.from_signals(big, entries, exits, fees=fee, size=1.0 / n,
                                size_type="percent", freq="1h")
total = pf.total_return()
print(time.perf_counter() - began)
"""


def vectorbt(python: str, close: np.ndarray) -> float | None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "close.npy"
        np.save(data, close)
        script = Path(tmp) / "vbt.py"
        script.write_text(VBT_SCRIPT)
        out = subprocess.run(
            [python, str(script), str(data), json.dumps(FAST), json.dumps(SLOW), str(FEE)],
            capture_output=True,
            text=True,
            timeout=3600,
        )
        if out.returncode != 0:
            print(f"vectorbt failed: {out.stderr[-800:]}")
            return None
        return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vectorbt-python", help="a Python interpreter with vectorbt installed")
    parser.add_argument(
        "--workers", type=int, help="threads for Keel's backtests (default: every core)"
    )
    args = parser.parse_args()
    close = synthetic_closes()
    start = int(datetime(2022, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)
    ts = start + np.arange(T, dtype=np.int64) * 3_600_000_000
    frame = pl.DataFrame(
        {
            "venue": "bench",
            "symbol": np.repeat([f"C{i:02d}/USDT" for i in range(N)], T),
            "ts": pl.Series(np.tile(ts, N)).cast(frames.UTC_TS),
            "close": close.T.reshape(-1),
        }
    ).with_columns(date=pl.col("ts").dt.date())
    with tempfile.TemporaryDirectory() as tmp:
        lake = Lake(tmp)
        lake.upsert(CLOSE_SPEC, frame)
        keel_s, strategies = keel(lake, args.workers)
        peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    numpy_s, _ = numpy_kernel(close)
    print(f"{strategies} strategies x {N} instruments x {T:,} bars, fee {FEE:.1%}")
    print(
        f"keel (Delta read -> engine -> results written): {keel_s:.2f}s, peak RSS {peak_gb:.2f} GB"
    )
    print(f"numpy kernel (in memory):                      {numpy_s:.2f}s")
    print(f"    keel / numpy = {keel_s / numpy_s:.2f}x (goal <= 2x); peak memory goal <= 4 GB")
    cores = f"{args.workers} worker thread(s)" if args.workers else "every core"
    print(f"    (keel runs strategies on {cores}; the numpy kernel and vectorbt use one core)")
    if args.vectorbt_python:
        vbt_s = vectorbt(args.vectorbt_python, close)
        if vbt_s is not None:
            print(f"vectorbt (from_signals, same grid, JIT warm):  {vbt_s:.2f}s")
            print(f"    vectorbt / keel = {vbt_s / keel_s:.1f}x (goal >= 20x)")
    else:
        print("vectorbt: not measured (pass --vectorbt-python)")


if __name__ == "__main__":
    main()
