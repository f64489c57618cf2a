"""Market-data assets: candles per timeframe and funding rates, one asset per venue, partitioned
by day. A range of days runs as one run (single-run backfill policy) and writes through the
lake's idempotent MERGE, so any partition can be re-materialized without changing the table."""

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    DailyPartitionsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.resources import KeelResource
from lake.catalog import TableSpec
from trading.config import KeelConfig, VenueConfig
from trading.text import counted
from trading.timeframes import floor_time, timeframe_delta, timeframe_minutes, utc_now
from trading.venues.kinds import capabilities_of, market_venues

MARKET_GROUP = "market"
# Bars per write: bounds memory on long minute-bar backfills; each chunk holds whole days.
_ROWS_PER_WRITE = 500_000


def daily_partitions(config: KeelConfig) -> DailyPartitionsDefinition:
    """Daily UTC partitions from the configured history start through today (in progress)."""
    return DailyPartitionsDefinition(
        start_date=config.data.history_start.isoformat(), end_offset=1, timezone="UTC"
    )


def is_swap(symbol: str) -> bool:
    """ccxt's unified symbols mark perpetual swaps with a settle currency: ``BTC/USDT:USDT``."""
    return ":" in symbol


def instrument_assets(config: KeelConfig) -> list[AssetsDefinition]:
    """One unpartitioned asset per venue: its markets (precision, limits, fees) in the lake."""
    return [_instruments_asset(venue) for venue in market_venues(config.venues)]


def _instruments_asset(venue: VenueConfig) -> AssetsDefinition:
    name = venue.name

    @asset(
        name="instruments",
        key_prefix=[MARKET_GROUP, name],
        group_name=MARKET_GROUP,
        pool="lake_instruments",
        kinds={"polars", "deltalake"},
        tags={"venue": name, "dataset": "instruments"},
        description=f"Markets of the {counted(len(venue.instruments), 'instrument')} configured on "
        f"{name}: "
        "precision, limits, contract size and fees, in the Delta table market/instruments.",
    )
    def instruments(context: AssetExecutionContext, keel: KeelResource) -> MaterializeResult[None]:
        from lake import catalog

        spec = catalog.instruments()
        source = keel.venue(name)
        frame = pl.DataFrame(
            [{f: getattr(i, f) for f in spec.layout} for i in source.instruments()],
            schema=dict(spec.layout),
        )
        lake = keel.lake()
        result = lake.upsert(spec, frame)
        with pl.Config(tbl_formatting="MARKDOWN", tbl_hide_column_data_types=True, tbl_rows=50):
            table = str(frame.drop("venue"))
        return MaterializeResult(
            metadata={
                "table": MetadataValue.path(lake.uri(spec)),
                "instruments": len(frame),
                "rows_inserted": result.inserted,
                "rows_updated": result.updated,
                "delta_version": result.version,
                "markets": MetadataValue.md(table),
            }
        )

    return instruments


def market_assets(config: KeelConfig) -> list[AssetsDefinition]:
    """Every daily-partitioned market-data asset the config asks for: candles per timeframe and
    venue, and funding rates of each venue that lists swaps. Cheap: no venue is built here."""
    partitions = daily_partitions(config)
    out: list[AssetsDefinition] = []
    for venue in market_venues(config.venues):
        for timeframe in config.data.timeframes:
            out.append(_candles_asset(venue, timeframe, partitions))
        swaps = tuple(s for s in venue.instruments if is_swap(s))
        if config.data.funding_rates and swaps and capabilities_of(venue).funding_history:
            out.append(_funding_asset(venue, swaps, partitions))
    return out


def _chunks(start: datetime, end: datetime, days: int) -> Iterator[tuple[datetime, datetime]]:
    step = timedelta(days=max(1, days))
    while start < end:
        yield start, min(start + step, end)
        start += step


def _candles_asset(
    venue: VenueConfig, timeframe: str, partitions: DailyPartitionsDefinition
) -> AssetsDefinition:
    name = venue.name
    symbols = venue.instruments
    bars_per_day = 1440 // timeframe_minutes(timeframe)

    @asset(
        name=f"candles_{timeframe}",
        key_prefix=[MARKET_GROUP, name],
        group_name=MARKET_GROUP,
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        pool=f"lake_candles_{timeframe}",
        kinds={"polars", "deltalake"},
        tags={"venue": name, "dataset": "candles", "timeframe": timeframe},
        description=(
            f"{timeframe} candles of {counted(len(symbols), 'instrument')} on {name} "
            f"({venue.kind}), "
            f"in the Delta table market/candles_{timeframe}, partitioned by venue and day."
        ),
    )
    def candles(context: AssetExecutionContext, keel: KeelResource) -> MaterializeResult[None]:
        from lake import catalog
        from trading.gaps import find_gaps

        window = context.partition_time_window
        source = keel.venue(name)
        spec = catalog.candles(timeframe)
        chunk_days = max(1, _ROWS_PER_WRITE // (bars_per_day * len(symbols)))
        return _ingest(
            context,
            keel,
            spec,
            window.start,
            window.end,
            chunk_days,
            lambda lo, hi: [source.fetch_candles(s, timeframe, lo, hi) for s in symbols],
            lambda df, lo, last: find_gaps(df, timeframe, lo, last, symbols),
            timeframe,
        )

    return candles


def _funding_asset(
    venue: VenueConfig, swaps: tuple[str, ...], partitions: DailyPartitionsDefinition
) -> AssetsDefinition:
    name = venue.name

    @asset(
        name="funding_rates",
        key_prefix=[MARKET_GROUP, name],
        group_name=MARKET_GROUP,
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        pool="lake_funding_rates",
        kinds={"polars", "deltalake"},
        tags={"venue": name, "dataset": "funding_rates"},
        description=(
            f"Funding-rate settlements of {len(swaps)} perpetual swaps on {name}, in the "
            "Delta table market/funding_rates, partitioned by venue and day."
        ),
    )
    def funding_rates(
        context: AssetExecutionContext, keel: KeelResource
    ) -> MaterializeResult[None]:
        from lake import catalog

        window = context.partition_time_window
        source = keel.venue(name)
        return _ingest(
            context,
            keel,
            catalog.funding_rates(),
            window.start,
            window.end,
            3650,
            lambda lo, hi: [source.fetch_funding_rates(s, lo, hi) for s in swaps],
            None,
            None,
        )

    return funding_rates


def _ingest(
    context: AssetExecutionContext,
    keel: KeelResource,
    spec: TableSpec,
    start: datetime,
    end: datetime,
    chunk_days: int,
    fetch: Callable[[datetime, datetime], list[pl.DataFrame]],
    gaps_of: Callable[[pl.DataFrame, datetime, datetime], pl.DataFrame] | None,
    timeframe: str | None,
) -> MaterializeResult[None]:
    """Fetch, validate and write the window in whole-day chunks of bounded size, one after
    the other: memory follows one chunk, not the range. A bad payload fails the step before its
    chunk is written; chunks written before it stay (each write is an idempotent MERGE, so
    re-running the range repairs without duplicates)."""
    from assets.rejections import explain_rejection
    from lake.store import SchemaViolationError, WriteResult

    lake = keel.lake()
    results: list[WriteResult] = []
    gap_frames: list[pl.DataFrame] = []
    dropped = reordered = 0
    now = utc_now()
    for lo, hi in _chunks(start, end, chunk_days):
        parts = [p for p in fetch(lo, hi) if not p.is_empty()]
        chunk = pl.concat(parts) if parts else pl.DataFrame()
        del parts
        if chunk.is_empty():
            continue
        # Exact repeats (overlapping pages) are harmless and dropped; the same key with other
        # values is a conflict the write-time rules reject.
        unique = chunk.unique(maintain_order=True)
        dropped += chunk.height - unique.height
        ordered = unique.sort(list(spec.key))
        reordered += int(not ordered.equals(unique))
        del chunk, unique
        try:
            results.append(lake.upsert(spec, ordered))
        except SchemaViolationError as exc:
            raise explain_rejection(exc, spec.name.split("/")[-1], lo, hi, start, end) from None
        if gaps_of is not None and timeframe is not None:
            last = min(hi, floor_time(now, timeframe)) - timeframe_delta(timeframe)
            gap_frames.append(gaps_of(ordered, lo, last))
    rows = sum(r.rows for r in results)
    gaps = pl.concat(gap_frames) if gap_frames else pl.DataFrame()
    missing = int(gaps.get_column("missing_bars").sum()) if not gaps.is_empty() else 0
    metadata: dict[str, object] = {
        "table": MetadataValue.path(lake.uri(spec)),
        "rows_written": rows,
        "rows_inserted": sum(r.inserted for r in results),
        "rows_updated": sum(r.updated for r in results),
        "delta_version": results[-1].version if results else lake.version(spec),
        "window_start": start.isoformat(),
        "window_end": end.isoformat(),
        "first_ts": min((r.min_ts for r in results if r.min_ts), default=None),
        "last_ts": max((r.max_ts for r in results if r.max_ts), default=None),
    }
    for key in ("first_ts", "last_ts"):
        value = metadata[key]
        metadata[key] = value.isoformat() if isinstance(value, datetime) else "none"
    metadata["exact_duplicates_dropped"] = dropped
    metadata["out_of_order_chunks"] = reordered
    if timeframe is not None:
        metadata["gaps"] = len(gaps)
        metadata["missing_bars"] = missing
        if missing:
            with pl.Config(tbl_rows=20, tbl_formatting="MARKDOWN", tbl_hide_column_data_types=True):
                metadata["gaps_sample"] = MetadataValue.md(str(gaps.head(20)))
            context.log.warning(
                f"{counted(len(gaps), 'gap')}, {counted(missing, 'missing bar')} in {spec.name}"
            )
    if rows == 0:
        context.log.warning(f"{spec.name}: the venue returned no rows for {start}..{end}")
    return MaterializeResult(metadata=metadata)  # type: ignore[arg-type]
