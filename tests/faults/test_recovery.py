"""Crash recovery in process: a run whose process is gone is failed and its pool slot freed; a
pool held by a live run is waited for with a message and a time limit."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from dagster import DagsterInstance
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus

from orchestration.recovery import (
    PID_TAG,
    PoolWaitTimeoutError,
    process_alive,
    reap_dead_runs,
    wait_for_pools,
)

POOL = "lake_candles_1h"


@pytest.fixture
def instance(tmp_path: Path) -> DagsterInstance:
    return DagsterInstance.local_temp(
        str(tmp_path), overrides={"concurrency": {"pools": {"default_limit": 1}}}
    )


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _holding_run(instance: DagsterInstance, run_id: str, pid: int) -> DagsterRun:
    run = DagsterRun(
        job_name="market_data",
        run_id=run_id,
        status=DagsterRunStatus.STARTED,
        tags={PID_TAG: str(pid)},
    )
    instance.add_run(run)
    storage = instance.event_log_storage
    storage.initialize_concurrency_limit_to_default(POOL)
    assert storage.claim_concurrency_slot(POOL, run_id, "candles").is_claimed
    return run


def test_a_run_whose_process_died_is_failed_and_its_slot_freed(
    instance: DagsterInstance,
) -> None:
    run = _holding_run(instance, "a" * 32, _dead_pid())

    reaped = reap_dead_runs(instance)
    wait_for_pools(instance, [POOL], timeout_s=0.0)  # returns at once: the slot is free

    assert [r.run_id for r in reaped] == [run.run_id]
    record = instance.get_run_by_id(run.run_id)
    assert record is not None
    assert record.status == DagsterRunStatus.FAILURE
    assert instance.event_log_storage.get_concurrency_info(POOL).claimed_slots == []


def test_a_live_holder_is_waited_for_then_named_when_time_runs_out(
    instance: DagsterInstance,
) -> None:
    run = _holding_run(instance, "b" * 32, os.getpid())  # this very process: alive
    said: list[str] = []

    with pytest.raises(PoolWaitTimeoutError) as err:
        wait_for_pools(instance, [POOL], timeout_s=0.3, say=said.append, poll_s=0.1)

    assert reap_dead_runs(instance) == []
    assert f"pool {POOL} is held by run bbbbbbbb (market_data, STARTED, pid {os.getpid()})" in (
        str(err.value)
    )
    assert "gave up after 0s" in str(err.value)
    assert said
    assert said[0].startswith(f"waiting: pool {POOL} is held by run bbbbbbbb")
    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTED  # type: ignore[union-attr]


def test_a_pid_reused_by_a_later_process_does_not_keep_a_dead_run_alive() -> None:
    import time

    hour_ago = time.time() - 3600  # the run was created before this test process began

    assert process_alive(os.getpid(), since=hour_ago) is False
    assert process_alive(os.getpid(), since=time.time()) is True
    assert process_alive(_dead_pid(), since=time.time()) is False


def test_leftover_files_of_a_killed_write_are_removed_but_young_ones_kept() -> None:
    import time

    from dagster import AssetKey

    from lake import catalog
    from lake.store import Lake
    from orchestration.recovery import remove_leftovers
    from tests.faults.writer import candles

    lake = Lake()
    spec = catalog.candles("1h")
    lake.upsert(spec, candles("a"))
    folder = Path(lake.uri(spec)) / "venue=a" / "month=2024-03-01"
    old, young = folder / "part-killed.parquet", folder / "part-running.parquet"
    for path in (old, young):
        path.write_bytes(b"PAR1 half a file")
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    rows = lake.scan(spec).collect().height

    removed = remove_leftovers([AssetKey(["market", "a", "candles_1h"])])

    assert removed == 1
    assert (old.exists(), young.exists()) == (False, True)
    assert lake.scan(spec).collect().height == rows == 48


def test_a_run_launched_elsewhere_is_judged_by_the_pid_in_its_engine_events(
    instance: DagsterInstance,
) -> None:
    from dagster._core.events import EngineEventData

    run = DagsterRun(job_name="market_data", run_id="c" * 32, status=DagsterRunStatus.STARTED)
    instance.add_run(run)  # no Keel pid tag: started from the UI or the daemon
    instance.report_engine_event(
        "Executing steps in process", run, EngineEventData.in_process(_dead_pid())
    )

    reaped = reap_dead_runs(instance)

    assert [r.run_id for r in reaped] == [run.run_id]
    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE  # type: ignore[union-attr]


def test_a_launched_run_whose_process_started_after_the_run_was_created_is_alive(
    instance: DagsterInstance,
) -> None:
    """The daemon queues a run, dequeues it and spawns its process seconds later: the process
    is younger than the run, and alive."""
    from dagster._core.events import EngineEventData

    run = DagsterRun(job_name="trading", run_id="d" * 32, status=DagsterRunStatus.STARTED)
    instance.add_run(run)
    time.sleep(2.5)  # longer than the slack allowed between a run's creation and its process
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.2)
        instance.report_engine_event(
            "Started process for run", run, EngineEventData.in_process(child.pid)
        )

        reaped = reap_dead_runs(instance)

        assert reaped == []
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTED  # type: ignore[union-attr]
    finally:
        child.kill()
        child.wait()


def test_an_orphaned_compute_log_tail_of_a_dead_run_is_stopped(tmp_path: Path) -> None:
    from orchestration.recovery import stop_orphaned_tailers

    # stop_orphaned_tailers looks at every process of the machine: a run id of this test alone
    # keeps other tests and other checkouts running beside it (their own tails) out of the count
    run_id = uuid.uuid4().hex
    log = tmp_path / run_id / "compute_logs" / "step.out"
    log.parent.mkdir(parents=True)
    log.write_text("")
    # a parent that starts the tail and exits at once leaves it orphaned, as a kill -9 does
    parent = subprocess.run(
        ["sh", "-c", f"tail -F -c +0 {log} >/dev/null 2>&1 & echo $!"],
        capture_output=True,
        text=True,
        check=True,
    )
    tail = int(parent.stdout.strip())

    stopped = stop_orphaned_tailers(run_id)

    assert stopped == [tail]
    deadline = time.time() + 5
    while process_alive(tail, since=time.time()) and time.time() < deadline:
        time.sleep(0.05)
    assert not process_alive(tail, since=time.time())
