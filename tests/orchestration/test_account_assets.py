"""The account assets end to end, in process: every venue synced into the ledger (one broken
venue does not block the others), the blocking caps check naming its transfer, the schedule,
and ``keel status`` printing the screen."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from dagster import AssetKey, DagsterInstance

from assets.resources import KeelResource
from lake import catalog
from orchestration.definitions import build_definitions
from trading.config import load_config
from trading.venues.base import OrderRequest

CONFIG = """
[data]
history_start = "2024-01-01"
timeframes = ["1h"]

[simulation]
seed = 11

[[venues]]
kind = "sim"
name = "sim_a"
instruments = ["BTC/USDT", "BTC/USDT:USDT"]

[[venues]]
kind = "sim"
name = "sim_b"
instruments = ["BTC/USDT"]
starting_balances = { USDT = 60000 }

[venues.caps]
max_equity_usd = 50000

[[venues]]
kind = "sim"
name = "sim_c"
instruments = ["BTC/USDT"]

[[venues]]
kind = "paper"
name = "paper_a"
market = "sim_a"
instruments = ["BTC/USDT"]
starting_balances = { USDT = 10000 }

[account]
sync_cron = "*/10 * * * *"
"""


@pytest.fixture
def keel(tmp_path: Path) -> KeelResource:
    path = tmp_path / "keel.toml"
    path.write_text(CONFIG)
    return KeelResource(
        config_path=str(path), lake_root=str(tmp_path / "lake"), sim_state_dir=str(tmp_path / "sim")
    )


def test_sync_survives_a_broken_venue_and_the_caps_check_names_the_transfer(
    keel: KeelResource, tmp_path: Path
) -> None:
    keel.venue("sim_a").create_order(OrderRequest("BTC/USDT:USDT", "buy", 0.1, "t1"))
    keel.venue("paper_a").create_order(OrderRequest("BTC/USDT", "buy", 0.01, "t2"))
    (tmp_path / "sim").mkdir(exist_ok=True)
    (tmp_path / "sim" / "sim_c.json").write_text("{not json")  # a venue that cannot answer
    config = load_config(keel.config_path)
    definitions = build_definitions(config, keel.config_path, keel)

    result = definitions.resolve_job_def("account_sync").execute_in_process(
        instance=DagsterInstance.ephemeral(), raise_on_error=False
    )

    sync = result.asset_materializations_for_node("account__sync")[0].metadata
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    balances = keel.lake().scan(catalog.account_balances()).collect()
    assert (sync["synced"].value, sync["failed"].value) == (3, 1)
    table = str(sync["venues"].value)
    assert "sim_c" in table
    assert "not valid JSON" in table
    assert sorted(balances["venue"].unique().to_list()) == ["paper_a", "sim_a", "sim_b"]
    assert not checks["venues_within_caps"].passed
    assert "move 10,000 USDT from sim_b to" in (checks["venues_within_caps"].description or "")
    equity = keel.lake().scan(catalog.account_equity()).collect()
    assert equity.filter(pl.col("venue") == "sim_b")["equity"].to_list() == [60_000.0]


def test_the_account_schedule_follows_the_config(keel: KeelResource) -> None:
    definitions = build_definitions(load_config(keel.config_path), keel.config_path, keel)

    schedule = definitions.resolve_schedule_def("account_sync")

    assert schedule.cron_schedule == "*/10 * * * *"
    assert definitions.resolve_assets_def(AssetKey(["account", "ledger"])) is not None


def test_keel_status_prints_every_venue_and_flags_the_cap(
    keel: KeelResource,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from lake.account_view import write_sync
    from orchestration.cli import main
    from trading.account.sync import read_account
    from trading.timeframes import utc_now

    for name in ("sim_a", "sim_b"):
        write_sync(keel.lake(), read_account(keel.venue(name), None, utc_now()))
    monkeypatch.setenv("KEEL_CONFIG", keel.config_path)
    monkeypatch.setenv("KEEL_LAKE", keel.lake_root)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))

    code = main(["status", "--no-color"])

    out = capsys.readouterr().out
    assert code == 1  # a venue is over its cap
    assert "equity 160,000 USDT over 4 venues" in out
    assert "120% OVER" in out
    assert "move 10,000 USDT from sim_b to sim_a" in out
    assert "sim_c: never synced" in out
