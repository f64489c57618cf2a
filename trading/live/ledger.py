"""The ledger: Keel's own view of each account's orders, fills and positions, folded from the
journal (nothing else is authoritative on Keel's side, so a restart rebuilds it exactly).

A position is the sum of the opening and adjustment rows of reconciliations (cold start, or a
trader accepting the venue's figure) and every fill since, signed by side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from trading.live.journal import Journal

TERMINAL = frozenset({"closed", "canceled", "rejected", "not_found"})
ADJUSTMENTS = ("opening", "adjusted")
# Events that share a timestamp (a simulated clock) apply in the order an order lives through.
EVENT_RANK = {"intent": 0, "lookup": 1, "unknown": 2, "accepted": 3, "open": 4}
Account = tuple[str, str]  # (account kind: paper | live, venue name)


@dataclass(slots=True)
class LedgerOrder:
    """One order Keel created, with its latest known status."""

    run_id: str
    bar: datetime
    strategy: str
    account: str
    venue: str
    symbol: str
    client_order_id: str
    side: str
    amount: float
    status: str = "intent"
    order_id: str | None = None
    filled: float = 0.0

    @property
    def in_flight(self) -> bool:
        """Not yet in a final state at the venue: to look up, and to close if stale."""
        return self.status not in TERMINAL


@dataclass(slots=True)
class Ledger:
    """Orders by (account, venue, client order id), fills seen, positions, adopted accounts."""

    orders: dict[tuple[str, str, str], LedgerOrder] = field(default_factory=dict)
    fills: set[tuple[str, str, str]] = field(default_factory=set)
    positions: dict[tuple[str, str, str], float] = field(default_factory=dict)
    started: set[Account] = field(default_factory=set)
    last_fill: dict[Account, datetime] = field(default_factory=dict)

    @staticmethod
    def from_journal(journal: Journal) -> Ledger:
        """Fold the orders, order events, fills and reconciliations tables."""
        return Ledger.from_frames(
            journal.read("orders"),
            journal.read("order_events"),
            journal.read("fills"),
            journal.read("reconciliations"),
        )

    @staticmethod
    def from_frames(
        orders: pl.DataFrame, events: pl.DataFrame, fills: pl.DataFrame, recons: pl.DataFrame
    ) -> Ledger:
        """The fold itself, on frames in the journal layouts."""
        ledger = Ledger()
        for o in orders.iter_rows(named=True):
            key = (o["account"], o["venue"], o["client_order_id"])
            ledger.orders.setdefault(
                key,
                LedgerOrder(
                    o["run_id"],
                    o["bar"],
                    o["strategy"],
                    o["account"],
                    o["venue"],
                    o["symbol"],
                    o["client_order_id"],
                    o["side"],
                    o["amount"],
                ),
            )
        ranked = events.with_columns(
            _rank=pl.col("event").replace_strict(EVENT_RANK, default=9, return_dtype=pl.Int8)
        )
        for e in ranked.sort("at", "_rank").iter_rows(named=True):
            found = ledger.orders.get((e["account"], e["venue"], e["client_order_id"]))
            if found is None or e["event"] in ("intent", "lookup"):
                continue
            if found.status in TERMINAL and e["event"] not in TERMINAL:
                continue  # a late echo never reopens a finished order
            found.status = "open" if e["event"] == "accepted" else e["event"]
            found.order_id = e["order_id"] or found.order_id
            found.filled = max(found.filled, e["filled"])
        for f in fills.iter_rows(named=True):
            account = (f["account"], f["venue"])
            ledger.fills.add((f["account"], f["venue"], f["fill_id"]))
            ledger.started.add(account)
            if f["ts"] is not None and (
                account not in ledger.last_fill or f["ts"] > ledger.last_fill[account]
            ):
                ledger.last_fill[account] = f["ts"]
            if f["origin"] == "before_keel":
                continue
            signed = f["amount"] if f["side"] == "buy" else -f["amount"]
            key = (f["account"], f["venue"], f["symbol"])
            ledger.positions[key] = ledger.positions.get(key, 0.0) + signed
        for r in recons.iter_rows(named=True):
            ledger.started.add((r["account"], r["venue"]))
            if r["action"] in ADJUSTMENTS:
                key = (r["account"], r["venue"], r["symbol"])
                ledger.positions[key] = ledger.positions.get(key, 0.0) + r["difference"]
        return ledger

    def position(self, account: str, venue: str, symbol: str) -> float:
        """The ledger's position (base units, signed) of one instrument."""
        return self.positions.get((account, venue, symbol), 0.0)

    def in_flight(self, account: str, venue: str) -> list[LedgerOrder]:
        """Orders of one account not yet final at the venue."""
        return [
            o
            for (a, v, _), o in sorted(self.orders.items())
            if a == account and v == venue and o.in_flight
        ]
