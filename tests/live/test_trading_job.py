"""The trading run through Dagster: the sensor requests one run per bar (run key = bar), the
job trades it, the parity check passes, and the shortfall asset reads the fills."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance, RunRequest, build_sensor_context

from assets.live import BAR_TAG, TRADING_RUN
from assets.resources import KeelResource
from lake.live import LakeJournal, shortfall_table
from lake.store import Lake
from orchestration.definitions import build_definitions
from orchestration.sensors import TRADING_SENSOR
from tests.live.helpers import live_config, seed_lake
from trading.config import load_config

CONFIG = """
[data]
history_start = "2024-01-01"
timeframes = ["1h"]

[simulation]
seed = 11

[[venues]]
kind = "sim"
name = "sim_a"
instruments = ["BTC/USDT", "ETH/USDT", "BTC/USDT:USDT"]

[[venues]]
kind = "sim"
name = "sim_b"
liquidity = 0.3
basis_bps = 10.0
instruments = ["BTC/USDT", "SOL/USDT:USDT"]

[risk]
max_price_age_seconds = 1e12  # the test's bars are from 2024; the clock is today

[live]
stale_bars = 100000
strategies = [
    { strategy = "trend__scale-0.25", stage = "paper", capital = 20000.0 },
    { strategy = "trend", stage = "live", capital = 20000.0 },
]
"""


@pytest.fixture
def keel(tmp_path: Path) -> KeelResource:
    path = tmp_path / "keel.toml"
    path.write_text(CONFIG)
    assert tomllib.loads(CONFIG)["live"]["strategies"]
    seed_lake(live_config(tmp_path), Lake(tmp_path / "lake"), days=1)
    return KeelResource(
        config_path=str(path), lake_root=str(tmp_path / "lake"), sim_state_dir=str(tmp_path / "sim")
    )


def _definitions(keel: KeelResource) -> Any:
    return build_definitions(load_config(keel.config_path), keel.config_path, keel)


def test_sensor_requests_one_run_per_new_bar_keyed_by_the_bar(keel: KeelResource) -> None:
    sensor = _definitions(keel).resolve_sensor_def(TRADING_SENSOR)
    first = sensor.evaluate_tick(build_sensor_context(resources={"keel": keel}))
    (request,) = first.run_requests or []
    assert isinstance(request, RunRequest)
    assert request.run_key == "bar-2024-03-01T23:00:00+00:00"
    assert request.tags[BAR_TAG] == "2024-03-01T23:00:00+00:00"
    again = sensor.evaluate_tick(
        build_sensor_context(cursor=first.cursor, resources={"keel": keel})
    )
    assert again.run_requests == []
    assert isinstance(again.skip_message, str)
    assert "already requested" in again.skip_message


def test_trading_job_trades_the_bar_with_parity_and_records_the_journal(
    keel: KeelResource,
) -> None:
    job = _definitions(keel).resolve_job_def("trading")
    instance = DagsterInstance.ephemeral()
    tags = {BAR_TAG: "2024-03-01T20:00:00+00:00"}
    result = job.execute_in_process(instance=instance, tags=tags)
    assert result.success
    (parity,) = result.get_asset_check_evaluations()
    assert parity.passed
    assert parity.metadata["decisions_checked"].value > 0
    meta = result.asset_materializations_for_node("live__trading_run")[0].metadata
    assert meta["bar"].value == "2024-03-01T20:00:00+00:00"
    assert meta["capital_source"].value == "config caps (no portfolio weights yet)"
    assert meta["demoted"].value == "none"
    journal = LakeJournal(keel.lake())
    orders = journal.read("orders")
    assert set(orders["account"]) == {"paper", "live"}
    parity_rows = journal.read("parity")
    assert parity_rows["differences"].sum() == 0
    assert parity_rows["passed"].all()
    assert parity_rows["decisions"].sum() == parity.metadata["decisions_checked"].value
    again = job.execute_in_process(instance=instance, tags=tags)
    assert again.success
    assert journal.read("orders").height == orders.height
    assert TRADING_RUN.path == ["live", "trading_run"]
    shortfall = keel.lake().scan(shortfall_table()).collect()
    assert set(shortfall["strategy"]) == {"trend", "trend__scale-0.25"} & set(
        orders["strategy"].str.split(",").explode()
    )
    assert (shortfall["fills"] > 0).all()
