"""The account snapshot: what the router and the risk gate take as input. Frozen, plain
values, built from the ledger view: equity per venue, balances (free, used, total, debt),
positions in base units per (venue, symbol) with their mark and its timestamp, open orders
and the venue's caps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from trading.account.caps import VenueCaps
from trading.account.ledger import LedgerView


@dataclass(frozen=True, slots=True)
class BalanceLine:
    """One asset on one venue, amounts in the asset; ``price`` None when unknown."""

    asset: str
    free: float
    used: float
    total: float
    debt: float
    price: float | None
    price_ts: datetime | None


@dataclass(frozen=True, slots=True)
class PositionLine:
    """A derivative position: signed base units, marked at ``mark`` as of ``mark_ts``."""

    symbol: str
    size: float
    entry_price: float
    mark: float | None
    mark_ts: datetime | None


@dataclass(frozen=True, slots=True)
class OpenOrder:
    """A resting order, amounts in base units."""

    symbol: str
    client_order_id: str | None
    order_id: str
    side: str
    amount: float
    filled: float
    price: float | None


@dataclass(frozen=True, slots=True)
class VenueAccount:
    """One venue's account as of ``synced_at``; ``equity`` in the account currency."""

    venue: str
    equity: float
    gross_exposure: float
    balances: Mapping[str, BalanceLine]
    positions: Mapping[str, PositionLine]
    open_orders: tuple[OpenOrder, ...]
    caps: VenueCaps | None
    synced_at: datetime | None
    problems: tuple[str, ...]

    def position(self, symbol: str) -> float:
        """Signed base units held in ``symbol`` (0 when flat)."""
        line = self.positions.get(symbol)
        return line.size if line is not None else 0.0


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """Every venue's account at one time, in one currency."""

    currency: str
    ts: datetime
    venues: Mapping[str, VenueAccount]

    @property
    def total_equity(self) -> float:
        """Equity over every venue."""
        return sum(v.equity for v in self.venues.values())

    def position(self, venue: str, symbol: str) -> float:
        """Signed base units held in ``symbol`` on ``venue``."""
        account = self.venues.get(venue)
        return account.position(symbol) if account is not None else 0.0


def snapshot_from_view(view: LedgerView, caps: Mapping[str, VenueCaps | None]) -> AccountSnapshot:
    """The snapshot of a ledger view."""
    venues = {}
    for row in view.venues.iter_rows(named=True):
        name = row["venue"]
        balances = view.balances.filter(pl.col("venue") == name)
        positions = view.positions.filter(pl.col("venue") == name)
        orders = view.open_orders.filter(pl.col("venue") == name)
        venues[name] = VenueAccount(
            venue=name,
            equity=float(row["equity"]),
            gross_exposure=float(row["gross_exposure"]),
            balances={
                b["asset"]: BalanceLine(
                    b["asset"],
                    b["free"],
                    b["used"],
                    b["total"],
                    b["debt"],
                    b["price"],
                    b["price_ts"],
                )
                for b in balances.iter_rows(named=True)
            },
            positions={
                p["symbol"]: PositionLine(
                    p["symbol"], p["size"], p["entry_price"], p["mark"], p["mark_ts"]
                )
                for p in positions.iter_rows(named=True)
            },
            open_orders=tuple(
                OpenOrder(
                    o["symbol"],
                    o["client_order_id"],
                    o["order_id"],
                    o["side"],
                    o["amount"],
                    o["filled"],
                    o["price"],
                )
                for o in orders.iter_rows(named=True)
            ),
            caps=caps.get(name),
            synced_at=row["synced_at"],
            problems=tuple(p for p in view.problems if p.startswith(f"{name} ")),
        )
    return AccountSnapshot(view.currency, view.now, venues)
