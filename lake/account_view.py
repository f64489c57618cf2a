"""The ledger's reads and writes against the lake: one venue's sync into the account tables,
and the consolidated view built from them and from the freshest marks in the market tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from lake import catalog
from lake.account_store import write_venue_state
from lake.store import Lake
from trading import frames
from trading.account.caps import VenueCaps
from trading.account.ledger import LedgerView, build_view
from trading.account.sync import AccountRead
from trading.account.valuation import MARKS_SCHEMA
from trading.timeframes import timeframe_delta

_MARK_LOOKBACK = timedelta(days=3)


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What one venue's sync wrote."""

    venue: str
    balances: int
    positions: int
    open_orders: int
    new_fills: int
    changed_rows: int  # inserted + updated + deleted over the state tables and fills


def newest_fill(lake: Lake, venue: str) -> datetime | None:
    """The newest stored fill time of a venue: where the next incremental fill read starts."""
    newest = (
        lake.scan(catalog.account_fills())
        .filter(pl.col("venue") == venue)
        .select(pl.col("ts").max())
        .collect()
        .item()
    )
    return newest if isinstance(newest, datetime) else None


def write_sync(lake: Lake, read: AccountRead) -> SyncResult:
    """Write one venue's read: every frame is validated before anything is written."""
    for spec, df in (
        (catalog.account_balances(), read.balances),
        (catalog.account_positions(), read.positions),
        (catalog.account_orders(), read.open_orders),
        (catalog.account_fills(), read.fills),
    ):
        lake.validate(spec, df)
    changed = 0
    for spec, df in (
        (catalog.account_balances(), read.balances),
        (catalog.account_positions(), read.positions),
        (catalog.account_orders(), read.open_orders),
    ):
        written = write_venue_state(lake, spec, read.venue, df)
        changed += written.inserted + written.updated + written.deleted
    fills = lake.upsert(catalog.account_fills(), read.fills)
    changed += fills.inserted + fills.updated
    return SyncResult(
        read.venue,
        read.balances.height,
        read.positions.height,
        read.open_orders.height,
        fills.inserted,
        changed,
    )


def lake_marks(lake: Lake, timeframes: tuple[str, ...], now: datetime) -> pl.DataFrame:
    """The newest close per (venue, symbol) over every stored candle timeframe, stamped with
    the bar's close time."""
    parts = []
    since = now - _MARK_LOOKBACK
    for timeframe in timeframes:
        spec = catalog.candles(timeframe)
        if not lake.exists(spec):
            continue
        newest = (
            lake.scan(spec)
            .filter(pl.col("date") >= since.date())
            .group_by("venue", "symbol")
            .agg(pl.col("close").sort_by("ts").last().alias("price"), pl.col("ts").max())
            .with_columns((pl.col("ts") + timeframe_delta(timeframe)).alias("price_ts"))
            .select(list(MARKS_SCHEMA))
            .collect()
        )
        parts.append(newest)
    if not parts:
        return pl.DataFrame(schema=MARKS_SCHEMA)
    return (
        pl.concat(parts)
        .sort("price_ts")
        .group_by("venue", "symbol")
        .agg(pl.all().last())
        .cast(MARKS_SCHEMA)  # type: ignore[arg-type]
    )


def load_view(
    lake: Lake,
    caps: dict[str, VenueCaps | None],
    timeframes: tuple[str, ...],
    *,
    currency: str,
    now: datetime,
    stale_after: timedelta,
    mark_sources: dict[str, str] | None = None,
) -> LedgerView:
    """The consolidated view of what the account tables hold now. ``mark_sources`` maps a
    venue without market data of its own (a paper venue) to the venue it quotes from."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    balances = lake.scan(catalog.account_balances()).collect()
    positions = lake.scan(catalog.account_positions()).collect()
    orders = lake.scan(catalog.account_orders()).collect()
    fills = lake.scan(catalog.account_fills()).filter(pl.col("ts") >= day).collect()
    return build_view(
        frames.conform(balances, catalog.ACCOUNT_BALANCES),
        frames.conform(positions, catalog.ACCOUNT_POSITIONS),
        frames.conform(orders, frames.ORDERS),
        frames.conform(fills, frames.FILLS),
        _with_sources(lake_marks(lake, timeframes, now), mark_sources or {}),
        caps,
        currency=currency,
        now=now,
        stale_after=stale_after,
        paper_venues=frozenset((mark_sources or {}).keys()),
    )


def write_equity(lake: Lake, view: LedgerView) -> int:
    """One equity snapshot per venue at the view's time (to the second): the equity curve."""
    if view.venues.is_empty():
        return 0
    ts = view.now.replace(microsecond=0)
    rows = view.venues.filter(pl.col("synced_at").is_not_null()).select(
        "venue",
        pl.lit(ts).cast(frames.UTC_TS).alias("ts"),
        pl.lit(view.currency).alias("currency"),
        pl.col("equity").cast(pl.Float64),
        pl.col("debt").cast(pl.Float64),
        pl.col("gross_exposure").cast(pl.Float64),
        pl.col("net_exposure").cast(pl.Float64),
        pl.col("unpriced").cast(pl.Int64),
    )
    return lake.upsert(catalog.account_equity(), rows).inserted


def equity_curve(lake: Lake) -> pl.DataFrame:
    """Every equity snapshot, oldest first."""
    return lake.scan(catalog.account_equity()).sort("ts").collect()


def _with_sources(marks: pl.DataFrame, sources: dict[str, str]) -> pl.DataFrame:
    """Marks of each quoting venue copied under the name of the venues that quote from it."""
    copies = [
        marks.filter(pl.col("venue") == source).with_columns(venue=pl.lit(venue))
        for venue, source in sources.items()
    ]
    return pl.concat([marks, *copies]) if copies else marks
