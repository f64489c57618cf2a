"""The portfolio job: the ideas pipeline, the allocation, the regime report and diversity,
recomputed together on a schedule (after the day's research)."""

from __future__ import annotations

from dagster import AssetSelection, ScheduleDefinition, define_asset_job
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

PORTFOLIO_JOB = "portfolio"


def portfolio_job() -> UnresolvedAssetJobDefinition:
    """Ideas pipeline, allocation, regime report, diversity."""
    return define_asset_job(
        PORTFOLIO_JOB,
        selection=AssetSelection.groups("ideas", "portfolio"),
        description="Ideas per stage, portfolio weights and backtest, regime report, diversity.",
    )


def portfolio_schedule(job: UnresolvedAssetJobDefinition, cron: str) -> ScheduleDefinition:
    """Recompute the portfolio on the configured cadence (weights use past returns only)."""
    return ScheduleDefinition(
        name="portfolio_refresh",
        job=job,
        cron_schedule=cron,
        execution_timezone="UTC",
        description="Recomputes portfolio weights, its backtest and the regime report.",
    )
