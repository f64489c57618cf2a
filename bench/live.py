"""Trading latency: bar committed → orders at the paper venue, through the real trading sensor
and the trading job (in-process executor, SQLite instance), p50 and p99 over 50 bars; and the
decision step alone (read the tail, 200 strategies, net, route, risk). Goals: p99 <= 10 s,
decision step <= 1 s.

Run: ``.venv/bin/python -m bench.live [--bars 50] [--daemon]`` (``--daemon``: through the real
``dagster-daemon`` and run launcher, bench/live_daemon.py).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from bench.timing import best_of

KEEL_TOML = Path(__file__).resolve().parents[1] / "keel.toml"
LIVE = """
[live]
stale_bars = 1000000
strategies = [{strategies}]
"""


def _seed(config: object, lake: object, end: datetime, days: int) -> pl.DataFrame:
    """Candles and funding into the lake; the features of every bar, returned (not written)."""
    from lake import catalog
    from trading.features.inputs import feature_input
    from trading.features.registry import compute_features, registered_features
    from trading.venues.factory import build_venue

    start = end - timedelta(days=days)
    candles, funding = [], []
    for v in config.venues:  # type: ignore[attr-defined]
        venue = build_venue(v, config, clock=lambda: end)  # type: ignore[arg-type]
        for symbol in v.instruments:
            candles.append(venue.fetch_candles(symbol, "1h", start, end))
            if ":" in symbol:
                funding.append(venue.fetch_funding_rates(symbol, start - timedelta(days=1), end))
    bars, rates = pl.concat(candles), pl.concat(funding)
    lake.upsert(catalog.candles("1h"), bars)  # type: ignore[attr-defined]
    lake.upsert(catalog.funding_rates(), rates)  # type: ignore[attr-defined]
    registry = registered_features()
    return compute_features(feature_input(bars, rates, "1h"), registry.values())


@dataclass(frozen=True)
class Bench:
    """A temporary Keel: config deploying every built-in strategy on paper, a lake with the
    candles and the features before the measured bars, and those bars' features to commit."""

    tmp: Path
    config_path: Path
    lake: Any
    features: pl.DataFrame
    spec: Any
    bars: list[datetime]


def prepare(n_bars: int) -> Bench:
    """Seed a temporary lake for ``n_bars`` measured bars (the features of the bars before them
    committed, theirs held back)."""
    from lake import catalog
    from lake.store import Lake
    from trading.config import load_config
    from trading.features.registry import registered_features
    from trading.models.registry import strategy_names

    tmp = Path(tempfile.mkdtemp(prefix="keel-bench-live-"))
    names = [n for n in strategy_names() if "__" not in n]
    deployed = ", ".join(f'{{strategy = "{n}", capital = 10000.0}}' for n in names)
    path = tmp / "keel.toml"
    # Bars of the last days are committed one by one on today's clock: their closes are old.
    text = KEEL_TOML.read_text().replace(
        "max_price_age_seconds = 120", "max_price_age_seconds = 1e12"
    )
    path.write_text(text + LIVE.format(strategies=deployed))
    config = load_config(path)
    lake = Lake(tmp / "lake")
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    features = _seed(config, lake, now, 10)
    spec = catalog.features("1h", list(registered_features()))
    bars = sorted(set(features["ts"].to_list()))[-n_bars:]
    lake.upsert(spec, features.filter(pl.col("ts") < bars[0]))
    return Bench(tmp, path, lake, features, spec, bars)


def end_to_end(n_bars: int) -> list[float]:
    """Seconds from each bar's feature commit to its orders acknowledged at the paper venue
    (sensor evaluated and job executed in this process: no daemon, no run launcher)."""
    from dagster import DagsterInstance, build_sensor_context

    from assets.resources import KeelResource
    from lake.live import LakeJournal
    from orchestration.definitions import build_definitions
    from orchestration.sensors import TRADING_SENSOR
    from trading.config import load_config

    bench = prepare(n_bars)
    tmp, path, lake, features, spec, bars = (
        bench.tmp, bench.config_path, bench.lake, bench.features, bench.spec, bench.bars
    )  # fmt: skip
    config = load_config(path)
    keel = KeelResource(
        config_path=str(path), lake_root=str(tmp / "lake"), sim_state_dir=str(tmp / "sim")
    )
    definitions = build_definitions(config, str(path), keel)
    sensor = definitions.resolve_sensor_def(TRADING_SENSOR)
    job = definitions.resolve_job_def("trading")
    (tmp / "dagster").mkdir()
    instance = DagsterInstance.local_temp(str(tmp / "dagster"))
    quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    journal = LakeJournal(lake)
    cursor = None
    latencies = []
    for bar in bars:
        lake.upsert(spec, features.filter(pl.col("ts") == bar))
        committed = datetime.now(UTC)
        tick = sensor.evaluate_tick(
            build_sensor_context(instance=instance, cursor=cursor, resources={"keel": keel})
        )
        cursor = tick.cursor
        (request,) = tick.run_requests or []
        result = job.execute_in_process(instance=instance, tags=request.tags, run_config=quiet)
        assert result.success
        events = journal.read("order_events").filter(
            pl.col("bar") == bar, pl.col("event") != "intent"
        )
        last = events["at"].max() if events.height else datetime.now(UTC)
        assert isinstance(last, datetime)
        latencies.append((last - committed).total_seconds())
    return latencies


def decision_step(n_strategies: int) -> tuple[float, int]:
    """Best-of seconds of read tail + decide (n strategies) + net/route/risk, and orders."""
    from lake.live import read_bar
    from lake.store import Lake
    from trading.config import load_config
    from trading.execution.types import Mark
    from trading.live.config import Deployment
    from trading.live.decide import Deployed, decide
    from trading.live.route import Books, Contribution, plan_account
    from trading.models.registry import Strategy, registered_models, strategies

    tmp = Path(tempfile.mkdtemp(prefix="keel-bench-decide-"))
    config = load_config(KEEL_TOML)
    lake = Lake(tmp / "lake")
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    features = _seed(config, lake, now, 10)
    from lake import catalog
    from trading.features.registry import registered_features

    lake.upsert(catalog.features("1h", list(registered_features())), features)
    bar = features["ts"].max()
    assert isinstance(bar, datetime)
    trend = registered_models()["trend"]
    chosen = strategies()
    k = 0
    while len(chosen) < n_strategies:  # wide sweeps of trend, like bench.definitions_load
        k += 1
        params = trend.params.model_validate({"scale": 0.01 * k, "min_strength": 0.001 * k})
        chosen.append(Strategy(trend, params))
    deployed = [Deployed(s, Deployment(strategy=s.name, capital=1000.0)) for s in chosen]
    from trading.venues.factory import build_venue

    instruments = {
        (v.name, i.symbol): i
        for v in config.venues
        for i in build_venue(v, config, clock=lambda: now).instruments()
    }
    books = Books({}, {}, frozenset(), {v.name: True for v in config.venues}, frozenset())
    risk = config.risk.model_copy(update={"max_price_age_seconds": 1e12})
    orders = 0

    def step() -> None:
        nonlocal orders
        data = read_bar(lake, "1h", bar)
        targets, _ = decide(deployed, data.tail, bar, data.features_version)
        price = {s: p for (v, s), p in sorted(data.prices.items(), reverse=True)}
        price |= {f"{v}|{s}": p for (v, s), p in data.prices.items()}
        contributions = [
            Contribution(t["strategy"], "paper", t["venue"], t["symbol"], t["weight"], 1000.0, p)
            for t in targets.iter_rows(named=True)
            if (
                p := price.get(t["symbol"] if t["venue"] is None else f"{t['venue']}|{t['symbol']}")
            )
            is not None
        ]
        plan = plan_account(
            "paper", contributions, books, pl.DataFrame(), instruments, data.market,
            {k: Mark(p, bar + timedelta(hours=1)) for k, p in data.prices.items()}, risk,
            config.routing, now, bar,
        )  # fmt: skip
        orders = len(plan.orders)

    return best_of(5, step), orders


def main() -> None:
    parser = argparse.ArgumentParser(description="Trading latency (issue #12 item 10).")
    parser.add_argument("--bars", type=int, default=50)
    parser.add_argument("--strategies", type=int, default=200)
    parser.add_argument(
        "--daemon",
        action="store_true",
        help="through dagster-daemon, its code server and the run launcher (real processes)",
    )
    parser.add_argument(
        "--dequeue-seconds",
        type=int,
        default=None,
        help="with --daemon: run_queue.dequeue_interval_seconds of the temporary instance "
        "(default: the project's dagster.yaml)",
    )
    args = parser.parse_args()
    began = time.perf_counter()
    seconds, orders = decision_step(args.strategies)
    print(
        f"decision step: read tail + {args.strategies} strategies + net/route/risk: "
        f"{seconds * 1000:.0f} ms ({orders} orders; goal <= 1000 ms)",
        flush=True,
    )
    if args.daemon:
        from bench.live_daemon import daemon_latencies, report

        for line in report(daemon_latencies(args.bars, args.dequeue_seconds)):
            print(line)
    else:
        lat = sorted(end_to_end(args.bars))
        p50 = statistics.median(lat)
        p99 = lat[min(len(lat) - 1, round(0.99 * (len(lat) - 1)))]
        print(
            f"bar committed -> orders at the paper venue over {len(lat)} bars (sensor tick + "
            f"trading job, in-process): p50 {p50:.2f}s, p99 {p99:.2f}s, max {lat[-1]:.2f}s "
            f"(goal p99 <= 10 s; without the daemon's tick and the run launcher: --daemon)"
        )
    print(f"bench.live took {time.perf_counter() - began:.0f}s")


if __name__ == "__main__":
    main()
