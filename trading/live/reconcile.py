"""Reconcile the ledger with a venue before trading on it: the start of every run.

What NautilusTrader's live execution engine does at start (mass status of orders, fills and
positions), scoped to what Keel needs: every order the ledger holds in flight is looked up by
its client order id and brought to the venue's status (orders from an earlier bar still open
are cancelled: a new decision supersedes them); fills Keel has not seen are adopted (deduplicated
by venue and fill id); then positions must agree to the instrument's amount step, or the venue
is refused for this run with the instrument, the difference and how to resolve it.

A cold start (the ledger has never seen the account) takes the venue's positions as the opening
positions and files the fills already there as ``before_keel``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from trading.live.ledger import Ledger, LedgerOrder
from trading.text import counted
from trading.venues.base import Instrument, Order, RetryableError, Venue, VenueError

FILL_OVERLAP = timedelta(days=1)
CASH = ("USD", "USDT", "USDC")


@dataclass(slots=True)
class Reconciliation:
    """What reconciling one account produced: journal rows, and a refusal if any."""

    account: str
    venue: str
    events: list[dict[str, Any]] = field(default_factory=list)
    fills: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    refused: str | None = None
    positions: dict[str, float] = field(default_factory=dict)
    cash: float = 0.0  # quote-currency balances (USD, USDT, USDC): with spot, the equity


def find_order(venue: Venue, symbol: str, client_order_id: str) -> Order | None:
    """The venue's record of an order by client order id, or None when the venue has none.
    Transient errors propagate: "cannot tell" is not "not found"."""
    return venue.fetch_order(symbol, client_order_id)


def venue_positions(
    venue: Venue, instruments: list[Instrument], balances: pl.DataFrame | None = None
) -> dict[str, float]:
    """Signed positions in base units per configured symbol: perpetuals from the venue's
    positions, spot from the balance of the base asset (``balances`` if already fetched)."""
    out: dict[str, float] = {}
    swaps = {i.symbol for i in instruments if i.kind == "swap"}
    spot = {i.symbol: i.base for i in instruments if i.kind == "spot"}
    if swaps:
        for row in venue.fetch_positions().iter_rows(named=True):
            if row["symbol"] in swaps:
                out[row["symbol"]] = out.get(row["symbol"], 0.0) + float(row["size"])
    if spot:
        rows = (balances if balances is not None else venue.fetch_balances()).iter_rows(named=True)
        totals = {r["asset"]: float(r["total"]) for r in rows}
        for symbol, base in spot.items():
            out[symbol] = totals.get(base, 0.0)
    return out


def reconcile(
    account: str,
    venue: Venue,
    ledger: Ledger,
    instruments: list[Instrument],
    bar: datetime,
    stamp: Callable[..., dict[str, Any]],
) -> Reconciliation:
    """Bring the ledger of one account in line with the venue, or refuse the venue.

    ``stamp(**columns)`` adds the run's columns (run id, bar, strategy, at) to a journal row."""
    name = venue.name
    out = Reconciliation(account, name)
    cold = (account, name) not in ledger.started
    try:
        for order in ledger.in_flight(account, name):
            _settle(venue, order, bar, out, stamp)
        since = None if cold else ledger.last_fill.get((account, name))
        fills = venue.fetch_fills(None if since is None else since - FILL_OVERLAP)
        balances = venue.fetch_balances()
        held = venue_positions(venue, instruments, balances)
        out.cash = sum(
            float(r["total"]) for r in balances.iter_rows(named=True) if r["asset"] in CASH
        )
    except VenueError as exc:
        # Unreachable (retryable) or refusing (halt): either way the ledger cannot be checked.
        out.refused = f"{name} ({account}) cannot be reconciled, the venue does not answer: {exc}"
        return out
    own = {cid: o for (a, v, cid), o in ledger.orders.items() if a == account and v == name}
    positions = {
        s: ledger.position(account, name, s) for s in {i.symbol for i in instruments} | set(held)
    }
    seen: set[str] = set()
    for f in fills.iter_rows(named=True):
        if (account, name, f["fill_id"]) in ledger.fills or f["fill_id"] in seen:
            continue  # one row per (venue, fill id), however often the venue reports it
        seen.add(f["fill_id"])
        known = own.get(f["client_order_id"] or "")
        origin = "before_keel" if cold else ("keel" if known else "adopted")
        out.fills.append(
            stamp(
                strategy=known.strategy if known else "*",
                account=account,
                **{k: f[k] for k in _FILL_COLUMNS},
                origin=origin,
            )
        )
        if origin != "before_keel":
            signed = f["amount"] if f["side"] == "buy" else -f["amount"]
            positions[f["symbol"]] = positions.get(f["symbol"], 0.0) + signed
    steps = {i.symbol: i.amount_step for i in instruments}
    problems = []
    for symbol in sorted(positions):
        mine, theirs = positions[symbol], held.get(symbol, 0.0)
        diff = theirs - mine
        base = stamp(strategy="*", account=account, venue=name, symbol=symbol)
        row = {**base, "ledger": mine, "venue_position": theirs, "difference": diff}
        if cold:
            if theirs != 0.0:
                out.rows.append({**row, "action": "opening", "detail": "cold start: adopted"})
            out.positions[symbol] = theirs
            continue
        tolerance = 0.5 * steps.get(symbol, 1e-8) + 1e-9 * abs(theirs)
        if abs(diff) > tolerance:
            problems.append(
                f"{symbol}: ledger {mine:g}, venue {theirs:g}, difference {diff:+g} "
                f"(amount step {steps.get(symbol, 0.0):g})"
            )
            out.rows.append({**row, "action": "refused", "detail": problems[-1]})
            out.positions[symbol] = mine
        else:
            # Within precision: plan from the venue's exact figure (no float dust left over).
            out.positions[symbol] = theirs
    if cold and not out.rows:
        # Record the cold start itself, so the next run is a warm restart.
        base = stamp(strategy="*", account=account, venue=name, symbol="*")
        out.rows.append(
            {**base, "ledger": 0.0, "venue_position": 0.0, "difference": 0.0}
            | {"action": "opening", "detail": "cold start: no open positions"}
        )
    if not cold and not problems:
        base = stamp(strategy="*", account=account, venue=name, symbol="*")
        detail = (
            f"{counted(len(positions), 'instrument')} agree; {counted(len(out.fills), 'fill')} "
            f"adopted; {counted(len(out.events), 'order')} settled"
        )
        out.rows.append(
            {**base, "ledger": 0.0, "venue_position": 0.0, "difference": 0.0}
            | {"action": "ok", "detail": detail}
        )
    if problems:
        out.refused = (
            f"{name} ({account}) positions disagree with the ledger beyond precision; trading on "
            f"{name} is refused until resolved. " + "; ".join(problems) + ". Resolve: find the "
            "missing fills in the venue's trade history, or if the venue is right accept its "
            f"positions: keel adopt-positions --venue {name} --account {account} --reason '...'"
        )
    return out


_FILL_COLUMNS = (
    "venue",
    "symbol",
    "fill_id",
    "order_id",
    "client_order_id",
    "side",
    "amount",
    "price",
    "fee",
    "fee_asset",
    "liquidity",
    "ts",
)


def _settle(
    venue: Venue,
    order: LedgerOrder,
    bar: datetime,
    out: Reconciliation,
    stamp: Callable[..., dict[str, Any]],
) -> None:
    """Look one in-flight order up; cancel it if it rests from an earlier bar."""
    found = find_order(venue, order.symbol, order.client_order_id)
    if found is not None and found.status == "open" and order.bar < bar:
        try:
            found = venue.cancel_order(order.symbol, order.client_order_id)
        except RetryableError:
            raise
        except VenueError:
            found = find_order(venue, order.symbol, order.client_order_id)
    event = "not_found" if found is None else found.status
    if event == order.status and (found is None or found.filled == order.filled):
        return
    out.events.append(
        stamp(
            strategy=order.strategy,
            account=order.account,
            venue=order.venue,
            symbol=order.symbol,
            client_order_id=order.client_order_id,
            event=event,
            order_id=None if found is None else found.order_id,
            filled=order.filled if found is None else found.filled,
            detail="reconciled at run start",
        )
    )
