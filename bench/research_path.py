"""The research path users run: 200 registered strategies (the built-in models plus a sweep)
× 20 instruments × 2 years of hourly bars, through the research job as ``keel research`` runs
it (Dagster run with a SQLite instance, features read from Delta, model registry targets,
pivots, the compiled engine, metrics, reports, results history written to Delta, leaderboard).

Timed in the same run against:
- the engine alone on the same 200 weight matrices (computed beforehand, untimed): goal, the
  full path at most 3x that;
- the same research code without Dagster (``run_research`` called directly), which splits the
  path's time into Dagster's share and Keel's;
- vectorbt on the same 200 weight matrices (``from_orders``, target percent, one cash-sharing
  group per strategy, JIT warm), when a Python with vectorbt is given: goal, Keel's full path
  at least 20x faster.

    .venv/bin/python -m bench.research_path [--vectorbt-python /tmp/vbt/bin/python]
        [--lake-dir /tmp/keel-bench-lake]

``--lake-dir`` keeps the prepared lake (candles, funding, instruments, features: ~2-4 min to
build) in that folder and reuses it on the next run; results of earlier runs stay in its
research tables (history), which the timings do not depend on.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

SYMBOLS = [
    f"{base}/USDT{suffix}"
    for suffix in ("", ":USDT")
    for base in ("BTC", "ETH", "SOL", "BNB", "XRP", "DOGE", "ADA", "AVAX", "LINK", "LTC")
]
START = datetime(2023, 1, 1, tzinfo=UTC)
DAYS = 730
TOTAL = 200

CONFIG = f"""
[data]
history_start = "{START.date()}"
timeframes = ["1h"]

[[venues]]
kind = "sim"
name = "sim_bench"
instruments = {SYMBOLS!r}
"""


def register_sweep(total: int) -> None:
    """A trend-like model with a sweep that brings the registry to ``total`` strategies."""
    from trading.models import registry
    from trading.models.library.trend import TrendParams, trend

    existing = len(registry.strategies())
    need = total - existing - 1  # the default point counts once
    scales = [round(0.01 + 0.02 * k, 2) for k in range(need)]  # never the default 0.5
    registry.model(
        "bench_sweep", TrendParams, features=["ret_168", "vol_168"], sweep={"scale": scales}
    )(lambda features, p: trend(features, p))
    registry._by_name.cache_clear()
    assert len(registry.strategies()) == total, len(registry.strategies())


def fill_lake(root: Path, config_path: Path) -> tuple[Any, Any]:
    """Two years of candles, funding and instruments of one simulated venue, and every
    registered feature, written through the lake's validated upserts."""
    from lake import catalog
    from lake.store import Lake
    from trading.config import load_config
    from trading.features.inputs import feature_input
    from trading.features.registry import compute_features, registered_features
    from trading.venues.factory import build_venue

    config = load_config(config_path)
    venue = build_venue(config.venues[0], config, state_dir=root / "sim")
    lake = Lake(root / "lake")
    end = START + timedelta(days=DAYS)
    candles = pl.concat([venue.fetch_candles(s, "1h", START, end) for s in SYMBOLS])
    funding = pl.concat([venue.fetch_funding_rates(s, START, end) for s in SYMBOLS if ":" in s])
    spec = catalog.instruments()
    instruments = pl.DataFrame(
        [{f: getattr(i, f) for f in spec.layout} for i in venue.instruments()],
        schema=dict(spec.layout),
    )
    lake.upsert(catalog.candles("1h"), candles)
    lake.upsert(catalog.funding_rates(), funding)
    lake.upsert(spec, instruments)
    registry = registered_features()
    features = compute_features(feature_input(candles, funding, "1h"), registry.values())
    lake.upsert(catalog.features("1h", list(registry)), features)
    return config, lake


def engine_only(lake: Any, config: Any, names: list[str]) -> tuple[float, list[np.ndarray]]:
    """The engine and metrics alone on the 200 weight matrices, built beforehand."""
    from assets.research_run import load_market
    from trading.backtest.batch import backtest_many
    from trading.backtest.engine import plan_targets
    from trading.backtest.metrics import metrics
    from trading.backtest.setup import benchmark, settings
    from trading.models.registry import strategy

    features, _, market = load_market(lake, config)
    plans = [plan_targets(market, strategy(n).targets(features)) for n in names]
    bench = benchmark(market)
    began = time.perf_counter()

    def constant(plan: Any) -> Callable[[], Any]:
        return lambda: plan

    backtest_many(
        market,
        [constant(p) for p in plans],
        lambda i, r: metrics(r, bench, market.bars_per_year),
        settings(config),
    )
    elapsed = time.perf_counter() - began
    return elapsed, [_per_column(m, g, market.close.shape[1]) for m, g in plans]


def _per_column(matrix: np.ndarray, groups: np.ndarray, columns: int) -> np.ndarray:
    """A target plan as per-column weights for vectorbt: a venue-neutral target spread evenly
    over its venues (NaN, no signal, stays NaN)."""
    out = np.full((matrix.shape[0], columns), np.nan)
    for k, row in enumerate(groups):
        legs = [int(c) for c in row if c >= 0]
        for c in legs:
            out[:, c] = matrix[:, k] / len(legs)
    return out


VBT = """
import sys, time
import numpy as np, pandas as pd, vectorbt as vbt
close = np.load(sys.argv[1]); weights = np.load(sys.argv[2], mmap_mode="r")
fee = float(sys.argv[3])
s, t, n = weights.shape
tiny = pd.DataFrame(close[:50, :2])
vbt.Portfolio.from_orders(tiny, np.full((50, 2), 0.5), size_type="targetpercent", fees=fee,
    group_by=[0, 0], cash_sharing=True, freq="1h").total_return()
began = time.perf_counter()
price = pd.DataFrame(np.tile(close, (1, s)), index=pd.date_range("2023-01-01", periods=t, freq="h"))
size = np.concatenate([weights[i] for i in range(s)], axis=1)
pf = vbt.Portfolio.from_orders(price, size, size_type="targetpercent", fees=fee,
    group_by=np.repeat(np.arange(s), n), cash_sharing=True, call_seq="auto", freq="1h")
pf.sharpe_ratio(); pf.total_return(); pf.max_drawdown()
print(time.perf_counter() - began)
"""


def vectorbt(python: str, close: np.ndarray, grids: list[np.ndarray], fee: float) -> float | None:
    """vectorbt's time on the same weights (prices forward-filled, as it needs)."""
    with tempfile.TemporaryDirectory() as tmp:
        filled = pl.DataFrame(close).fill_null(strategy="forward").fill_null(1.0).to_numpy()
        np.save(Path(tmp) / "close.npy", filled)
        np.save(Path(tmp) / "w.npy", np.stack(grids))
        (Path(tmp) / "vbt.py").write_text(VBT)
        args = [python, f"{tmp}/vbt.py", f"{tmp}/close.npy", f"{tmp}/w.npy", str(fee)]
        out = subprocess.run(args, capture_output=True, text=True, timeout=7200)
        if out.returncode != 0:
            print(f"vectorbt failed: {out.stderr[-800:]}")
            return None
        return float(out.stdout.strip().splitlines()[-1])


def prepared_lake(root: Path) -> tuple[Any, Any]:
    """The bench's lake under ``root``: reused when an earlier run left it complete there,
    else filled (and marked complete)."""
    from lake.store import Lake
    from trading.config import load_config

    config_path = root / "keel.toml"
    done = root / "lake.ready"
    if done.exists() and config_path.read_text() == CONFIG:
        print(f"lake reused from {root}")
        return load_config(config_path), Lake(root / "lake")
    root.mkdir(parents=True, exist_ok=True)
    config_path.write_text(CONFIG)
    began = time.perf_counter()
    config, lake = fill_lake(root, config_path)
    done.write_text("ok\n")
    print(f"lake filled in {time.perf_counter() - began:.1f}s (not part of the timings)")
    return config, lake


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vectorbt-python", help="a Python interpreter with vectorbt installed")
    parser.add_argument("--lake-dir", help="keep the prepared lake here and reuse it next time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.lake_dir) if args.lake_dir else Path(tmp)
        scratch = Path(tmp)
        os.environ["KEEL_REPORTS"] = str(scratch / "reports")
        config_path = root / "keel.toml"
        config, lake = prepared_lake(root)
        register_sweep(TOTAL)

        from dagster import DagsterInstance

        from assets.research_run import run_research
        from assets.resources import KeelResource
        from orchestration.definitions import build_definitions
        from orchestration.schedules import range_tags
        from trading.models.registry import strategy_names

        names = list(strategy_names())
        engine_s, grids = engine_only(lake, config, names)  # also warms the compiled engine up
        print(f"engine + metrics alone: {engine_s:.2f}s {_load()}", flush=True)
        began, cpu = time.perf_counter(), time.process_time()
        run_research(lake, config, names, f"direct-{time.time_ns()}", scratch / "reports")
        direct_s, direct_cpu = time.perf_counter() - began, time.process_time() - cpu
        print(f"research code without Dagster: {direct_s:.2f}s {_load()}", flush=True)

        keel = KeelResource(
            config_path=str(config_path),
            lake_root=str(root / "lake"),
            sim_state_dir=str(root / "sim"),
        )
        (scratch / "dagster").mkdir(exist_ok=True)
        instance = DagsterInstance.local_temp(str(scratch / "dagster"))
        began, cpu = time.perf_counter(), time.process_time()
        job = build_definitions(config, str(config_path), keel).resolve_job_def("research")
        result = job.execute_in_process(
            instance=instance, tags=range_tags(names[0], names[-1]), raise_on_error=True
        )
        path_s, path_cpu = time.perf_counter() - began, time.process_time() - cpu
        print(f"research path: {path_s:.2f}s {_load()}", flush=True)
        assert result.success
        from lake import catalog

        run_rows = lake.scan(catalog.research_metrics()).filter(pl.col("run_id") == result.run_id)
        assert run_rows.collect().height == TOTAL
        closes = _closes(config, lake)

    print(f"{len(names)} strategies x {len(SYMBOLS)} instruments x {DAYS * 24:,} hourly bars")
    print(f"keel research path (Dagster run, SQLite events): {path_s:.2f}s")
    print(f"  same research code without Dagster:            {direct_s:.2f}s")
    print(f"  CPU time of this process: path {path_cpu:.1f}s, research code {direct_cpu:.1f}s")
    print(f"  engine + metrics alone on prepared weights:    {engine_s:.2f}s")
    print(f"    path / engine = {path_s / engine_s:.1f}x (goal <= 3x)")
    print(f"    Dagster's share {path_s - direct_s:.2f}s; Keel's research code {direct_s:.2f}s")
    if args.vectorbt_python:
        vbt_s = vectorbt(args.vectorbt_python, closes, grids, 0.0005)
        if vbt_s is not None:
            print(f"vectorbt from_orders on the same weights (JIT warm): {vbt_s:.2f}s {_load()}")
            print(f"    vectorbt / keel path = {vbt_s / path_s:.1f}x (goal >= 20x)")
    else:
        print("vectorbt: not measured (pass --vectorbt-python)")


def _load() -> str:
    """The machine's load average (1, 5, 15 min): timings here are wall clock."""
    return "(load {:.1f} {:.1f} {:.1f})".format(*os.getloadavg())


def _closes(config: Any, lake: Any) -> np.ndarray:
    from assets.research_run import load_market

    return np.asarray(load_market(lake, config)[2].close)


if __name__ == "__main__":
    main()
