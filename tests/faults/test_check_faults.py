"""Bad data blocks what it should and says how to repair it: a broken bar names itself and the
backfills around it, funding lost between pages is a gap by each symbol's own settlement
interval, and the freshness repair names a day inside the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from dagster import AssetKey, DagsterInstance

from assets.quality_gates import funding_gaps_finding
from assets.resources import KeelResource
from orchestration.cli_lake import failure_reason
from orchestration.definitions import build_definitions
from orchestration.schedules import range_tags
from trading.config import load_config
from trading.quality_gates import funding_gaps

BASE = """
[data]
history_start = "2024-01-01"
timeframes = ["1h"]
funding_rates = false

[[venues]]
kind = "sim"
name = "sim_a"
instruments = ["BTC/USDT", "ETH/USDT"]
{faults}
"""
T0 = datetime(2024, 3, 1, tzinfo=UTC)


def _run(tmp_path: Path, faults: str, start: str, end: str) -> Any:
    path = tmp_path / "keel.toml"
    path.write_text(BASE.replace("{faults}", faults))
    resource = KeelResource(
        config_path=str(path), lake_root=str(tmp_path / "lake"), sim_state_dir=str(tmp_path / "s")
    )
    definitions = build_definitions(load_config(path), str(path), resource)
    return definitions.resolve_job_def("market_data").execute_in_process(
        instance=DagsterInstance.ephemeral(),
        tags=range_tags(start, end),
        raise_on_error=False,
        asset_selection=[AssetKey(["market", "sim_a", "candles_1h"])],
    )


def test_a_broken_bar_names_the_rule_the_bar_and_the_backfills_around_it(
    tmp_path: Path,
) -> None:
    broken = """
[venues.faults]
bars = [{ symbol = "ETH/USDT", ts = 2024-03-02T03:00:00Z, kind = "broken" }]
"""
    result = _run(tmp_path, broken, "2024-03-01", "2024-03-03")

    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    reason = failure_reason(failure.event_specific_data.error)
    assert reason.startswith(
        "WriteRejectedError: market/candles_1h: sim_a served 1 broken rows "
        "(1 of 144 rows fail: low <= open, close <= high): sim_a ETH/USDT 2024-03-02 03:00 UTC."
    )
    assert "Nothing of 2024-03-01..2024-03-03 was written." in reason
    assert (
        "keel backfill --venue sim_a --dataset candles_1h --start 2024-03-01 --end 2024-03-01 and "
        "keel backfill --venue sim_a --dataset candles_1h --start 2024-03-03 --end 2024-03-03"
    ) in reason


def test_the_fresh_repair_names_the_last_day_of_the_window_not_the_day_after(
    tmp_path: Path,
) -> None:
    stale = """
[venues.faults]
gaps = [{ symbol = "ETH/USDT", start = 2024-03-02T12:00:00Z, end = 2024-03-03T00:00:00Z }]
"""
    result = _run(tmp_path, stale, "2024-03-01", "2024-03-02")

    (fresh,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "fresh"]
    assert not fresh.passed
    assert fresh.metadata["repair_command"].value == (
        "keel backfill --venue sim_a --dataset candles_1h --start 2024-03-02 --end 2024-03-02"
    )


def _settlements(symbol: str, hours: int, count: int, skip: set[int]) -> pl.DataFrame:
    ts = [T0 + timedelta(hours=hours * i) for i in range(count) if i not in skip]
    return pl.DataFrame(
        {"symbol": symbol, "ts": ts}, schema={"symbol": pl.String, "ts": pl.Datetime("us", "UTC")}
    )


def test_funding_gaps_are_judged_by_each_symbols_own_interval() -> None:
    rows = pl.concat(
        [
            _settlements("EIGHT", 8, 15, skip={5, 6}),  # two 8-hourly settlements lost
            _settlements("FOUR", 4, 30, skip={10}),  # one 4-hourly settlement lost
            _settlements("HOURLY", 1, 120, skip=set()),  # complete
        ]
    )

    gaps = funding_gaps(rows, ["EIGHT", "FOUR", "HOURLY"], T0, T0 + timedelta(days=5))

    assert gaps.select("symbol", "gap_start", "gap_end", "missing").rows() == [
        ("EIGHT", T0 + timedelta(hours=40), T0 + timedelta(hours=48), 2),
        ("FOUR", T0 + timedelta(hours=40), T0 + timedelta(hours=40), 1),
    ]
    assert gaps["interval"].to_list() == [timedelta(hours=8), timedelta(hours=4)]


def test_a_funding_gap_blocks_and_names_the_days_to_refetch() -> None:
    rows = _settlements("BTC/USDT:USDT", 8, 15, skip={5, 6})

    finding = funding_gaps_finding(
        AssetKey(["market", "sim_a", "funding_rates"]),
        "sim_a",
        rows,
        ("BTC/USDT:USDT",),
        T0,
        T0 + timedelta(days=5),
        {},
    )

    assert not finding.passed
    assert finding.severity.value == "ERROR"
    assert finding.metadata["missing_settlements"].value == 2
    assert finding.metadata["repair_command"].value == (
        "keel backfill --venue sim_a --dataset funding_rates --start 2024-03-02 --end 2024-03-03"
    )
