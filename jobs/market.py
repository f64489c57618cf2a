"""The market-data job: every market asset for a day or a range of days, in one run."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

from assets.market import MARKET_GROUP

MARKET_JOB = "market_data"


def market_data_job() -> UnresolvedAssetJobDefinition:
    """Refresh or backfill candles and funding rates of every venue (partitioning comes from
    the assets: daily, one run per range)."""
    return define_asset_job(
        MARKET_JOB,
        selection=AssetSelection.groups(MARKET_GROUP),
        description="Candles and funding rates of every configured venue and instrument.",
    )
