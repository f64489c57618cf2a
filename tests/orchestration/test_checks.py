"""Data-quality gates end to end: the simulated venue injects faults on request, the checks
catch them, blocking checks stop downstream assets, and refetching the partitions a check names
repairs the table."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from dagster import (
    AssetKey,
    AssetSelection,
    BackfillPolicy,
    DagsterInstance,
    Definitions,
    MaterializeResult,
    asset,
    define_asset_job,
)

from assets.market import daily_partitions
from assets.resources import KeelResource
from lake import catalog
from lake.store import Lake
from orchestration.definitions import build_definitions
from orchestration.schedules import range_tags
from trading.config import load_config

BASE = """
[data]
history_start = "2024-01-01"
timeframes = ["1h"]
funding_rates = false

[quality]
check_days = 3

[[venues]]
kind = "sim"
name = "sim_a"
instruments = ["BTC/USDT", "ETH/USDT"]
{faults}

[[venues]]
kind = "sim"
name = "sim_b"
instruments = ["BTC/USDT"]
"""
CANDLES_A = AssetKey(["market", "sim_a", "candles_1h"])
DOWNSTREAM = AssetKey(["research", "uses_sim_a"])

Runner = Callable[..., tuple[Any, Lake]]


@pytest.fixture
def run(tmp_path: Path) -> Runner:
    """Run the market job plus a downstream asset of sim_a's candles under a given fault set."""
    instance = DagsterInstance.ephemeral()
    lake_root = tmp_path / "lake"

    def go(
        faults: str, start: str, end: str, name: str = "keel", select: str = "all"
    ) -> tuple[Any, Lake]:
        path = tmp_path / f"{name}.toml"
        path.write_text(BASE.replace("{faults}", faults))
        config = load_config(path)
        resource = KeelResource(
            config_path=str(path), lake_root=str(lake_root), sim_state_dir=str(tmp_path / "s")
        )

        @asset(
            key=DOWNSTREAM,
            deps=[CANDLES_A],
            partitions_def=daily_partitions(config),
            backfill_policy=BackfillPolicy.single_run(),
        )
        def uses_sim_a() -> MaterializeResult[None]:
            return MaterializeResult()

        selection = (
            AssetSelection.groups("features")
            if select == "features"
            else AssetSelection.groups("market") - AssetSelection.tag("dataset", "instruments")
            | AssetSelection.assets(DOWNSTREAM)
        )
        job = define_asset_job("gated", selection=selection)
        definitions = Definitions.merge(
            build_definitions(config, str(path), resource),
            Definitions(assets=[uses_sim_a], jobs=[job]),
        )
        result = definitions.resolve_job_def("gated").execute_in_process(
            instance=instance, tags=range_tags(start, end), raise_on_error=False
        )
        return result, resource.lake()

    return go


def _check(result: Any, key: AssetKey, name: str) -> Any:
    (evaluation,) = [
        e
        for e in result.get_asset_check_evaluations()
        if e.asset_key == key and e.check_name == name
    ]
    return evaluation


def _materializations(result: Any) -> list[Any]:
    return [
        e.event_specific_data.materialization for e in result.get_asset_materialization_events()
    ]


GAP = """
[venues.faults]
gaps = [{ symbol = "ETH/USDT", start = 2024-03-02T05:00:00Z, end = 2024-03-02T08:00:00Z }]
"""


def test_a_gap_fails_the_blocking_check_names_the_partition_and_stops_downstream(
    run: Runner,
) -> None:
    result, _ = run(GAP, "2024-03-01", "2024-03-03")

    gaps = _check(result, CANDLES_A, "no_gaps")
    meta = {k: v.value for k, v in gaps.metadata.items()}
    assert not gaps.passed
    assert meta["missing_bars"] == 3
    assert meta["partitions_to_refetch"] == ["2024-03-02"]
    assert meta["repair_command"] == (
        "keel backfill --venue sim_a --dataset candles_1h --start 2024-03-02 --end 2024-03-02"
    )
    assert "ETH/USDT" in meta["sample"]
    assert _check(result, AssetKey(["market", "sim_b", "candles_1h"]), "no_gaps").passed
    assert DOWNSTREAM not in {m.asset_key for m in _materializations(result)}


def test_features_run_on_their_own_are_still_gated_by_failing_checks(run: Runner) -> None:
    failed, _ = run(GAP, "2024-03-01", "2024-03-03")
    assert not _check(failed, CANDLES_A, "no_gaps").passed

    alone, _ = run("", "2024-03-03", "2024-03-03", name="alone", select="features")

    assert not alone.success
    failure = next(e for e in alone.all_events if e.event_type_value == "STEP_FAILURE")
    assert "market/sim_a/candles_1h:no_gaps" in str(failure.event_specific_data.error)


def test_refetching_the_named_partition_repairs_the_gap_and_unblocks(run: Runner) -> None:
    failed, lake = run(GAP, "2024-03-01", "2024-03-03")
    assert not _check(failed, CANDLES_A, "no_gaps").passed

    repaired, lake = run("", "2024-03-02", "2024-03-02", name="healed")  # the exchange is back

    assert _check(repaired, CANDLES_A, "no_gaps").passed
    eth = lake.scan(catalog.candles("1h")).filter(
        pl.col("venue") == "sim_a", pl.col("symbol") == "ETH/USDT"
    )
    assert eth.collect().height == 3 * 24
    assert DOWNSTREAM in {m.asset_key for m in _materializations(repaired)}


def test_bars_missing_at_the_end_of_the_window_fail_freshness(run: Runner) -> None:
    late_gap = """
[venues.faults]
gaps = [{ symbol = "ETH/USDT", start = 2024-03-02T19:00:00Z, end = 2024-03-03T00:00:00Z }]
"""
    result, _ = run(late_gap, "2024-03-01", "2024-03-02")

    fresh = _check(result, CANDLES_A, "fresh")
    assert not fresh.passed
    assert "ETH/USDT" in fresh.metadata["sample"].value


def test_a_price_spike_other_venues_do_not_confirm_blocks_downstream(run: Runner) -> None:
    spike = """
[venues.faults]
bars = [{ symbol = "BTC/USDT", ts = 2024-03-03T10:00:00Z, kind = "spike", factor = 1.3 }]
"""
    result, _ = run(spike, "2024-03-01", "2024-03-03")

    outliers = _check(result, CANDLES_A, "no_return_outliers")
    confirmed = _check(result, CANDLES_A, "prices_confirmed")
    assert not outliers.passed
    assert outliers.severity.value == "WARN"
    assert "repair_command" not in outliers.metadata  # refetching returns the same bar
    assert not _check(result, CANDLES_A, "venues_agree").passed
    assert not confirmed.passed
    assert confirmed.severity.value == "ERROR"
    assert confirmed.metadata["bad_prices"].value == 1
    assert "2024-03-03" in confirmed.metadata["what_to_do"].value
    assert _check(result, CANDLES_A, "no_gaps").passed
    assert DOWNSTREAM not in {m.asset_key for m in _materializations(result)}


def test_exact_duplicates_and_shuffled_bars_are_normalized_on_ingest(run: Runner) -> None:
    messy = """
[venues.faults]
duplicates = true
out_of_order = true
"""
    result, lake = run(messy, "2024-03-01", "2024-03-02")

    assert result.success
    table = lake.scan(catalog.candles("1h")).filter(pl.col("venue") == "sim_a").collect()
    assert table.height == 2 * 48
    (event,) = [m for m in _materializations(result) if m.asset_key == CANDLES_A][:1]
    assert event.metadata["exact_duplicates_dropped"].value == 6
    assert _check(result, CANDLES_A, "unique_keys").passed


def test_a_broken_bar_is_rejected_at_write_time_and_nothing_is_written(run: Runner) -> None:
    broken = """
[venues.faults]
bars = [{ symbol = "ETH/USDT", ts = 2024-03-02T03:00:00Z, kind = "broken" }]
"""
    result, lake = run(broken, "2024-03-01", "2024-03-02")

    assert not result.success
    table = lake.scan(catalog.candles("1h")).collect()
    assert table.filter(pl.col("venue") == "sim_a").is_empty()
    assert table.filter(pl.col("venue") == "sim_b").height == 48


def test_the_suite_passes_good_candles_fails_bad_ones_and_writes_data_docs(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from lake.expectations import run_suite
    from trading.config import parse_config
    from trading.venues.factory import build_venue

    config = parse_config(
        {
            "data": {"history_start": "2024-01-01", "timeframes": ["1h"]},
            "venues": [{"kind": "sim", "name": "s", "instruments": ["BTC/USDT"]}],
        },
        tmp_path / "k.toml",
    )
    start = datetime(2024, 3, 1, tzinfo=UTC)
    good = build_venue(config.venues[0], config).fetch_candles(
        "BTC/USDT", "1h", start, start + timedelta(days=1)
    )
    bad = good.with_columns(
        low=pl.when(pl.col("ts") == start).then(pl.col("high") * 2).otherwise(pl.col("low"))
    )

    passed = run_suite("market/candles_1h", "good", "1h", good, tmp_path / "ge")
    failed = run_suite("market/candles_1h", "bad", "1h", bad, tmp_path / "ge")

    assert passed.success
    assert not failed.success
    assert {f["expectation"] for f in failed.failed} >= {
        "expect_column_pair_values_a_to_be_greater_than_b"
    }
    assert failed.docs_index is not None
    assert failed.docs_index.read_text().lower().count("<html") >= 1
