"""Where runtime state lives: everything under ``var/`` in the project (git-ignored)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
VAR = PROJECT_ROOT / "var"
DAGSTER_STORAGE_ENV = "KEEL_DAGSTER_STORAGE"
SIM_STATE_ENV = "KEEL_SIM_STATE"
REPORTS_ENV = "KEEL_REPORTS"


def dagster_storage() -> Path:
    """The local Dagster instance's storage folder (runs, events, schedules)."""
    return Path(os.environ.get(DAGSTER_STORAGE_ENV) or VAR / "dagster")


def sim_state_dir() -> Path:
    """Where simulated venues keep their account state between runs."""
    return Path(os.environ.get(SIM_STATE_ENV) or VAR / "sim")


def reports_dir() -> Path:
    """Where research writes its HTML reports (linked from asset metadata)."""
    return Path(os.environ.get(REPORTS_ENV) or VAR / "reports")


def ensure_dagster_home() -> Path:
    """Point Dagster at the project's ``dagster.yaml`` and ``var/dagster`` unless the caller
    already chose an instance, so the CLI, ``make ui`` and ``make demo`` share one instance."""
    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT))
    os.environ.setdefault(DAGSTER_STORAGE_ENV, str(dagster_storage()))
    dagster_storage().mkdir(parents=True, exist_ok=True)
    return Path(os.environ["DAGSTER_HOME"])
