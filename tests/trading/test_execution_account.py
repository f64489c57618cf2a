"""The ledger's account snapshot becomes the plan's snapshot: positions in base units (spot from
balances), marks, pending orders against caps, and stale or troubled venues marked unhealthy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tests.trading.book import BAR, T0, market
from trading.execution.account import snapshot_from_account
from trading.execution.types import Mark
from trading.risk.config import VenueCaps


@dataclass(frozen=True)
class Position:
    size: float
    mark: float | None
    mark_ts: datetime | None


@dataclass(frozen=True)
class Balance:
    total: float
    debt: float = 0.0


@dataclass(frozen=True)
class OpenOrder:
    symbol: str
    amount: float
    filled: float
    price: float | None


@dataclass(frozen=True)
class Venue:
    equity: float
    gross_exposure: float
    balances: Mapping[str, Balance] = field(default_factory=dict)
    positions: Mapping[str, Position] = field(default_factory=dict)
    open_orders: tuple[OpenOrder, ...] = ()
    caps: VenueCaps | None = None
    synced_at: datetime | None = T0
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Account:
    ts: datetime
    venues: Mapping[str, Venue]


def test_account_snapshot_maps_positions_marks_pending_and_health() -> None:
    perp, spot = "BTC/USDT:USDT", "BTC/USDT"
    account = Account(
        T0,
        {
            "a": Venue(
                60_000.0,
                5_000.0,
                balances={"BTC": Balance(0.5, 0.1), "USDT": Balance(50_000.0)},
                positions={perp: Position(-0.05, 100_000.0, T0 - timedelta(seconds=3))},
                open_orders=(OpenOrder(perp, 0.02, 0.005, None), OpenOrder(perp, 1.0, 1.0, 1.0)),
                caps=VenueCaps(max_gross_exposure_usd=20_000.0),
            ),
            "b": Venue(40_000.0, 0.0, synced_at=T0 - timedelta(minutes=10)),
            "c": Venue(1.0, 0.0, problems=("c balances stale",)),
        },
    )
    instruments = {("a", spot): market("a", spot, kind="spot"), ("a", perp): market("a", perp)}
    fresh = {("a", spot): Mark(99_000.0, T0)}
    snap = snapshot_from_account(
        account,
        instruments,
        bar_ts=BAR,
        max_sync_age=timedelta(minutes=5),
        marks=fresh,
        caps={"b": VenueCaps(max_equity_share=0.5)},
    )
    assert snap.positions == {("a", perp): -0.05, ("a", spot): 0.4}
    assert snap.marks[("a", perp)].price == 100_000.0
    assert snap.marks[("a", spot)].price == 99_000.0
    a, b, c = snap.venues["a"], snap.venues["b"], snap.venues["c"]
    # 0.015 BTC left on the market order at the perp's mark; the filled one counts nothing
    assert a.pending_notional_usd == 0.015 * 100_000.0
    assert (a.max_gross_exposure_usd, a.healthy) == (20_000.0, True)
    # the config's cap applies where the ledger has none: half of the 100,001 USD total
    assert b.max_equity_usd == 0.5 * 100_001.0
    assert not b.healthy  # synced 10 minutes ago
    assert not c.healthy  # a reported problem
