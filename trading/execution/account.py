"""From the ledger's account snapshot to the plan's and the gate's ``Snapshot``.

Positions in base units per venue and symbol (spot holdings from the base asset's balance net
of debt), marks from the ledger's valuation unless fresher market marks are given, open orders
as pending notional against the venue's caps (the venue config's ``caps``, carried by the
snapshot), and a venue unhealthy when its sync is missing, stale or reported a problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from trading.account.snapshot import AccountSnapshot, OpenOrder
from trading.execution.inputs import venue_state
from trading.execution.types import Mark, Snapshot
from trading.venues.base import Instrument


def snapshot_from_account(
    account: AccountSnapshot,
    instruments: Mapping[tuple[str, str], Instrument],
    *,
    bar_ts: datetime,
    max_sync_age: timedelta,
    marks: Mapping[tuple[str, str], Mark] | None = None,
    paper_venues: frozenset[str] = frozenset(),
    data_age_bars: int = 0,
    daily_pnl_usd: float = 0.0,
    orders_last_minute: Mapping[str, int] | None = None,
    rewards_spent_today_usd: float = 0.0,
) -> Snapshot:
    """The plan's view of the account at ``account.ts``, deciding on bar ``bar_ts``. Paper
    venues are left out (paper strategies plan against them separately), and an equity share
    cap is a share of the synced real venues' equity, as the ledger counts it."""
    positions: dict[tuple[str, str], float] = {}
    found: dict[tuple[str, str], Mark] = {}
    states = {}
    total_equity = sum(
        max(a.equity, 0.0)
        for name, a in account.venues.items()
        if a.synced_at is not None and name not in paper_venues
    )
    for name, acc in account.venues.items():
        if name in paper_venues:
            continue
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
        states[name] = venue_state(
            name,
            equity_usd=acc.equity,
            gross_exposure_usd=acc.gross_exposure,
            pending_notional_usd=pending,
            caps=acc.caps,
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
    order: OpenOrder,
    venue: str,
    found: Mapping[tuple[str, str], Mark],
    marks: Mapping[tuple[str, str], Mark] | None,
) -> float:
    if order.price is not None:
        return order.price
    mark = (marks or {}).get((venue, order.symbol)) or found.get((venue, order.symbol))
    return mark.price if mark is not None else 0.0
