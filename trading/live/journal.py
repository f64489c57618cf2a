"""The trading journal: what every run decided, ordered, filled and was denied, append-only.

Every row names its run, bar and strategy, so "why did Keel buy this?" is one query from a
client order id back to the decisions behind it. The layouts live here (pure); the lake stores
them under ``live/*`` (``lake.live``), behind the small ``Journal`` protocol the run writes to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import polars as pl

from trading.live.states import STATE_LAYOUT

TS = pl.Datetime("us", "UTC")
_S, _F = pl.String(), pl.Float64()

_RUN: dict[str, pl.DataType] = {"run_id": _S, "bar": TS, "strategy": _S}
_WHERE: dict[str, pl.DataType] = {"account": _S, "venue": _S, "symbol": _S}

LAYOUTS: Mapping[str, Mapping[str, pl.DataType]] = {
    "decisions": {
        **_RUN,
        "stage": _S,
        "venue": _S,
        "symbol": _S,
        "weight": _F,
        "features_version": pl.Int64(),
        "code_version": _S,
        "params_hash": _S,
        "at": TS,
    },
    "net_targets": {
        **_RUN,
        **_WHERE,
        "weight": _F,
        "capital": _F,
        "price": _F,
        "contribution": _F,  # this strategy's target position, base units
        "net_target": _F,  # all strategies on this account, venue and instrument
        "position": _F,  # the ledger's position before the run
        "at": TS,
    },
    "orders": {
        **_RUN,  # strategy: every contributing strategy, comma-separated
        **_WHERE,
        "client_order_id": _S,
        "side": _S,
        "amount": _F,
        "type": _S,
        "price": _F,  # limit price, or the decision price of a market order
        "reduce_only": pl.Boolean(),
        "at": TS,
    },
    "order_events": {
        **_RUN,
        **_WHERE,
        "client_order_id": _S,
        "event": _S,  # intent, accepted, open, closed, canceled, rejected, unknown, not_found
        "order_id": _S,
        "filled": _F,
        "detail": _S,
        "at": TS,
    },
    "fills": {
        **_RUN,
        **_WHERE,
        "fill_id": _S,
        "order_id": _S,
        "client_order_id": _S,
        "side": _S,
        "amount": _F,  # base units
        "price": _F,
        "fee": _F,
        "fee_asset": _S,
        "liquidity": _S,
        "ts": TS,
        "origin": _S,  # keel (seen by the run), adopted (found at reconcile), before_keel
        "at": TS,
    },
    "denials": {
        **_RUN,
        **_WHERE,
        "side": _S,
        "amount": _F,
        "reason": _S,  # a code: halted, reducing, trading_disabled, max_notional, min_size, ...
        "detail": _S,
        "at": TS,
    },
    "reconciliations": {
        **_RUN,
        **_WHERE,
        "ledger": _F,
        "venue_position": _F,
        "difference": _F,
        "action": _S,  # ok, opening, adopted_fills, closed_orders, refused
        "detail": _S,
        "at": TS,
    },
    "trading_states": STATE_LAYOUT,
    "parity": {  # one row per run and strategy: its decisions against research's
        **_RUN,
        "features_version": pl.Int64(),
        "decisions": pl.Int64(),
        "differences": pl.Int64(),
        "passed": pl.Boolean(),
        "at": TS,
    },
}
TABLES = tuple(LAYOUTS)
NULLABLE = frozenset({"order_id", "price", "features_version", "detail"})
# A decision's venue is null for a venue-neutral target; a null weight is "no signal" (in net
# targets: the strategy kept what it held).
NULLABLE_IN: Mapping[str, frozenset[str]] = {
    "decisions": frozenset({"venue", "weight"}),
    "net_targets": frozenset({"weight"}),
}


def nullable(table: str) -> frozenset[str]:
    """The columns of one journal table that may hold nulls."""
    layout = LAYOUTS[table]
    return frozenset(c for c in layout if c in NULLABLE) | NULLABLE_IN.get(table, frozenset())


class Journal(Protocol):
    """Where a run records what it did: append-only tables, read back whole or filtered."""

    def append(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append rows to one journal table (all or nothing)."""
        ...

    def read(self, table: str) -> pl.DataFrame:
        """Every row of one journal table, in the table's layout."""
        ...


def frame(table: str, rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """Rows as a frame in the table's layout; a missing or mistyped column is an error."""
    layout = LAYOUTS[table]
    if not rows:
        return pl.DataFrame(schema=dict(layout))
    missing = sorted({c for row in rows for c in layout if c not in row})
    if missing:
        raise ValueError(f"live/{table}: rows lack columns {missing}")
    return pl.DataFrame([{c: row[c] for c in layout} for row in rows], schema=dict(layout))
