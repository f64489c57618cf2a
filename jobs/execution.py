"""The execution report job: the rewards and volume report of one day."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

EXECUTION_REPORT_JOB = "execution_report"


def execution_report_job() -> UnresolvedAssetJobDefinition:
    """The daily rewards and volume report."""
    return define_asset_job(
        EXECUTION_REPORT_JOB,
        selection=AssetSelection.assets(["execution", "rewards_daily"]),
        description="Volume, fees, rebates and points per venue and day, and routing savings.",
    )
