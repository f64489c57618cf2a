"""The trading sensor: when a new bar's features land in the feature table, request one run of
the trading job for that bar. The run key is the bar, so however often the sensor fires, or a
run is retried, a bar is traded at most once."""

from collections.abc import Callable
from datetime import datetime

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

from assets.live import BAR_TAG
from assets.resources import KeelResource

TRADING_SENSOR = "trading_on_new_bar"
# Dagster evaluates sensors every 30 s by default; a bar's decision should not wait that long.
# The sensor daemon loops every 5 s (its floor) and skips a sensor whose last tick began less
# than this interval ago, so an interval of 5 s skipped every other loop whenever the loop came
# round a hair early (ticks 10 s apart, 7 s median wait measured); 1 s lets every loop tick.
INTERVAL_SECONDS = 1


def bar_run_request(bar: datetime) -> RunRequest:
    """The run of one bar: run key and tag are the bar."""
    return RunRequest(run_key=f"bar-{bar.isoformat()}", tags={BAR_TAG: bar.isoformat()})


def trading_sensor(
    job: UnresolvedAssetJobDefinition,
    newest: Callable[[KeelResource], datetime | None] | None = None,
) -> SensorDefinition:
    """Watch the feature table's newest bar (the lake, not Dagster events: features written by
    any process count); off until turned on in the UI (trading is an explicit decision)."""

    def newest_bar(keel: KeelResource) -> datetime | None:
        from lake.live import newest_bar as read

        return read(keel.lake(), keel.config().data.research_timeframe)

    find = newest or newest_bar

    @sensor(
        name=TRADING_SENSOR,
        job=job,
        minimum_interval_seconds=INTERVAL_SECONDS,
        default_status=DefaultSensorStatus.STOPPED,
        description="One trading run per new bar of the feature table (run key = bar).",
    )
    def on_new_bar(context: SensorEvaluationContext, keel: KeelResource) -> RunRequest | SkipReason:
        bar = find(keel)
        if bar is None:
            return SkipReason("the feature table has no rows yet")
        if context.cursor == bar.isoformat():
            return SkipReason(f"bar {bar.isoformat()} already requested")
        context.update_cursor(bar.isoformat())
        return bar_run_request(bar)

    return on_new_bar
