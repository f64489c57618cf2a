"""Crash recovery: a run whose process is gone never blocks the next one.

A run killed with SIGKILL (or whose machine lost power) stays STARTED in Dagster and keeps its
concurrency-pool slot; with one slot per lake pool, every later run of that table would wait
forever, spinning in Dagster's claim loop. Before the CLI starts a run, and from the daemon
through ``stale_runs_sensor``, Keel marks such runs failed and frees their slots. A pool held by
a live run is waited for with a message naming the holder, up to a time limit.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster import (
    DagsterInstance,
    DefaultSensorStatus,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)
from dagster._core.storage.dagster_run import (
    FINISHED_STATUSES,
    DagsterRunStatus,
    RunsFilter,
)

from trading.text import counted

PID_TAG = "keel/pid"
HOST_TAG = "keel/host"
_ACTIVE = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]
_START_SLACK_S = 2.0  # a process that began this long after its run was created is another one


class PoolWaitTimeoutError(RuntimeError):
    """A pool stayed full for longer than the caller was willing to wait."""


@dataclass(frozen=True, slots=True)
class ReapedRun:
    """A run Keel marked failed because its process is gone."""

    run_id: str
    job: str
    pid: int


def process_tags() -> dict[str, str]:
    """Tags that let a later process tell whether this run's process is still alive."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def _process_start(pid: int) -> float | None:
    """When the process began (epoch seconds), from /proc; None where /proc is unavailable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime")
        )
    except (OSError, StopIteration, ValueError):
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":  # a zombie: dead, only not yet waited for
        return float("inf")
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def process_alive(pid: int, since: float) -> bool:
    """Whether process ``pid`` exists and is the one that existed at ``since`` (not a later
    process that reused the id)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    started = _process_start(pid)
    return started is None or started <= since + _START_SLACK_S


def _run_pid(
    instance: DagsterInstance, run_id: str, tags: dict[str, str], created: float
) -> tuple[int, float] | None:
    """The process a run executes in and a moment it was known to exist: Keel's tag (the CLI's
    own process, older than the run it creates) with the run's creation, else the pid in
    Dagster's engine events with that event's time (a launched run's process starts seconds
    after the run is created: queued, dequeued, spawned)."""
    if PID_TAG in tags:
        return int(tags[PID_TAG]), created
    from dagster import DagsterEventType

    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        if entry.dagster_event is None:
            continue
        metadata = getattr(entry.dagster_event.event_specific_data, "metadata", None) or {}
        pid = metadata.get("pid")
        if pid is not None:
            return int(str(pid.value)), entry.timestamp
    return None


def stop_orphaned_tailers(run_id: str) -> list[int]:
    """Stop the ``tail -F`` processes Dagster started to mirror a dead run's compute logs.
    Dagster pairs each with a watcher that stops it when the run's process dies, but a kill
    between starting the two leaves the tail orphaned, running forever and holding the dead
    process's stdout open (a caller reading that output never sees its end)."""
    import signal

    stopped = []
    marker = f"/{run_id}/compute_logs/"
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        # Only the run's own process tails its logs, and that process is gone: any such tail
        # is an orphan.
        if argv[0].endswith(b"tail") and any(marker.encode() in a for a in argv):
            try:
                # SIGKILL: a tail has nothing to clean up, and SIGTERM may be ignored, a
                # disposition a process inherits from whatever started its run (nohup-style
                # launchers, some CI job runners)
                os.kill(int(entry.name), signal.SIGKILL)
                stopped.append(int(entry.name))
            except OSError:
                continue
    return stopped


def reap_dead_runs(instance: DagsterInstance) -> list[ReapedRun]:
    """Mark failed every active run on this host whose process is gone, and free the pool
    slots of those runs and of finished runs that still hold some."""
    host = socket.gethostname()
    reaped: list[ReapedRun] = []
    for record in instance.get_run_records(RunsFilter(statuses=_ACTIVE)):
        run = record.dagster_run
        if run.tags.get(HOST_TAG, host) != host:
            continue
        found = _run_pid(instance, run.run_id, dict(run.tags), record.create_timestamp.timestamp())
        if found is None or process_alive(*found):
            continue
        pid = found[0]
        instance.report_run_failed(
            run,
            message=f"process {pid} of this run is gone (killed or crashed); Keel marked the "
            "run failed and freed its pool slots so later runs can start",
        )
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        stop_orphaned_tailers(run.run_id)
        reaped.append(ReapedRun(run.run_id, run.job_name, pid))
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        holders = list(storage.get_concurrency_run_ids())
        if holders:
            done = instance.get_run_records(RunsFilter(run_ids=holders, statuses=FINISHED_STATUSES))
            for record in done:
                storage.free_concurrency_slots_for_run(record.dagster_run.run_id)
    return reaped


def _holders(instance: DagsterInstance, pool: str) -> list[str] | None:
    """Run ids holding every slot of ``pool``, or None when a slot is free."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return None
    info = storage.get_concurrency_info(pool)
    if info.limit is None or len(info.claimed_slots) < info.limit:
        return None
    return sorted({slot.run_id for slot in info.claimed_slots})


def _describe(instance: DagsterInstance, run_id: str) -> str:
    run = instance.get_run_by_id(run_id)
    if run is None:
        return run_id
    pid = run.tags.get(PID_TAG)
    return f"{run_id[:8]} ({run.job_name}, {run.status.value}{f', pid {pid}' if pid else ''})"


def wait_for_pools(
    instance: DagsterInstance,
    pools: Iterable[str],
    timeout_s: float,
    say: Callable[[str], None] = print,
    poll_s: float = 1.0,
) -> None:
    """Return once every pool has a free slot, reaping dead holders on the way; say who holds
    a full pool (every 30 s), and give up after ``timeout_s`` with a message naming the
    holders and how to stop them."""
    wanted = sorted(set(pools))
    began = time.monotonic()
    last_said = -1e9
    while True:
        reap_dead_runs(instance)
        full = {p: h for p in wanted if (h := _holders(instance, p))}
        if not full:
            return
        waited = time.monotonic() - began
        lines = [
            f"pool {p} is held by run {', '.join(_describe(instance, r) for r in h)}"
            for p, h in full.items()
        ]
        # said before giving up too: the first look at a full pool always names its holders,
        # however long that look took on a loaded machine
        if waited - last_said >= 30:
            say("waiting: " + "; ".join(lines) + f" (up to {timeout_s:.0f}s, --wait)")
            last_said = waited
        if waited >= timeout_s:
            raise PoolWaitTimeoutError(
                "; ".join(lines) + f"; gave up after {timeout_s:.0f}s. Wait for that run, "
                "cancel it in the UI (Runs), or raise --wait"
            )
        time.sleep(poll_s)


def asset_pools(asset_graph: Any, keys: Iterable[Any]) -> set[str]:
    """The concurrency pools that materializing ``keys`` claims."""
    return {pool for key in keys for pool in (asset_graph.get(key).pools or ())}


def stale_runs_sensor() -> SensorDefinition:
    """From the daemon: every minute, fail runs whose process is gone and free their slots."""

    @sensor(
        name="keel_stale_runs",
        minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.RUNNING,
        description="Marks failed the runs whose process died (kill -9, crash) and frees their "
        "concurrency-pool slots, so later runs of the same table do not wait forever.",
    )
    def stale_runs(context: SensorEvaluationContext) -> SkipReason:
        reaped = reap_dead_runs(context.instance)
        for run in reaped:
            context.log.warning(f"run {run.run_id} ({run.job}): process {run.pid} is gone")
        return SkipReason(f"{len(reaped)} dead runs marked failed")

    return stale_runs


POOL_WAIT_ENV = "KEEL_POOL_WAIT"
DEFAULT_POOL_WAIT_S = 900.0


def open_instance() -> DagsterInstance:
    """The shared instance, opened under a file lock: two processes that open a fresh
    instance at once would otherwise race to create its SQLite schema."""
    import fcntl

    from assets.paths import dagster_storage

    storage = dagster_storage()
    storage.mkdir(parents=True, exist_ok=True)
    with (storage / ".keel-instance.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            instance = DagsterInstance.get()
            instance.get_run_records(limit=1)  # creates the run and event-log schemas
            instance.event_log_storage.get_concurrency_keys()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return instance


def prepare_run(
    asset_graph: Any,
    keys: Iterable[Any],
    tags: dict[str, str] | None,
    say: Callable[[str], None] = print,
) -> tuple[DagsterInstance, dict[str, str]]:
    """Before a CLI run: open the instance, fail dead runs and free their slots, wait (with a
    message and ``$KEEL_POOL_WAIT`` seconds at most) for the pools the run needs, and tag the
    run with this process so a later process can tell if it dies."""
    instance = open_instance()
    keys = list(keys)
    reaped = reap_dead_runs(instance)
    for run in reaped:
        say(f"  run {run.run_id} ({run.job}) died with its process {run.pid}: marked failed")
    limit = float(os.environ.get(POOL_WAIT_ENV) or DEFAULT_POOL_WAIT_S)
    wait_for_pools(instance, asset_pools(asset_graph, keys), limit, say)
    if reaped:
        # This run now holds the pools of the tables it writes, so no live writer of ours is
        # mid-write there: files no version references are a dead run's leftovers.
        removed = remove_leftovers(keys)
        if removed:
            say(f"  removed {counted(removed, 'file')} that killed writes left uncommitted")
    return instance, {**(tags or {}), **process_tags()}


LEFTOVER_GRACE_S = 60.0  # younger files may belong to a writer outside this instance


def remove_leftovers(keys: Iterable[Any], grace_s: float = LEFTOVER_GRACE_S) -> int:
    """Delete the uncommitted files in the market tables that ``keys`` write (see
    ``lake.maintenance.stray_files``); returns how many."""
    from lake import catalog
    from lake.maintenance import remove_stray_files
    from lake.store import Lake

    specs = {}
    for key in keys:
        path = list(key.path)
        if path[0] != "market":
            continue
        name = path[-1]
        if name.startswith("candles_"):
            specs[name] = catalog.candles(name.removeprefix("candles_"))
        elif name == "funding_rates":
            specs[name] = catalog.funding_rates()
    lake = Lake()
    return sum(len(remove_stray_files(lake, spec, grace_s)) for spec in specs.values())
