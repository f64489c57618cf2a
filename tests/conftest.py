"""Shared test helpers: a small config, a fixed clock, a lake in a temp folder."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import settings

from lake.store import Lake
from trading.config import KeelConfig, parse_config

# CI replays the same examples every run (a property test cannot pass one day and fail the next
# on a clean clone); locally hypothesis explores new ones and keeps failures in .hypothesis/.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

FIXTURES = Path(__file__).parent / "fixtures"
# A fixed "now" well after the windows the tests read, so every bar they ask for has closed.
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def small_config_dict() -> dict[str, object]:
    """Two simulated venues with a few spot and swap instruments."""
    return {
        "data": {
            "history_start": "2024-01-01",
            "timeframes": ["1h"],
            "demo_days": {"1h": 2},
        },
        "simulation": {"seed": 11},
        "venues": [
            {
                "kind": "sim",
                "name": "sim_a",
                "instruments": ["BTC/USDT", "ETH/USDT", "BTC/USDT:USDT"],
            },
            {
                "kind": "sim",
                "name": "sim_b",
                "liquidity": 0.3,
                "basis_bps": 10.0,
                "instruments": ["BTC/USDT", "SOL/USDT:USDT"],
            },
        ],
    }


@pytest.fixture(autouse=True)
def _isolated_state(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing a test runs writes into the project's var/ folder."""
    root = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("KEEL_GE_ROOT", str(root / "great_expectations"))
    (root / "lake").mkdir()
    monkeypatch.setenv("KEEL_LAKE", str(root / "lake"))
    monkeypatch.setenv("KEEL_SIM_STATE", str(root / "sim"))
    monkeypatch.setenv("KEEL_REPORTS", str(root / "reports"))


@pytest.fixture
def small_config(tmp_path: Path) -> KeelConfig:
    return parse_config(small_config_dict(), tmp_path / "keel.toml")


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake")


@pytest.fixture
def clock() -> Callable[[], datetime]:
    return lambda: NOW
