"""The rewards and volume report, end to end through Dagster on the simulated venues."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from dagster import AssetKey, DagsterInstance, materialize

from assets.resources import KeelResource
from lake import catalog
from orchestration.cli_execution import print_report
from orchestration.definitions import build_definitions
from orchestration.schedules import range_tags
from trading import frames
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
def test_rewards_report_records_volume_fees_points_and_routing_savings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
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

    monkeypatch.setenv("KEEL_LAKE", str(tmp_path / "lake"))
    print_report(1)
    printed = capsys.readouterr().out
    assert "2024-02-13" in printed
    assert "2024-02-12" not in printed
    assert "sim_b" in printed

    # once the ledger holds fills for a day, the venue rows come from them
    fills = pl.DataFrame(
        [
            (
                "sim_a",
                "BTC/USDT:USDT",
                "f1",
                "o1",
                "c1",
                "buy",
                0.5,
                40_000.0,
                10.0,
                "USDT",
                "taker",
                datetime(2024, 2, 12, 9, tzinfo=UTC),
            ),
            (
                "sim_b",
                "ETH/USDT:USDT",
                "f2",
                "o2",
                "c2",
                "sell",
                2.0,
                2_500.0,
                -0.5,
                "USDT",
                "maker",
                datetime(2024, 2, 12, 10, tzinfo=UTC),
            ),
        ],
        schema=dict(frames.FILLS),
        orient="row",
    )
    keel.lake().upsert(catalog.account_fills(), fills)
    assert materialize(
        [report], partition_key="2024-02-12", resources={"keel": keel}, instance=instance
    ).success
    filled = (
        keel.lake()
        .scan(catalog.execution_rewards_daily())
        .filter(pl.col("date") == date(2024, 2, 12))
        .collect()
        .sort("venue")
    )
    assert filled.select("venue", "source", "volume_usd", "fees_usd", "rebates_usd").rows() == [
        ("all", "fills", 25_000.0, 10.0, 0.5),
        ("sim_a", "fills", 20_000.0, 10.0, 0.0),
        ("sim_b", "fills", 5_000.0, 0.0, 0.5),
    ]
    assert filled.filter(pl.col("venue") == "all")["saved_vs_single_usd"][0] >= 0.0  # from plans
