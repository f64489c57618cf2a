"""The refresh schedule asks for yesterday and today in one run."""

from __future__ import annotations

from datetime import UTC, datetime

from dagster import build_schedule_context

from orchestration.definitions import defs


def test_refresh_requests_yesterday_through_today_as_one_range() -> None:
    schedule = defs().resolve_schedule_def("market_refresh")
    context = build_schedule_context(
        scheduled_execution_time=datetime(2024, 5, 2, 0, 5, tzinfo=UTC)
    )

    requests = list(schedule.evaluate_tick(context).run_requests or [])

    assert len(requests) == 1
    assert requests[0].tags["dagster/asset_partition_range_start"] == "2024-05-01"
    assert requests[0].tags["dagster/asset_partition_range_end"] == "2024-05-02"
