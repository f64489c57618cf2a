"""The production trading path, end to end with real processes: ``dagster-daemon run`` on the
code location, the trading sensor turned on with ``dagster sensor start``, one bar's features
committed, and the sensor's run launched by the daemon trades it at the paper venues (the same
harness as ``python -m bench.live --daemon``, not timed here)."""

from __future__ import annotations

import os
import shutil

import polars as pl
import pytest
from dagster import DagsterInstance, DagsterRunStatus

from bench.live import prepare
from bench.live_daemon import milestones, running_daemon, wait_for_run
from lake.live import LakeJournal


# Over a minute on the shared 2-core machine (84 s at load 12): opt in with
# `pytest -m soak tests/orchestration/test_trading_daemon.py`.
@pytest.mark.soak
def test_a_committed_bar_is_traded_by_the_daemon_launched_run_of_the_sensor() -> None:
    bench = prepare(1)
    (bar,) = bench.bars
    keel_env = {
        "KEEL_CONFIG": str(bench.config_path),
        "KEEL_LAKE": str(bench.tmp / "lake"),
        "KEEL_SIM_STATE": str(bench.tmp / "sim"),
    }
    saved = {k: os.environ.get(k) for k in ("DAGSTER_HOME", "KEEL_DAGSTER_STORAGE", *keel_env)}
    try:
        with running_daemon(bench.tmp, keel_env, dequeue_seconds=None) as daemon:
            instance = DagsterInstance.get()
            bench.lake.upsert(bench.spec, bench.features.filter(pl.col("ts") == bar))
            run = wait_for_run(instance, bar, timeout=240.0, daemon=daemon)
            times = milestones(instance, run, acked=0.0)
            pid = daemon.popen.pid
        assert run.status == DagsterRunStatus.SUCCESS
        assert run.tags["dagster/sensor_name"] == "trading_on_new_bar"
        assert run.tags["dagster/run_key"] == f"bar-{bar.isoformat()}"
        assert times["tick"] <= times["queued"] <= times["launched"] <= times["run_start"]
        assert times["run_start"] <= times["step_start"] <= times["run_end"]
        events = LakeJournal(bench.lake).read("order_events").filter(pl.col("bar") == bar)
        assert events.filter(pl.col("event") != "intent").height > 0
        assert set(events["run_id"].to_list()) == {run.run_id}
        with pytest.raises(ProcessLookupError):  # the daemon's process group is gone
            os.killpg(pid, 0)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(bench.tmp, ignore_errors=True)
