"""From the ledger's account snapshot to the plan's and the gate's ``Snapshot``.

Typed structurally (protocols), so it reads ``trading.account.snapshot.AccountSnapshot``
without this package depending on the ledger's internals: positions in base units per venue
and symbol (spot holdings from the base asset's balance net of debt), marks from the ledger's
valuation unless fresher market marks are given, open orders as pending notional against the
venue's caps, and a venue unhealthy when its sync is missing, stale or reported a problem.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from trading.execution.inputs import venue_state
from trading.execution.types import Mark, Snapshot
from trading.risk.config import VenueCaps
from trading.venues.base import Instrument


class _Position(Protocol):
    @property
    def size(self) -> float: ...
    @property
    def mark(self) -> float | None: ...
    @property
    def mark_ts(self) -> datetime | None: ...


class _Balance(Protocol):
    @property
    def total(self) -> float: ...
    @property
    def debt(self) -> float: ...


class _OpenOrder(Protocol):
    @property
    def amount(self) -> float: ...
    @property
    def filled(self) -> float: ...
    @property
    def price(self) -> float | None: ...
    @property
    def symbol(self) -> str: ...


class _Caps(Protocol):
    @property
    def max_equity_usd(self) -> float | None: ...
    @property
    def max_equity_share(self) -> float | None: ...
    @property
    def max_gross_exposure_usd(self) -> float | None: ...


class _VenueAccount(Protocol):
    @property
    def equity(self) -> float: ...
    @property
    def gross_exposure(self) -> float: ...
    @property
    def balances(self) -> Mapping[str, _Balance]: ...
    @property
    def positions(self) -> Mapping[str, _Position]: ...
    @property
    def open_orders(self) -> Sequence[_OpenOrder]: ...
    @property
    def caps(self) -> _Caps | None: ...
    @property
    def synced_at(self) -> datetime | None: ...
    @property
    def problems(self) -> Sequence[str]: ...


class AccountLike(Protocol):
    """What the adapter reads of the ledger's snapshot."""

    @property
    def ts(self) -> datetime: ...
    @property
    def venues(self) -> Mapping[str, _VenueAccount]: ...


def snapshot_from_account(
    account: AccountLike,
    instruments: Mapping[tuple[str, str], Instrument],
    *,
    bar_ts: datetime,
    max_sync_age: timedelta,
    marks: Mapping[tuple[str, str], Mark] | None = None,
    caps: Mapping[str, VenueCaps] | None = None,
    data_age_bars: int = 0,
    daily_pnl_usd: float = 0.0,
    orders_last_minute: Mapping[str, int] | None = None,
    rewards_spent_today_usd: float = 0.0,
) -> Snapshot:
    """The plan's view of the account. ``caps`` (e.g. ``[risk.venue_caps]``) apply where the
    ledger's venue has none."""
    positions: dict[tuple[str, str], float] = {}
    found: dict[tuple[str, str], Mark] = {}
    states = {}
    total_equity = sum(a.equity for a in account.venues.values())
    for name, acc in account.venues.items():
        for symbol, line in acc.positions.items():
            positions[(name, symbol)] = line.size
            if line.mark is not None and line.mark_ts is not None:
                found[(name, symbol)] = Mark(line.mark, line.mark_ts)
        for (venue, symbol), inst in instruments.items():
            if venue == name and inst.kind == "spot" and inst.base in acc.balances:
                held = acc.balances[inst.base]
                positions[(name, symbol)] = held.total - held.debt
        pending = sum(
            max(o.amount - o.filled, 0.0) * _price(o, name, found, marks) for o in acc.open_orders
        )
        fresh = acc.synced_at is not None and account.ts - acc.synced_at <= max_sync_age
        own = acc.caps
        resolved = (
            VenueCaps(
                max_equity_usd=own.max_equity_usd,
                max_equity_share=own.max_equity_share,
                max_gross_exposure_usd=own.max_gross_exposure_usd,
            )
            if own is not None
            else (caps or {}).get(name)
        )
        states[name] = venue_state(
            name,
            equity_usd=acc.equity,
            gross_exposure_usd=acc.gross_exposure,
            pending_notional_usd=pending,
            caps=resolved,
            total_equity_usd=total_equity,
            healthy=fresh and not acc.problems,
        )
    return Snapshot(
        ts=account.ts,
        bar_ts=bar_ts,
        positions=positions,
        venues=states,
        marks={**found, **(marks or {})},
        data_age_bars=data_age_bars,
        daily_pnl_usd=daily_pnl_usd,
        orders_last_minute=dict(orders_last_minute or {}),
        rewards_spent_today_usd=rewards_spent_today_usd,
    )


def _price(
    order: _OpenOrder,
    venue: str,
    found: Mapping[tuple[str, str], Mark],
    marks: Mapping[tuple[str, str], Mark] | None,
) -> float:
    if order.price is not None:
        return order.price
    mark = (marks or {}).get((venue, order.symbol)) or found.get((venue, order.symbol))
    return mark.price if mark is not None else 0.0
