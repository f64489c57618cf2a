"""The rewards and volume report, end to end through Dagster on the simulated venues."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from dagster import AssetKey, DagsterInstance, materialize

from lake import catalog
from orchestration.definitions import build_definitions
from orchestration.resources import KeelResource
from orchestration.schedules import range_tags
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
instruments = ["BTC/USDT:USDT", "ETH/USDT:USDT"]

[[venues]]
kind = "sim"
name = "sim_b"
liquidity = 0.3
maker_fee = -0.0001
instruments = ["BTC/USDT:USDT", "ETH/USDT:USDT"]

[routing.venues.sim_a]
volume_30d_usd = 1000000
tiers = { taker = [[0, 0.0005], [50000000, 0.0004]] }

[routing.venues.sim_b]
points_per_usd_taker = 0.001
point_value_usd = 0.1

[netting]
default_capital_usd = 5000000
"""


@pytest.mark.slow
def test_rewards_report_records_volume_fees_points_and_routing_savings(tmp_path: Path) -> None:
    path = tmp_path / "keel.toml"
    path.write_text(CONFIG)
    keel = KeelResource(
        config_path=str(path), lake_root=str(tmp_path / "lake"), sim_state_dir=str(tmp_path / "s")
    )
    definitions = build_definitions(load_config(path), str(path), keel)
    instance = DagsterInstance.ephemeral()
    assert definitions.resolve_job_def("instruments").execute_in_process(instance=instance).success
    market = definitions.resolve_job_def("market_data").execute_in_process(
        instance=instance, tags=range_tags("2024-02-03", "2024-02-13")
    )
    assert market.success
    report = definitions.get_assets_def(AssetKey(["execution", "rewards_daily"]))
    for day in ("2024-02-12", "2024-02-13", "2024-02-13"):  # the repeat changes nothing
        assert materialize(
            [report], partition_key=day, resources={"keel": keel}, instance=instance
        ).success

    rows = keel.lake().scan(catalog.execution_rewards_daily()).collect().sort("date", "venue")
    assert rows.height == 6  # sim_a, sim_b and all, two days
    assert set(rows["source"].to_list()) == {"planned"}
    for one_day in rows.partition_by("date"):
        venues = one_day.filter(pl.col("venue") != "all")
        total = one_day.filter(pl.col("venue") == "all").row(0, named=True)
        assert total["volume_usd"] == pytest.approx(venues["volume_usd"].sum())
        assert total["saved_vs_single_usd"] >= 0.0
        b = one_day.filter(pl.col("venue") == "sim_b").row(0, named=True)
        assert b["points"] == pytest.approx(0.001 * b["taker_volume_usd"])
        a = one_day.filter(pl.col("venue") == "sim_a").row(0, named=True)
        assert a["next_tier_volume_usd"] == 50_000_000.0
    first, second = rows.filter(pl.col("venue") == "sim_a").sort("date")["volume_30d_usd"].to_list()
    a_volume = rows.filter(pl.col("venue") == "sim_a").sort("date")["volume_usd"].to_list()
    # configured 1M decays by a 30th a day; the report's own volume accumulates
    assert first == pytest.approx(1e6 * 29 / 30 + a_volume[0])
    assert second == pytest.approx(1e6 * 28 / 30 + a_volume[0] + a_volume[1])
