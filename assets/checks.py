"""Data-quality checks on the market tables, run after every materialization of a venue's
candles. ERROR checks block: assets downstream of a failing table do not materialize.

Each result carries a sample of the offending rows and the partitions to refetch. The window
checked is the run's partition range, or the last ``quality.check_days`` days when a check runs
on its own.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
    asset_check,
    multi_asset_check,
)

from assets.market import MARKET_GROUP
from assets.quality_gates import (
    confirmed_finding,
    dedupe_hint,
    funding_gaps_finding,
    offending_sample,
    read_venues,
    unreadable_note,
)
from assets.resources import KeelResource
from trading.config import KeelConfig, QualityConfig, VenueConfig
from trading.timeframes import floor_time, timeframe_delta, utc_now
from trading.venues.kinds import capabilities_of, market_venues

_RANGE_START = "dagster/asset_partition_range_start"
_RANGE_END = "dagster/asset_partition_range_end"
_PARTITION = "dagster/partition"


BLOCKING_CHECKS = ("no_gaps", "fresh", "unique_keys", "great_expectations", "prices_confirmed")


def failing_blocking_checks(instance: Any, keys: list[AssetKey]) -> list[str]:
    """Blocking checks whose latest evaluation on any of ``keys`` failed, across runs, so an
    asset run on its own (not in the same run as its inputs) is still gated by them."""
    from dagster import AssetCheckKey
    from dagster._core.storage.asset_check_execution_record import (
        AssetCheckExecutionRecordStatus,
    )

    failing = []
    for key in keys:
        for name in BLOCKING_CHECKS:
            record = instance.get_latest_asset_check_evaluation_record(AssetCheckKey(key, name))
            if record is not None and record.status == AssetCheckExecutionRecordStatus.FAILED:
                failing.append(f"{key.to_user_string()}:{name}")
    return failing


def market_checks(config: KeelConfig) -> list[AssetChecksDefinition]:
    """The quality checks and great-expectations suite of every venue's candles, and the checks
    of its funding rates."""
    from assets.market import is_swap

    out: list[AssetChecksDefinition] = []
    for venue in market_venues(config.venues):
        swaps = tuple(s for s in venue.instruments if is_swap(s))
        if config.data.funding_rates and swaps and capabilities_of(venue).funding_history:
            key = AssetKey([MARKET_GROUP, venue.name, "funding_rates"])
            out.append(_funding_checks(venue, swaps, key, config.quality))
        for timeframe in config.data.timeframes:
            key = AssetKey([MARKET_GROUP, venue.name, f"candles_{timeframe}"])
            others = tuple(v.name for v in config.venues if v.name != venue.name)
            out.append(_quality_checks(venue, timeframe, key, config.quality, others))
            out.append(_expectations_check(venue, timeframe, key, config.quality))
    return out


def check_window(
    tags: dict[str, str], quality: QualityConfig, now: datetime
) -> tuple[datetime, datetime]:
    """``[start, end)`` to check: the run's days, else the last ``check_days`` days."""
    first = tags.get(_RANGE_START) or tags.get(_PARTITION)
    last = tags.get(_RANGE_END) or tags.get(_PARTITION)
    if first and last:
        lo, hi = date.fromisoformat(first), date.fromisoformat(last)
        start = datetime(lo.year, lo.month, lo.day, tzinfo=UTC)
        return start, datetime(hi.year, hi.month, hi.day, tzinfo=UTC) + timedelta(days=1)
    end = floor_time(now, "1d") + timedelta(days=1)
    return end - timedelta(days=quality.check_days), end


def _refetch(venue: str, dataset: str, days: list[date]) -> dict[str, Any]:
    """The partitions to refetch and the command that does it."""
    if not days:
        return {}
    first, last = min(days), max(days)
    return {
        "partitions_to_refetch": MetadataValue.json([d.isoformat() for d in sorted(set(days))]),
        "repair_command": MetadataValue.text(
            f"keel backfill --venue {venue} --dataset {dataset} --start {first} --end {last}"
        ),
    }


def _finding(
    key: AssetKey,
    check: str,
    offending: pl.DataFrame,
    severity: AssetCheckSeverity,
    counted: str,
    context: dict[str, Any],
) -> AssetCheckResult:
    """A check result: passed when nothing offends; its metadata counts and samples the
    offending rows, beside ``context`` (window, refetch hints, extra figures)."""
    return AssetCheckResult(
        asset_key=key,
        check_name=check,
        passed=offending.is_empty(),
        severity=severity,
        metadata={
            **context,
            counted: len(offending),
            "sample": offending_sample(offending),
        },
    )


def _quality_checks(
    venue: VenueConfig,
    timeframe: str,
    key: AssetKey,
    quality: QualityConfig,
    others: tuple[str, ...] = (),
) -> AssetChecksDefinition:
    name = venue.name
    symbols = venue.instruments

    @multi_asset_check(
        name=f"{name}_candles_{timeframe}_quality",
        specs=[
            AssetCheckSpec(
                "no_gaps", asset=key, blocking=True, description="every expected bar is present"
            ),
            AssetCheckSpec(
                "fresh",
                asset=key,
                blocking=True,
                description=f"newest bar lags at most {quality.stale_bars} bars",
            ),
            AssetCheckSpec(
                "unique_keys",
                asset=key,
                blocking=True,
                description="one row per venue, symbol and bar",
            ),
            AssetCheckSpec(
                "no_return_outliers",
                asset=key,
                description=f"no return beyond {quality.outlier_k} rolling stds",
            ),
            AssetCheckSpec(
                "venues_agree",
                asset=key,
                description=f"closes within {quality.divergence:.1%} of other venues",
            ),
            AssetCheckSpec(
                "prices_confirmed",
                asset=key,
                blocking=True,
                description="no return outlier that the other venues' closes do not confirm",
            ),
        ],
    )
    def quality_checks(
        context: AssetCheckExecutionContext, keel: KeelResource
    ) -> Iterator[AssetCheckResult]:
        from lake import catalog
        from trading.gaps import find_gaps, last_expected_bar
        from trading.quality import (
            cross_venue_divergence,
            duplicate_keys,
            return_outliers,
            stale_symbols,
        )

        now = utc_now()
        start, end = check_window(dict(context.run.tags), quality, now)
        step = timeframe_delta(timeframe)
        warmup = start - step * (quality.outlier_window + 1)
        in_window = (pl.col("ts") >= warmup) & (pl.col("ts") < end)
        # One venue's broken file must fail only that venue's checks: read venue by venue
        # (partition pruning keeps each read inside its own venue's files).
        spec = catalog.candles(timeframe)
        rows, other_rows, unreadable = read_venues(keel.lake(), spec, name, others, in_window)
        everyone = pl.concat([rows, other_rows])
        checked = rows.filter(pl.col("ts") >= start)
        as_of = min(now, end)
        last_expected = last_expected_bar(checked, timeframe, end, as_of)
        window_meta = {"window_start": start.isoformat(), "window_end": end.isoformat()}

        dataset = f"candles_{timeframe}"

        gaps = find_gaps(checked, timeframe, start, last_expected, symbols)
        gap_days = sorted(
            {day for a, b in gaps.select("gap_start", "gap_end").iter_rows() for day in _days(a, b)}
        )
        missing = int(gaps["missing_bars"].sum()) if len(gaps) else 0
        yield _finding(
            key,
            "no_gaps",
            gaps,
            AssetCheckSeverity.ERROR,
            "gaps",
            {**window_meta, "missing_bars": missing, **_refetch(name, dataset, gap_days)},
        )

        stale = stale_symbols(checked, timeframe, as_of, quality.stale_bars, symbols)
        # The last day checked, not the day after the window (the window's end is exclusive).
        last_day = (as_of - timedelta(microseconds=1)).date()
        refetch_today = _refetch(name, dataset, [last_day] if len(stale) else [])
        yield _finding(
            key,
            "fresh",
            stale,
            AssetCheckSeverity.ERROR,
            "stale_symbols",
            {**window_meta, "as_of": as_of.isoformat(), **refetch_today},
        )

        dupes = duplicate_keys(checked, ("venue", "symbol", "ts"))
        yield _finding(
            key,
            "unique_keys",
            dupes,
            AssetCheckSeverity.ERROR,
            "duplicate_rows",
            {**window_meta, **dedupe_hint(catalog.candles(timeframe).name, dupes)},
        )

        outliers = return_outliers(rows, quality.outlier_k, quality.outlier_window).filter(
            pl.col("ts") >= start
        )
        # Refetching returns the same bars: no repair hint (a hint must change the outcome).
        yield _finding(
            key, "no_return_outliers", outliers, AssetCheckSeverity.WARN, "outliers", window_meta
        )

        diverging = cross_venue_divergence(
            everyone.filter(pl.col("ts") >= start, pl.col("symbol").is_in(list(symbols))),
            quality.divergence,
        ).filter((pl.col("low_venue") == name) | (pl.col("high_venue") == name))
        yield _finding(
            key,
            "venues_agree",
            diverging,
            AssetCheckSeverity.WARN,
            "diverging_bars",
            {**window_meta, **unreadable_note(unreadable)},
        )
        yield confirmed_finding(key, outliers, diverging, name, window_meta)

    return quality_checks


def _funding_checks(
    venue: VenueConfig, swaps: tuple[str, ...], key: AssetKey, quality: QualityConfig
) -> AssetChecksDefinition:
    name = venue.name
    stale_after = timedelta(hours=quality.funding_stale_hours)

    @multi_asset_check(
        name=f"{name}_funding_rates_quality",
        specs=[
            AssetCheckSpec(
                "unique_keys",
                asset=key,
                blocking=True,
                description="one settlement per venue, symbol and time",
            ),
            AssetCheckSpec(
                "fresh",
                asset=key,
                description=f"a settlement within {quality.funding_stale_hours} h",
            ),
            AssetCheckSpec(
                "no_gaps",
                asset=key,
                blocking=True,
                description="no settlement missing, by each symbol's own settlement interval",
            ),
        ],
    )
    def funding_checks(
        context: AssetCheckExecutionContext, keel: KeelResource
    ) -> Iterator[AssetCheckResult]:
        from lake import catalog
        from trading.quality import duplicate_keys

        now = utc_now()
        start, end = check_window(dict(context.run.tags), quality, now)
        since = pl.col("ts") >= start - stale_after
        rows, _, _ = read_venues(
            keel.lake(), catalog.funding_rates(), name, (), since & (pl.col("ts") < end)
        )
        window_meta = {"window_start": start.isoformat(), "window_end": end.isoformat()}
        dupes = duplicate_keys(rows, ("venue", "symbol", "ts"))
        yield _finding(
            key,
            "unique_keys",
            dupes,
            AssetCheckSeverity.ERROR,
            "duplicate_rows",
            {**window_meta, **dedupe_hint(catalog.funding_rates().name, dupes)},
        )
        as_of = min(now, end)
        newest = rows.group_by("symbol").agg(newest=pl.col("ts").max())
        stale = (
            pl.DataFrame({"symbol": list(swaps)}, schema={"symbol": pl.String})
            .join(newest, on="symbol", how="left")
            .filter(pl.col("newest").is_null() | (pl.col("newest") < as_of - stale_after))
        )
        yield _finding(
            key,
            "fresh",
            stale,
            AssetCheckSeverity.WARN,
            "stale_symbols",
            {**window_meta, "as_of": as_of.isoformat()},
        )
        yield funding_gaps_finding(key, name, rows, swaps, start, as_of, window_meta)

    return funding_checks


def _expectations_check(
    venue: VenueConfig, timeframe: str, key: AssetKey, quality: QualityConfig
) -> AssetChecksDefinition:
    name = venue.name

    @asset_check(
        asset=key,
        name="great_expectations",
        blocking=True,
        description=f"the candles_{timeframe} great-expectations suite; Data Docs under var/",
    )
    def expectations(context: AssetCheckExecutionContext, keel: KeelResource) -> AssetCheckResult:
        from lake import catalog
        from lake.expectations import run_suite

        start, end = check_window(dict(context.run.tags), quality, utc_now())
        spec = catalog.candles(timeframe)
        window = (pl.col("ts") >= start) & (pl.col("ts") < end)
        rows, _, _ = read_venues(keel.lake(), spec, name, (), window)
        result = run_suite(spec.name, f"{name}_candles_{timeframe}", timeframe, rows)
        metadata: dict[str, Any] = {
            "window_start": start.isoformat(),
            "window_end": end.isoformat(),
            "rows": rows.height,
            "expectations": result.evaluated,
            "failed_expectations": MetadataValue.json(result.failed),
        }
        if result.docs_index is not None:
            metadata["data_docs"] = MetadataValue.url(result.docs_index.as_uri())
            metadata["data_docs_path"] = MetadataValue.path(str(result.docs_index))
        return AssetCheckResult(
            passed=result.success, severity=AssetCheckSeverity.ERROR, metadata=metadata
        )

    return expectations


def _days(first: datetime, last: datetime) -> list[date]:
    return [first.date() + timedelta(days=i) for i in range((last.date() - first.date()).days + 1)]
