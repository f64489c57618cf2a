"""The refresh schedule: the newest partitions (yesterday and today) of every market asset."""

from __future__ import annotations

from datetime import timedelta

from dagster import RunRequest, ScheduleDefinition, ScheduleEvaluationContext
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)


def range_tags(start: str, end: str) -> dict[str, str]:
    """Run tags that make one run cover a range of daily partitions (inclusive)."""
    return {ASSET_PARTITION_RANGE_START_TAG: start, ASSET_PARTITION_RANGE_END_TAG: end}


def refresh_schedule(job: UnresolvedAssetJobDefinition, cron: str) -> ScheduleDefinition:
    """Re-fetch yesterday and today on the configured cadence. Yesterday is included so the last
    bars of a day are completed after midnight; the MERGE makes the overlap free of duplicates."""

    def evaluate(context: ScheduleEvaluationContext) -> RunRequest:
        now = context.scheduled_execution_time
        today = now.date()
        start = (today - timedelta(days=1)).isoformat()
        return RunRequest(
            run_key=f"refresh-{now.isoformat()}",
            tags=range_tags(start, today.isoformat()),
        )

    return ScheduleDefinition(
        name="market_refresh",
        job=job,
        cron_schedule=cron,
        execution_timezone="UTC",
        execution_fn=evaluate,
        description="Refreshes the newest market-data partitions of every venue.",
    )


def instruments_schedule(job: UnresolvedAssetJobDefinition) -> ScheduleDefinition:
    """Reload markets daily: exchanges change tick sizes, limits and fees without notice."""
    return ScheduleDefinition(
        name="instruments_refresh",
        job=job,
        cron_schedule="15 0 * * *",
        execution_timezone="UTC",
        description="Reloads every venue's markets (precision, limits, fees) into the lake.",
    )
