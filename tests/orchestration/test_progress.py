"""Backfills in bounded runs with progress: the plan covers the range exactly once, each run
stays within the row budget, today runs last and alone, and the CLI prints progress from its
first line to 100%."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from lake import catalog
from lake.store import Lake
from orchestration import progress
from orchestration.cli import main
from orchestration.progress import Progress, days_per_run, plan_windows, rows_per_day
from trading.config import parse_config
from trading.timeframes import utc_now

CONFIG = """
[data]
history_start = "2024-01-01"
timeframes = ["1h", "1m"]

[simulation]
seed = 3

[[venues]]
kind = "sim"
name = "sim_a"
instruments = ["BTC/USDT", "ETH/USDT", "BTC/USDT:USDT"]

[[venues]]
kind = "sim"
name = "sim_b"
instruments = ["BTC/USDT", "SOL/USDT:USDT"]
"""


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("KEEL_DAGSTER_STORAGE", str(home / "storage"))
    path = tmp_path / "keel.toml"
    path.write_text(CONFIG)
    monkeypatch.setenv("KEEL_CONFIG", str(path))
    return path


def test_a_range_reaching_today_ends_with_a_run_of_today_alone() -> None:
    windows = plan_windows(date(2026, 1, 1), date(2026, 1, 10), 4, today=date(2026, 1, 10))

    assert windows == [
        (date(2026, 1, 1), date(2026, 1, 4)),
        (date(2026, 1, 5), date(2026, 1, 8)),
        (date(2026, 1, 9), date(2026, 1, 9)),
        (date(2026, 1, 10), date(2026, 1, 10)),
    ]


def test_windows_cover_every_day_once_in_order_within_the_run_length() -> None:
    start = date(2026, 3, 1)
    for length in range(1, 12):
        end = start + timedelta(days=length - 1)
        for days in range(1, 6):
            for today in (end, end + timedelta(days=1), end + timedelta(days=30)):
                windows = plan_windows(start, end, days, today)
                covered = [
                    lo + timedelta(days=i) for lo, hi in windows for i in range((hi - lo).days + 1)
                ]
                assert covered == [start + timedelta(days=i) for i in range(length)]
                assert all((hi - lo).days < days for lo, hi in windows)
                if end >= today:
                    assert windows[-1] == (end, end)


def test_rows_per_day_count_every_venue_and_runs_fit_the_row_budget(tmp_path: Path) -> None:
    config = parse_config(__import__("tomllib").loads(CONFIG), tmp_path / "keel.toml")
    keys = [
        ("market", "sim_a", "candles_1m"),
        ("market", "sim_b", "candles_1m"),
        ("market", "sim_a", "funding_rates"),
        ("market", "sim_b", "funding_rates"),
        ("features", "features_1h"),
    ]

    per_day = rows_per_day(config, keys)

    assert per_day == {"candles_1m": 5 * 1440, "funding_rates": 2 * 3, "features_1h": 5 * 24}
    assert days_per_run(per_day, rows_per_run=100_000) == 100_000 // 7200
    assert days_per_run(per_day, rows_per_run=10) == 1
    assert days_per_run({"candles_1d": 5}) == progress.MAX_DAYS_PER_RUN


def test_progress_line_shows_share_rows_rate_and_eta() -> None:
    ticks = iter([0.0, 10.0])
    out = io.StringIO()
    counter = Progress(total=8, out=out, clock=lambda: next(ticks))
    counter.start("plan")
    counter.done, counter.rows = 2, 5_000

    counter.report("step done")

    assert out.getvalue().splitlines() == [
        "plan",
        "   25%  2/8 partitions  5,000 rows  500 rows/s  10s elapsed  ETA 30s  step done",
    ]


def test_backfill_prints_progress_first_then_runs_bounded_windows_to_100_percent(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(progress, "ROWS_PER_RUN", 2 * 5 * 1440)  # two days of minute bars a run

    code = main(
        ["backfill", "--start", "2024-03-01", "--end", "2024-03-05", "--dataset", "candles_1m"]
    )

    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines[0].startswith(
        "backfill 2024-03-01..2024-03-05: 5 days x 2 assets = 10 partitions, ~36,000 rows, "
        "in 3 runs of at most 2 days"
    )
    assert lines[2].startswith("    0%  0/10 partitions")
    started = [line.split("  ")[-1] for line in lines if line.endswith("started")]
    assert started == [
        "run 1/3: 2024-03-01..2024-03-02 started",
        "run 2/3: 2024-03-03..2024-03-04 started",
        "run 3/3: 2024-03-05..2024-03-05 started",
    ]
    assert any(line.startswith("  100%  10/10 partitions  36,000 rows") for line in lines)
    candles = Lake().scan(catalog.candles("1m")).select(pl.len()).collect().item()
    assert candles == 36_000


def test_a_failed_run_stops_the_backfill_and_prints_the_resume_command(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config_file.write_text(
        CONFIG
        + '\n[venues.faults]\nbars = [{ symbol = "SOL/USDT:USDT", ts = 2024-03-03T10:00:00Z, '
        'kind = "broken" }]\n'
    )
    monkeypatch.setattr(progress, "ROWS_PER_RUN", 2 * 5 * 24)  # two days of hourly bars a run

    code = main(
        ["backfill", "--start", "2024-03-01", "--end", "2024-03-06", "--dataset", "candles_1h"]
    )

    out = capsys.readouterr().out
    assert code == 1
    assert "run 3/3" not in out
    assert "market/sim_b/candles_1h FAILED" in out
    assert (
        "backfill stopped at run 2/3 (2024-03-03..2024-03-04); fix the cause above, then resume "
        "with: keel backfill --start 2024-03-03 --end 2024-03-06" in out
    )


def test_a_backfill_reaching_today_judges_freshness_on_a_last_run_of_today(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    today = utc_now().date()
    start = today - timedelta(days=1)

    code = main(["backfill", "--start", start.isoformat(), "--dataset", "candles_1m"])

    out = capsys.readouterr().out
    assert code == 0, out
    assert f"run 2/2: {today}..{today} started" in out
    assert "fresh" not in out  # no failing freshness check is listed


def test_strategy_ranges_split_in_order_with_sizes_within_one() -> None:
    from orchestration.research_split import split_ranges

    names = [f"s{i:02d}" for i in range(7)]

    assert split_ranges(names, 3) == [("s00", "s02"), ("s03", "s04"), ("s05", "s06")]
    assert split_ranges(names, 1) == [("s00", "s06")]
    assert split_ranges(names[:2], 5) == [("s00", "s00"), ("s01", "s01")]


def test_a_one_day_one_asset_backfill_prints_its_counts_in_the_singular(tmp_path: Path) -> None:
    import tomllib

    from dagster import AssetKey

    from orchestration.progress import run_backfill

    out = io.StringIO()
    day = date(2024, 3, 1)
    key = AssetKey(["market", "sim_b", "candles_1h"])  # BTC/USDT, SOL/USDT:USDT: 48 rows a day

    config = parse_config(tomllib.loads(CONFIG), tmp_path / "keel.toml")

    ok = run_backfill(
        config, day, day, [key], lambda tags, listener: True, today=day, rows_per_run=48, out=out
    )

    lines = out.getvalue().splitlines()
    assert ok
    assert lines[0] == (
        "backfill 2024-03-01..2024-03-01: 1 day x 1 asset = 1 partition, ~48 rows, "
        "in 1 run of at most 1 day (<= 48 rows per table per run)"
    )
    assert lines[2].startswith("    0%  0/1 partition  0 rows  ")
    assert lines[2].endswith("run 1/1: 2024-03-01..2024-03-01 started")
