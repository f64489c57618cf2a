"""Beyond one process: Celery workers on this machine (Redis broker, PostgreSQL instance) run
the steps of a CLI backfill and of a research sweep split into two strategy ranges."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from dagster import AssetKey, DagsterInstance, RunsFilter

from assets.paths import PROJECT_ROOT
from lake import catalog
from lake.store import Lake
from orchestration.cli import main
from orchestration.services import Postgres, Process
from trading.models.registry import strategy_names

CONFIG = """
[data]
history_start = "2024-01-01"
timeframes = ["1h"]

[simulation]
seed = 9

[[venues]]
kind = "sim"
name = "sim_a"
instruments = ["BTC/USDT", "ETH/USDT", "BTC/USDT:USDT"]
"""


@pytest.fixture
def workers(
    postgres: Postgres,
    redis: Process,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[None]:
    """Two Celery worker processes sharing the test's instance, lake and config."""
    config = tmp_path / "keel.toml"
    config.write_text(CONFIG)
    settings = {
        "KEEL_CONFIG": str(config),
        "KEEL_PROFILE": "prod",
        "DAGSTER_HOME": str(PROJECT_ROOT / "profiles" / "prod"),
        "KEEL_POSTGRES_URL": postgres.create_database(f"keel_{uuid.uuid4().hex[:12]}"),
        "KEEL_DAGSTER_STORAGE": str(tmp_path / "dagster"),
        "KEEL_EXECUTOR": "celery",
        "KEEL_CELERY_BROKER": f"redis://127.0.0.1:{redis.port}/0",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "orchestration.celery_worker", "worker"),
            *("-Q", "dagster", "-c", "2", "-l", "INFO", "--without-heartbeat", "--without-gossip"),
        ],
        env=dict(os.environ),
        cwd=PROJECT_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()


def _celery_steps(instance: DagsterInstance, run_id: str) -> int:
    """Steps a Celery worker reported it executed (an engine event naming the worker)."""
    return sum(
        e.dagster_event is not None
        and e.dagster_event.event_type_value == "ENGINE_EVENT"
        and "Celery worker" in e.dagster_event.engine_event_data.metadata
        for e in instance.all_logs(run_id)
    )


@pytest.mark.slow
def test_celery_workers_run_a_backfill_and_a_research_sweep_split_in_two(
    workers: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backfill", "--start", "2024-03-01", "--end", "2024-03-02"]) == 0, (
        capsys.readouterr().out
    )
    assert main(["research", "--workers", "2"]) == 0, capsys.readouterr().out

    instance = DagsterInstance.get()
    runs = instance.get_runs(RunsFilter(job_name="market_data"))
    assert len(runs) == 1
    assert _celery_steps(instance, runs[0].run_id) >= 4  # candles, funding, features, checks
    sweeps = instance.get_runs(RunsFilter(job_name="research"))
    assert len(sweeps) == 2
    assert all(_celery_steps(instance, run.run_id) == 1 for run in sweeps)
    names = strategy_names()
    done = instance.get_materialized_partitions(AssetKey(["research", "backtests"]))
    assert done == set(names)
    metrics = Lake().scan(catalog.research_metrics()).select("strategy").collect()
    assert sorted(metrics["strategy"].to_list()) == sorted(names)
    candles = Lake().scan(catalog.candles("1h")).select(pl.len()).collect().item()
    assert candles == 3 * 48
