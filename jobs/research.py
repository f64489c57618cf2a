"""The research job: backtest every strategy (one run for all of them) and rank them."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

RESEARCH_JOB = "research"


def research_job() -> UnresolvedAssetJobDefinition:
    """Backtests of every registered strategy."""
    return define_asset_job(
        RESEARCH_JOB,
        selection=AssetSelection.assets(["research", "backtests"]),
        description="Backtest every registered strategy on the feature table.",
    )
