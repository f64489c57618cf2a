"""A broken file stays its venue's and its table's problem: one venue's lost data file fails
only that venue's checks, and every CLI command names the file and the recovery (``keel
repair``, ``keel restore``) instead of printing a traceback."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from dagster import AssetKey, DagsterInstance

from assets.resources import KeelResource
from lake import catalog
from lake.store import Lake
from orchestration.cli import main
from orchestration.definitions import build_definitions
from orchestration.schedules import range_tags
from tests.faults.writer import candles
from trading.config import load_config

SPEC = catalog.candles("1h")
CONFIG = """
[data]
history_start = "2024-01-01"
timeframes = ["1h"]
funding_rates = false

[[venues]]
kind = "sim"
name = "sim_a"
instruments = ["BTC/USDT"]

[[venues]]
kind = "sim"
name = "sim_b"
instruments = ["BTC/USDT"]
"""


def _lose_a_file(lake: Lake, venue: str) -> Path:
    (victim,) = sorted(Path(lake.uri(SPEC)).glob(f"venue={venue}/*/*.parquet"))[:1]
    victim.unlink()
    return victim


def test_a_lost_file_of_one_venue_fails_only_that_venues_checks(tmp_path: Path) -> None:
    path = tmp_path / "keel.toml"
    path.write_text(CONFIG)
    resource = KeelResource(
        config_path=str(path), lake_root=str(tmp_path / "lake"), sim_state_dir=str(tmp_path / "s")
    )
    definitions = build_definitions(load_config(path), str(path), resource)
    job = definitions.resolve_job_def("market_data")
    instance = DagsterInstance.ephemeral()
    tags = range_tags("2024-03-01", "2024-03-02")
    assert job.execute_in_process(instance=instance, tags=tags).success
    lost = _lose_a_file(resource.lake(), "sim_b")

    again = job.execute_in_process(
        instance=instance,
        tags=tags,
        raise_on_error=False,
        asset_selection=[AssetKey(["market", "sim_a", "candles_1h"])],
    )

    results = {e.check_name: e for e in again.get_asset_check_evaluations()}
    assert {name for name, e in results.items() if not e.passed} == set()
    left_out: Any = results["venues_agree"].metadata["venues_left_out"].value
    assert list(left_out) == ["sim_b"]
    assert lost.name in left_out["sim_b"]
    assert "keel repair market/candles_1h" in left_out["sim_b"]


@pytest.fixture
def two_venue_lake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Lake:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("KEEL_DAGSTER_STORAGE", str(home / "storage"))
    config = tmp_path / "keel.toml"
    config.write_text(CONFIG)
    monkeypatch.setenv("KEEL_CONFIG", str(config))
    lake = Lake(tmp_path / "lake")
    monkeypatch.setenv("KEEL_LAKE", lake.root)
    for venue in ("sim_a", "sim_b"):
        lake.upsert(SPEC, candles(venue))
    return lake


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_lost_file_is_named_and_repair_drops_it_and_names_the_backfill(
    two_venue_lake: Lake, capsys: pytest.CaptureFixture[str]
) -> None:
    lost = _lose_a_file(two_venue_lake, "sim_b")

    summary = _cli(["summary"], capsys)
    repaired = _cli(["repair", SPEC.name], capsys)
    after = _cli(["summary"], capsys)

    assert summary[0] == 1
    assert (
        f"{SPEC.name} cannot be read: data file venue=sim_b/month=2024-03-01/{lost.name}"
        in (summary[2])
    )
    assert "keel repair market/candles_1h" in summary[2]
    assert "Traceback" not in summary[1] + summary[2]
    assert repaired[0] == 0
    assert (
        "keel backfill --venue sim_b --dataset candles_1h --start 2024-03-01 --end 2024-03-31"
        in repaired[1]
    )
    assert after[0] == 0
    rows = two_venue_lake.scan(SPEC).collect()
    assert rows.group_by("venue").len().sort("venue").rows() == [("sim_a", 48)]


def test_an_unreadable_commit_is_named_and_restore_moves_it_aside(
    two_venue_lake: Lake, capsys: pytest.CaptureFixture[str]
) -> None:
    log = Path(two_venue_lake.uri(SPEC)) / "_delta_log"
    newest = sorted(log.glob("*.json"))[-1]
    newest.write_text(newest.read_text()[:40])  # truncated mid-record
    version = int(newest.stem)

    summary = _cli(["summary"], capsys)
    restored = _cli(["restore", SPEC.name, "--version", str(version - 1)], capsys)

    assert summary[0] == 1
    assert f"its commit file {newest} is unreadable" in summary[2]
    assert f"keel restore {SPEC.name} --version {version - 1}" in summary[2]
    assert "Traceback" not in summary[1] + summary[2]
    assert restored[0] == 0
    assert two_venue_lake.version(SPEC) == version - 1
    assert two_venue_lake.scan(SPEC).collect()["venue"].unique().to_list() == ["sim_a"]
    quarantined = list((Path(two_venue_lake.uri(SPEC)) / "_keel_quarantine").rglob("*.json"))
    assert [p.name for p in quarantined] == [newest.name]


def _first(rows: pl.DataFrame) -> Any:
    return rows.row(0, named=True)


def test_time_travel_reaches_every_version_after_a_repair(two_venue_lake: Lake) -> None:
    before = two_venue_lake.version(SPEC)
    assert before is not None
    heights = [two_venue_lake.scan(SPEC, version=v).collect().height for v in range(before + 1)]

    from lake.maintenance import remove_stray_files

    (Path(two_venue_lake.uri(SPEC)) / "venue=sim_a" / "stray.parquet").write_bytes(b"x")
    removed = remove_stray_files(two_venue_lake, SPEC, grace_seconds=0)

    assert [p.name for p in removed] == ["stray.parquet"]
    assert [
        two_venue_lake.scan(SPEC, version=v).collect().height for v in range(before + 1)
    ] == heights
    assert _first(two_venue_lake.scan(SPEC).collect())["ts"] >= datetime(2024, 3, 1, tzinfo=UTC)


def test_a_write_into_a_partition_with_a_lost_file_names_it_and_spares_other_venues(
    two_venue_lake: Lake,
) -> None:
    from lake.diagnose import LakeReadError

    lost = _lose_a_file(two_venue_lake, "sim_b")

    two_venue_lake.upsert(SPEC, candles("sim_a", hours=50))  # the other venue writes on
    with pytest.raises(LakeReadError) as err:
        Lake(two_venue_lake.root).upsert(SPEC, candles("sim_b", hours=50))

    assert str(err.value).startswith(f"{SPEC.name} (venue sim_b) cannot be read: data file ")
    assert lost.name in str(err.value)
    assert "keel repair market/candles_1h" in str(err.value)
    assert two_venue_lake.scan(SPEC).filter(pl.col("venue") == "sim_a").collect().height == 50
