"""Trading latency through the real daemon and run launcher: ``dagster-daemon run`` on the Keel
code location (as ``make ui`` serves it) with a SQLite instance in a temporary DAGSTER_HOME, the
``trading_on_new_bar`` sensor turned on as an operator would (``dagster sensor start``), then
features committed one bar at a time. Per bar: commit → sensor tick → run queued → run launched
→ run process started → trading step started → last order acknowledged at the paper venue (the
journal's order events).

Every process started here (the daemon, its code server and the runs it launches) shares one
process group, ended on exit, Ctrl-C, SIGTERM or failure.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# Milestones of a bar, in order, after the commit (seconds since the epoch).
MILESTONES = ("tick", "queued", "launched", "run_start", "step_start", "orders", "run_end")
STAGES = {
    "tick": "commit -> sensor tick (waiting for the daemon's sensor loop)",
    "queued": "sensor tick -> run queued (sensor evaluated in the code server)",
    "launched": "run queued -> launched (waiting for the run queue's dequeue loop)",
    "run_start": "launched -> run process started (spawn, import, load definitions)",
    "step_start": "run started -> trading step started (executor)",
    "orders": "step started -> last order acknowledged (the trading run itself)",
}


@dataclass(frozen=True)
class Daemon:
    """A running ``dagster-daemon`` and the environment every process of the bench shares."""

    popen: subprocess.Popen[bytes]
    env: dict[str, str]
    home: Path


def instance_yaml(dequeue_seconds: int | None) -> str:
    """The project's dagster.yaml, with ``run_queue: dequeue_interval_seconds`` replaced when
    given (the project ships 1 s; Dagster's default is 5 s)."""
    text = (ROOT / "dagster.yaml").read_text()
    if dequeue_seconds is None:
        return text
    line = f"dequeue_interval_seconds: {dequeue_seconds}"
    return re.sub(r"dequeue_interval_seconds: *\d+", line, text)


def stop_group(popen: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """End the process group led by ``popen`` (the daemon, its code server, launched runs):
    SIGTERM, then SIGKILL after ``grace`` seconds (or once the daemon is gone) to whatever
    remains, and wait until no process of the group is left."""
    with suppress(ProcessLookupError):
        os.killpg(popen.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        popen.wait(timeout=grace)
    with suppress(ProcessLookupError):
        os.killpg(popen.pid, signal.SIGKILL)
    popen.wait()
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        try:
            os.killpg(popen.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def running_daemon(
    tmp: Path, keel_env: dict[str, str], dequeue_seconds: int | None
) -> Iterator[Daemon]:
    """Start ``dagster-daemon run`` on the code location with a fresh instance under ``tmp``,
    turn the trading sensor on, and stop every process on the way out (SIGTERM and SIGHUP are
    turned into KeyboardInterrupt so that the cleanup runs for them too)."""
    from orchestration.sensors import TRADING_SENSOR

    home = tmp / "dagster_home"
    storage = tmp / "dagster"
    home.mkdir()
    storage.mkdir()
    (home / "dagster.yaml").write_text(instance_yaml(dequeue_seconds))
    env = {
        **os.environ,
        **keel_env,
        "DAGSTER_HOME": str(home),
        "KEEL_DAGSTER_STORAGE": str(storage),
    }
    os.environ.update({k: env[k] for k in ("DAGSTER_HOME", "KEEL_DAGSTER_STORAGE", *keel_env)})
    from dagster import DagsterInstance

    # Create the SQLite storage here: the daemon and the CLI creating it at once collide.
    DagsterInstance.get().dispose()
    previous = {s: signal.signal(s, _raise_interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    location = ["-m", "orchestration.definitions", "-d", str(ROOT)]
    log = (tmp / "daemon.log").open("wb")
    popen = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", *location],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        started = subprocess.run(
            [str(BIN / "dagster"), "sensor", "start", TRADING_SENSOR, *location],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if started.returncode != 0:
            raise RuntimeError(f"dagster sensor start failed: {started.stderr[-2000:]}")
        yield Daemon(popen, env, home)
    finally:
        stop_group(popen)
        log.close()
        for s, handler in previous.items():
            signal.signal(s, handler)


def wait_for_run(instance: Any, bar: datetime, timeout: float, daemon: Daemon) -> Any:
    """The finished run of ``bar`` (found by its tag), or an error naming the daemon's log."""
    from dagster import DagsterRunStatus, RunsFilter

    from assets.live import BAR_TAG

    done = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if daemon.popen.poll() is not None:
            raise RuntimeError(f"dagster-daemon exited; see {daemon.home.parent / 'daemon.log'}")
        records = instance.get_run_records(RunsFilter(tags={BAR_TAG: bar.isoformat()}), limit=1)
        if records and records[0].dagster_run.status in done:
            return records[0].dagster_run
        time.sleep(0.25)
    raise TimeoutError(
        f"no finished run for bar {bar.isoformat()} after {timeout:.0f}s; "
        f"see {daemon.home.parent / 'daemon.log'}"
    )


def tick_time(instance: Any, run_id: str) -> float:
    """When the sensor tick that requested ``run_id`` began evaluating."""
    from dagster._core.scheduler.instigation import InstigatorType

    from orchestration.sensors import TRADING_SENSOR

    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        if state.instigator_name != TRADING_SENSOR:
            continue
        for tick in instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=20):
            if run_id in tick.run_ids:
                return float(tick.timestamp)
    raise LookupError(f"no sensor tick names run {run_id}")


def milestones(instance: Any, run: Any, acked: float) -> dict[str, float]:
    """The epoch seconds of each milestone of one bar's run (``acked``: last acknowledgement)."""
    from dagster import DagsterEventType as E

    first: dict[str, float] = {}
    for record in instance.all_logs(run.run_id):
        event = record.dagster_event
        if event is None:
            continue
        name = event.event_type_value
        if name == E.STEP_START.value and not (record.step_key or "").endswith("trading_run"):
            continue
        first.setdefault(name, record.timestamp)
    return {
        "tick": tick_time(instance, run.run_id),
        "queued": first[E.RUN_ENQUEUED.value],
        "launched": first[E.RUN_STARTING.value],
        "run_start": first[E.RUN_START.value],
        "step_start": first[E.STEP_START.value],
        "orders": acked,
        "run_end": first.get(E.RUN_SUCCESS.value) or first[E.RUN_FAILURE.value],
    }


def daemon_latencies(
    n_bars: int, dequeue_seconds: int | None, timeout: float = 300.0
) -> list[dict[str, float]]:
    """Per bar, seconds from the features commit to each milestone, through the real daemon."""
    import polars as pl
    from dagster import DagsterInstance, DagsterRunStatus

    from bench.live import prepare
    from lake.live import LakeJournal

    bench = prepare(n_bars)
    keel_env = {
        "KEEL_CONFIG": str(bench.config_path),
        "KEEL_LAKE": str(bench.tmp / "lake"),
        "KEEL_SIM_STATE": str(bench.tmp / "sim"),
    }
    rows: list[dict[str, float]] = []
    with running_daemon(bench.tmp, keel_env, dequeue_seconds) as daemon:
        instance = DagsterInstance.get()
        journal = LakeJournal(bench.lake)
        for i, bar in enumerate(bench.bars):
            bench.lake.upsert(bench.spec, bench.features.filter(pl.col("ts") == bar))
            committed = time.time()
            run = wait_for_run(instance, bar, timeout, daemon)
            if run.status != DagsterRunStatus.SUCCESS:
                raise RuntimeError(
                    f"the run of bar {bar.isoformat()} failed ({run.run_id}); "
                    f"see {bench.tmp / 'daemon.log'}"
                )
            events = journal.read("order_events").filter(
                pl.col("bar") == bar, pl.col("event") != "intent"
            )
            last = events["at"].max() if events.height else None
            acked = last.timestamp() if isinstance(last, datetime) else time.time()
            times = milestones(instance, run, acked)
            rows.append({k: v - committed for k, v in times.items()})
            print(
                f"  bar {i + 1}/{len(bench.bars)}: orders acknowledged "
                f"{rows[-1]['orders']:.2f}s after the commit ({events.height} order events)",
                flush=True,
            )
    # Kept after a failure (and with KEEL_BENCH_KEEP=1): the lake, the instance and daemon.log.
    if os.environ.get("KEEL_BENCH_KEEP") != "1":
        shutil.rmtree(bench.tmp, ignore_errors=True)
    return rows


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank ``q`` quantile of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(rows: list[dict[str, float]]) -> list[str]:
    """p50 and p99 of each stage and of each milestone since the commit."""
    lines = [f"through dagster-daemon, {len(rows)} bars (p50 / p99 / max, seconds):"]
    previous = None
    for name in MILESTONES[:-1]:
        stage = [r[name] - (r[previous] if previous else 0.0) for r in rows]
        total = [r[name] for r in rows]
        lines.append(
            f"  {STAGES[name]:<66} {percentile(stage, 0.5):6.2f} {percentile(stage, 0.99):6.2f}"
            f" {max(stage):6.2f}   since commit {percentile(total, 0.5):6.2f}"
            f" {percentile(total, 0.99):6.2f}"
        )
        previous = name
    end = [r["orders"] for r in rows]
    lines.append(
        f"  bar committed -> orders at the paper venue: p50 {percentile(end, 0.5):.2f}s, "
        f"p99 {percentile(end, 0.99):.2f}s, max {max(end):.2f}s (goal p99 <= 10 s); "
        f"run finished p50 {percentile([r['run_end'] for r in rows], 0.5):.2f}s after the commit"
    )
    return lines
