"""The ``keel`` command refuses flags and environments that would be ignored or fail half-way,
before anything runs, naming the flag or variable and the fix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orchestration.cli import main

TOMORROW = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
NEXT_WEEK = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()
TODAY = datetime.now(UTC).date().isoformat()


@pytest.fixture(autouse=True)
def _own_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("KEEL_DAGSTER_STORAGE", str(home / "storage"))


def _refused(argv: list[str]) -> str:
    with pytest.raises(SystemExit) as err:
        main(argv)
    return str(err.value.code)


def test_an_end_day_after_today_is_refused() -> None:
    message = _refused(["backfill", "--start", TODAY, "--end", TOMORROW])

    assert message.startswith(f"--end {TOMORROW} is after today ({TODAY} UTC)")
    assert f"use --end {TODAY} or leave --end out" in message


def test_a_range_wholly_in_the_future_is_refused() -> None:
    message = _refused(["backfill", "--start", TOMORROW, "--end", NEXT_WEEK])

    assert message.startswith(f"--end {NEXT_WEEK} is after today")


def test_one_typo_among_repeated_flags_is_named() -> None:
    venues = _refused(["backfill", "--start", TODAY, "--venue", "sim_alpha", "--venue", "sim_btea"])
    datasets = _refused(
        ["backfill", "--start", TODAY, "--dataset", "candles_1h", "--dataset", "candle_1m"]
    )

    assert venues == "--venue sim_btea: unknown; use one of: sim_alpha, sim_beta, sim_gamma"
    assert datasets.startswith("--dataset candle_1m: unknown; use one of: candles_1h, candles_1m")


def test_a_lake_root_that_does_not_exist_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "no_such_lake"
    monkeypatch.setenv("KEEL_LAKE", str(missing))

    message = _refused(["summary"])

    assert message == (
        f"KEEL_LAKE={missing} does not exist; fix the path, or create the folder "
        f"(mkdir -p {missing}) to start a new, empty lake there"
    )
    assert not missing.exists()


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux sysfs")
def test_a_lake_root_that_cannot_be_written_is_refused_before_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KEEL_LAKE", "/sys/kernel")  # exists, but nobody may create files there

    message = _refused(["backfill", "--start", TODAY, "--dataset", "candles_1h"])

    assert message.startswith("the lake /sys/kernel is read-only for this user")
