"""The blocking and repair side of the market checks: a bad price that other venues do not
confirm blocks, funding settlements lost between pages block, a duplicate-key finding points at
``keel repair``, and one venue's unreadable files fail only that venue's checks."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
from dagster import AssetCheckResult, AssetCheckSeverity, AssetKey, MetadataValue

from assets.metadata import frame_md
from lake.catalog import TableSpec
from lake.store import Lake

_SAMPLE_ROWS = 10


def offending_sample(df: pl.DataFrame) -> MetadataValue:
    """The first offending rows of a failed check, as the UI shows them."""
    return frame_md(df, _SAMPLE_ROWS, "no offending rows", 30)


def read_venues(
    lake: Lake, spec: TableSpec, venue: str, others: tuple[str, ...], where: pl.Expr
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, str]]:
    """``venue``'s rows (a read failure here raises: the check of this venue fails, naming the
    file and the recovery), the other venues' rows, and the other venues that could not be
    read, with why: those are left out of cross-venue comparisons instead of failing them."""
    from lake import diagnose

    table = diagnose.scan(lake, spec)
    own = diagnose.collect(lake, spec, table.filter(pl.col("venue") == venue, where), venue)
    parts, unreadable = [own.head(0)], {}
    for other in others:
        try:
            parts.append(
                diagnose.collect(lake, spec, table.filter(pl.col("venue") == other, where), other)
            )
        except diagnose.LakeReadError as exc:
            unreadable[other] = str(exc)
    return own, pl.concat(parts), unreadable


def unreadable_note(unreadable: dict[str, str]) -> dict[str, Any]:
    """Metadata naming the venues a comparison had to leave out."""
    if not unreadable:
        return {}
    return {"venues_left_out": MetadataValue.json(unreadable)}


def dedupe_hint(table: str, duplicates: pl.DataFrame) -> dict[str, Any]:
    """Duplicate keys are not cured by refetching (MERGE matches one row, not the copies):
    ``keel repair`` keeps one row per key in one commit."""
    if duplicates.is_empty():
        return {}
    days = sorted({d.isoformat() for d in duplicates["date"].unique().to_list()})
    return {
        "partitions_with_duplicates": MetadataValue.json(days),
        "repair_command": MetadataValue.text(f"keel repair {table}"),
    }


def confirmed_finding(
    key: AssetKey,
    outliers: pl.DataFrame,
    diverging: pl.DataFrame,
    venue: str,
    context: dict[str, Any],
) -> AssetCheckResult:
    """Blocks when a return outlier of ``venue`` also disagrees with the other venues: the
    market did not make that move, so features and research must not use the price."""
    from trading.quality_gates import confirmed_outliers

    bad = confirmed_outliers(outliers, diverging, venue)
    metadata: dict[str, Any] = {
        **context,
        "bad_prices": len(bad),
        "sample": offending_sample(bad),
    }
    if not bad.is_empty():
        metadata["what_to_do"] = MetadataValue.text(
            f"{venue} served prices no other venue confirms; check them against the exchange. "
            "Once the exchange corrects them, backfill those days again "
            f"({', '.join(sorted({d.isoformat() for d in bad['date'].to_list()}))})"
        )
    return AssetCheckResult(
        asset_key=key,
        check_name="prices_confirmed",
        passed=bad.is_empty(),
        severity=AssetCheckSeverity.ERROR,
        metadata=metadata,
    )


def funding_gaps_finding(
    key: AssetKey,
    venue: str,
    rows: pl.DataFrame,
    swaps: tuple[str, ...],
    start: datetime,
    as_of: datetime,
    context: dict[str, Any],
) -> AssetCheckResult:
    """Blocks when settlements are missing inside the window, judged by each symbol's own
    settlement interval; the repair refetches the days of the gaps (lost pages come back)."""
    from trading.quality_gates import funding_gaps

    gaps = funding_gaps(rows, swaps, start, as_of)
    metadata: dict[str, Any] = {
        **context,
        "gaps": len(gaps),
        "missing_settlements": int(gaps["missing"].sum()) if len(gaps) else 0,
        "sample": offending_sample(gaps),
    }
    if len(gaps):
        days: set[date] = set()
        for lo, hi in gaps.select("gap_start", "gap_end").iter_rows():
            days.update(
                lo.date() + timedelta(days=i) for i in range((hi.date() - lo.date()).days + 1)
            )
        first, last = min(days), max(days)
        metadata["partitions_to_refetch"] = MetadataValue.json(
            [d.isoformat() for d in sorted(days)]
        )
        metadata["repair_command"] = MetadataValue.text(
            f"keel backfill --venue {venue} --dataset funding_rates --start {first} --end {last}"
        )
    return AssetCheckResult(
        asset_key=key,
        check_name="no_gaps",
        passed=gaps.is_empty(),
        severity=AssetCheckSeverity.ERROR,
        metadata=metadata,
    )
