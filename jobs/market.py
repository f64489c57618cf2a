"""Market-data jobs: candles and funding rates for a day or a range of days in one run, and the
venues' markets (unpartitioned)."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

from assets.market import MARKET_GROUP

MARKET_JOB = "market_data"
INSTRUMENTS_JOB = "instruments"
_INSTRUMENTS = AssetSelection.tag("dataset", "instruments")


def market_data_job() -> UnresolvedAssetJobDefinition:
    """Refresh or backfill candles and funding rates of every venue (partitioning comes from
    the assets: daily, one run per range)."""
    return define_asset_job(
        MARKET_JOB,
        selection=AssetSelection.groups(MARKET_GROUP, "features") - _INSTRUMENTS,
        description="Candles and funding rates of every configured venue and instrument, then "
        "the features computed from them.",
    )


def instruments_job() -> UnresolvedAssetJobDefinition:
    """Reload every venue's markets (precision, limits, fees) into the lake."""
    return define_asset_job(
        INSTRUMENTS_JOB,
        selection=_INSTRUMENTS,
        description="Markets of every configured venue: precision, limits, contract size, fees.",
    )
