"""The trading job: one run per bar, launched by the trading sensor with the bar as run key."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job, in_process_executor
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

from assets.live import SHORTFALL, TRADING_RUN

TRADING_JOB = "trading"


def trading_job() -> UnresolvedAssetJobDefinition:
    """Trade one bar, check parity, update the implementation shortfall. In the run's own
    process: a run launched by the daemon already starts one process (import and load the
    definitions, seconds); the default multiprocess executor would start another per step before
    the first order (docs/performance.md, "Trading latency")."""
    return define_asset_job(
        TRADING_JOB,
        selection=AssetSelection.assets(TRADING_RUN, SHORTFALL),
        description="Trade the bar in the run's keel/bar tag: reconcile, decide, net, route, "
        "risk, submit, record; parity check; implementation shortfall.",
        executor_def=in_process_executor,
    )
