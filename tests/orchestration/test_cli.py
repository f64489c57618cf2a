"""The ``keel`` command's answers to bad input: what is wrong, what is valid, no traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestration.cli import main

CCXT_CONFIG = """
[data]
history_start = "2024-01-01"
timeframes = ["1h"]

[[venues]]
kind = "ccxt"
name = "binance_spot"
exchange = "binance"
instruments = ["BTC/USDT"]
api_key_env = "KEEL_TEST_UNSET_KEY"
secret_env = "KEEL_TEST_UNSET_SECRET"
"""


@pytest.fixture(autouse=True)
def _own_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("KEEL_DAGSTER_STORAGE", str(home / "storage"))


def test_a_selection_matching_nothing_lists_the_valid_datasets_and_venues() -> None:
    with pytest.raises(SystemExit) as err:
        main(["backfill", "--start", "2026-11-01", "--venue", "binance"])

    message = str(err.value.code)
    assert message == "--venue binance: unknown; use one of: sim_alpha, sim_beta, sim_gamma"


def test_a_day_before_history_start_says_how_to_fix_it() -> None:
    with pytest.raises(SystemExit, match=r"before data\.history_start"):
        main(["backfill", "--start", "2019-01-01"])


def test_an_invalid_config_exits_2_with_the_key_and_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "keel.toml"
    bad.write_text(CCXT_CONFIG.replace('exchange = "binance"', 'exchange = "binanse"'))
    monkeypatch.setenv("KEEL_CONFIG", str(bad))

    assert main(["backfill", "--start", "2026-11-01"]) == 2

    assert "'binanse' is not a ccxt exchange id" in capsys.readouterr().err


def test_a_missing_credential_fails_the_run_with_one_clear_line_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "keel.toml"
    config.write_text(CCXT_CONFIG)
    monkeypatch.setenv("KEEL_CONFIG", str(config))
    monkeypatch.delenv("KEEL_TEST_UNSET_KEY", raising=False)

    code = main(["backfill", "--start", "2026-11-01", "--end", "2026-11-01"])

    out = capsys.readouterr()
    assert code == 1
    assert "FAILED" in out.out
    assert "KEEL_TEST_UNSET_KEY (its api_key) is not set; export it" in out.out
    assert "Traceback" not in out.out + out.err
    assert not (Path(os.environ["KEEL_LAKE"]) / "market").exists()


def test_trade_on_a_lake_without_features_says_what_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = tmp_path / "lake"
    lake.mkdir()
    monkeypatch.setenv("KEEL_LAKE", str(lake))

    assert main(["trade"]) == 1

    assert "the feature table has no rows yet" in capsys.readouterr().out
