"""The CLI's backfill and research, end to end, on both instance profiles: SQLite (local) and
PostgreSQL through dagster-postgres (prod). Per-partition status must survive batched event
writes."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from dagster import AssetCheckKey, AssetKey, DagsterEventType, DagsterInstance, RunsFilter
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationPlanned,
)

from assets.paths import PROJECT_ROOT
from orchestration.cli import main
from orchestration.services import Postgres

CONFIG = """
[data]
history_start = "2024-01-01"
timeframes = ["1h"]

[simulation]
seed = 5

[[venues]]
kind = "sim"
name = "sim_a"
instruments = ["BTC/USDT", "ETH/USDT", "BTC/USDT:USDT"]

[[venues]]
kind = "sim"
name = "sim_b"
instruments = ["BTC/USDT", "SOL/USDT:USDT"]
"""
DAYS = {"2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04"}


@pytest.fixture(params=["local", "prod"])
def profile(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    config = tmp_path / "keel.toml"
    config.write_text(CONFIG)
    monkeypatch.setenv("KEEL_CONFIG", str(config))
    monkeypatch.setenv("KEEL_DAGSTER_STORAGE", str(tmp_path / "dagster"))
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "1000")
    name = str(request.param)
    monkeypatch.setenv("KEEL_PROFILE", name)
    if name == "prod":
        server: Postgres = request.getfixturevalue("postgres")
        url = server.create_database(f"keel_{uuid.uuid4().hex[:12]}")
        monkeypatch.setenv("KEEL_POSTGRES_URL", url)
        monkeypatch.setenv("DAGSTER_HOME", str(PROJECT_ROOT / "profiles" / "prod"))
    else:
        monkeypatch.setenv("DAGSTER_HOME", str(PROJECT_ROOT))
    return name


@pytest.mark.slow
def test_backfill_and_research_record_every_partition_on_the_profiles_storage(
    profile: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["backfill", "--start", "2024-03-01", "--end", "2024-03-04"])
    assert code == 0, capsys.readouterr().out
    assert main(["research"]) == 0, capsys.readouterr().out

    instance = DagsterInstance.get()
    storage = type(instance.event_log_storage).__name__
    expected = "KeelPostgresEventLogStorage" if profile == "prod" else "SqliteEventLogStorage"
    assert storage == expected
    (backfill,) = instance.get_runs(RunsFilter(job_name="market_data"))
    planned = instance.get_records_for_run(
        backfill.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION_PLANNED
    ).records
    # one planned event per partition and asset (4 days x 5 assets): batching drops none
    assert len(planned) == 20
    assert {r.event_log_entry.get_dagster_event().partition for r in planned} == DAYS
    for venue in ("sim_a", "sim_b"):
        for dataset in ("candles_1h", "funding_rates"):
            key = AssetKey(["market", venue, dataset])
            assert instance.get_materialized_partitions(key) == DAYS
    # the check index holds the same rows on both profiles (prod writes a batch's planned rows
    # in one statement)
    checks = instance.get_records_for_run(
        backfill.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED
    ).records
    assert len(checks) >= 2 * 2 * 2  # venues x datasets x at least two checks each
    for record in checks:
        plan = record.event_log_entry.get_dagster_event().event_specific_data
        assert isinstance(plan, AssetCheckEvaluationPlanned)
        check_key = AssetCheckKey(plan.asset_key, plan.check_name)
        history = instance.event_log_storage.get_asset_check_execution_history(check_key, limit=10)
        # as upstream writes it: a planned row per partition and the range's evaluation
        assert sorted((h.run_id, h.status.value, h.partition or "") for h in history) == [
            (backfill.run_id, "PLANNED", day) for day in sorted(DAYS)
        ] + [(backfill.run_id, "SUCCEEDED", "")]
    assert instance.get_materialized_partitions(AssetKey(["features", "features_1h"])) == DAYS
    backtests = instance.get_materialized_partitions(AssetKey(["research", "backtests"]))
    assert len(backtests) >= 17
    out = capsys.readouterr().out
    assert "leaderboard (research/metrics" in out


def test_a_postgres_data_folder_private_to_root_stops_with_the_setting_to_change(
    tmp_path: Path,
) -> None:
    import os

    from orchestration.services import ServiceError, postgres_bin

    if os.geteuid() != 0 or postgres_bin() is None:
        pytest.skip("only as root with PostgreSQL installed: the server runs as user postgres")
    private = tmp_path / "private"
    private.mkdir(mode=0o700)

    with pytest.raises(ServiceError, match="set KEEL_POSTGRES_DATA to a folder it can reach"):
        Postgres(private / "cluster", 1).start()
