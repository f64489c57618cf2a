"""Account tables: every venue's balances, positions, open orders, fills and equity."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING

import polars as pl

from lake.tables import TableSpec
from trading import frames

if TYPE_CHECKING:
    pass

ACCOUNT_BALANCES: Mapping[str, pl.DataType] = {**frames.BALANCES, "synced_at": frames.UTC_TS}
ACCOUNT_POSITIONS: Mapping[str, pl.DataType] = {**frames.POSITIONS, "synced_at": frames.UTC_TS}
ACCOUNT_EQUITY: Mapping[str, pl.DataType] = {
    "venue": pl.String(),
    "ts": frames.UTC_TS,
    "currency": pl.String(),
    "equity": pl.Float64(),  # balances net of debt at their marks + unrealized P&L
    "debt": pl.Float64(),
    "gross_exposure": pl.Float64(),
    "net_exposure": pl.Float64(),
    "unpriced": pl.Int64(),  # assets left out for want of a price
}


@cache
def account_balances() -> TableSpec:
    """Each venue's balances as of its last sync (rows of assets gone since are deleted)."""
    from lake import account_rules

    return TableSpec(
        "account/balances",
        ACCOUNT_BALANCES,
        ("venue", "asset"),
        ("venue",),
        account_rules.balances_rules,
    )


@cache
def account_positions() -> TableSpec:
    """Each venue's open derivative positions as of its last sync, sizes in base units."""
    from lake import account_rules

    return TableSpec(
        "account/positions",
        ACCOUNT_POSITIONS,
        ("venue", "symbol"),
        ("venue",),
        account_rules.positions_rules,
        nullable=frozenset({"mark_price"}),
    )


@cache
def account_orders() -> TableSpec:
    """Each venue's open orders as of its last sync."""
    from lake import account_rules

    return TableSpec(
        "account/orders",
        frames.ORDERS,
        ("venue", "order_id"),
        ("venue",),
        account_rules.orders_rules,
        nullable=frozenset({"price", "client_order_id"}),
    )


@cache
def account_fills() -> TableSpec:
    """Every own fill of every venue, keyed by venue and fill id: re-syncing is idempotent."""
    from lake import account_rules

    return TableSpec(
        "account/fills",
        frames.FILLS,
        ("venue", "fill_id"),
        ("venue",),
        account_rules.fills_rules,
        nullable=frozenset({"order_id", "client_order_id", "fee", "fee_asset", "liquidity"}),
    )


@cache
def account_equity() -> TableSpec:
    """Equity snapshots per venue (the equity curve), one per ledger build."""
    from lake import account_rules

    return TableSpec(
        "account/equity",
        ACCOUNT_EQUITY,
        ("venue", "ts"),
        ("venue",),
        account_rules.equity_rules,
    )
