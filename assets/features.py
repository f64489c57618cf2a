"""The features asset: every registered feature of every venue and instrument, per day.

Incremental: a run computes only its days, reading the declared warm-up (the longest feature
lookback) from earlier days of the candle table. Downstream of the market assets, so a failing
blocking data-quality check on any venue's candles stops it.
"""

from datetime import UTC, datetime, timedelta

import polars as pl
from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.market import MARKET_GROUP, daily_partitions, is_swap
from assets.resources import KeelResource
from trading.config import KeelConfig
from trading.venues.kinds import capabilities_of, market_venues

FEATURES_GROUP = "features"


def features_key(config: KeelConfig) -> AssetKey:
    """The key of the feature asset of the research timeframe."""
    return AssetKey([FEATURES_GROUP, f"features_{config.data.research_timeframe}"])


def feature_assets(config: KeelConfig) -> list[AssetsDefinition]:
    """The features asset of the research timeframe."""
    timeframe = config.data.research_timeframe
    candle_keys = [
        AssetKey([MARKET_GROUP, v.name, f"candles_{timeframe}"])
        for v in market_venues(config.venues)
    ]
    deps = list(candle_keys)
    if config.data.funding_rates:
        deps += [
            AssetKey([MARKET_GROUP, v.name, "funding_rates"])
            for v in market_venues(config.venues)
            if capabilities_of(v).funding_history and any(is_swap(s) for s in v.instruments)
        ]

    @asset(
        key=features_key(config),
        group_name=FEATURES_GROUP,
        deps=[AssetDep(d) for d in deps],
        partitions_def=daily_partitions(config),
        backfill_policy=BackfillPolicy.single_run(),
        pool=f"lake_features_{timeframe}",
        kinds={"polars", "deltalake"},
        description=f"Every registered feature on {timeframe} bars of every venue and instrument "
        f"(Delta table features/features_{timeframe}); files in trading/features/library.",
    )
    def features(context: AssetExecutionContext, keel: KeelResource) -> MaterializeResult[None]:
        from assets.checks import failing_blocking_checks
        from lake import catalog
        from trading.features.inputs import feature_input
        from trading.features.registry import compute_features, max_lookback, registered_features
        from trading.timeframes import timeframe_delta

        failing = failing_blocking_checks(context.instance, candle_keys)
        if failing:
            raise RuntimeError(
                "features not computed: blocking data-quality checks fail on their inputs: "
                + ", ".join(failing)
                + ". Refetch the partitions those checks name (keel backfill ... , see the "
                "check's repair_command) and run again."
            )
        registry = registered_features()
        spec = catalog.features(timeframe, list(registry))
        lake = keel.lake()
        window = context.partition_time_window
        warmup = timeframe_delta(timeframe) * max_lookback(registry.values())
        # A feature the table does not hold yet (a new feature file) is computed over the
        # whole history, not just this run's days: its column must not be null before them.
        stored = set(lake.scan(spec).collect_schema().names()) if lake.exists(spec) else set()
        new = sorted(set(registry) - stored) if stored else []
        start = datetime(1970, 1, 1, tzinfo=UTC) if new else window.start
        if new:
            context.log.info(f"new features {new}: computing them over the whole history")
        lo = start - warmup
        candles = (
            lake.scan(catalog.candles(timeframe))
            .filter(pl.col("ts") >= lo, pl.col("ts") < window.end)
            .collect()
        )
        funding = (
            lake.scan(catalog.funding_rates())
            .filter(pl.col("ts") >= lo - timedelta(days=1), pl.col("ts") < window.end)
            .collect()
        )
        computed = compute_features(feature_input(candles, funding, timeframe), registry.values())
        rows = computed.filter(pl.col("ts") >= start, pl.col("ts") < window.end)
        result = lake.upsert(spec, rows)
        coverage = (
            rows.select([pl.col(n).is_not_null().mean().alias(n) for n in registry]).row(
                0, named=True
            )
            if rows.height
            else {}
        )
        return MaterializeResult(
            metadata={
                "table": MetadataValue.path(lake.uri(spec)),
                "rows_written": rows.height,
                "delta_version": result.version,
                "features": MetadataValue.json(list(registry)),
                "warmup_bars": max_lookback(registry.values()),
                "new_features_backfilled": MetadataValue.json(new),
                "window_start": window.start.isoformat(),
                "window_end": window.end.isoformat(),
                "non_null_share": MetadataValue.json(
                    {k: round(float(v or 0.0), 3) for k, v in coverage.items()}
                ),
            }
        )

    return [features]
