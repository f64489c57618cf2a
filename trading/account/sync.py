"""Read one venue's account through the venue interface, ready for the account tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from trading.venues.base import Venue


@dataclass(frozen=True, slots=True)
class AccountRead:
    """One venue's account as read at ``synced_at``."""

    venue: str
    synced_at: datetime
    balances: pl.DataFrame  # BALANCES + synced_at
    positions: pl.DataFrame  # POSITIONS + synced_at
    open_orders: pl.DataFrame  # ORDERS
    fills: pl.DataFrame  # FILLS since the newest stored fill


def read_account(venue: Venue, since: datetime | None, now: datetime) -> AccountRead:
    """Balances, positions, open orders and the fills at or after ``since`` (the newest fill
    already stored: re-reading it is harmless, fills are keyed by id)."""
    stamp = pl.lit(now).cast(pl.Datetime("us", "UTC")).alias("synced_at")
    return AccountRead(
        venue=venue.name,
        synced_at=now,
        balances=venue.fetch_balances().with_columns(stamp),
        positions=venue.fetch_positions().with_columns(stamp),
        open_orders=venue.fetch_open_orders(),
        fills=venue.fetch_fills(since),
    )
