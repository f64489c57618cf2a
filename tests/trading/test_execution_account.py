"""The ledger's account snapshot becomes the plan's snapshot: positions in base units (spot from
balances), marks, pending orders against caps, and stale or troubled venues marked unhealthy."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from tests.trading.book import BAR, T0, market
from trading.account.caps import VenueCaps
from trading.account.snapshot import (
    AccountSnapshot,
    BalanceLine,
    OpenOrder,
    PositionLine,
    VenueAccount,
)
from trading.execution.account import snapshot_from_account
from trading.execution.types import Mark

PERP, SPOT = "BTC/USDT:USDT", "BTC/USDT"


def _venue(
    name: str,
    equity: float,
    *,
    balances: Mapping[str, tuple[float, float]] | None = None,
    positions: Mapping[str, tuple[float, float]] | None = None,
    orders: tuple[OpenOrder, ...] = (),
    caps: VenueCaps | None = None,
    synced_ago: timedelta | None = timedelta(0),
    problems: tuple[str, ...] = (),
) -> VenueAccount:
    return VenueAccount(
        venue=name,
        equity=equity,
        gross_exposure=0.0,
        balances={
            a: BalanceLine(a, total, 0.0, total, debt, None, None)
            for a, (total, debt) in (balances or {}).items()
        },
        positions={
            s: PositionLine(s, size, mark, mark, T0 - timedelta(seconds=3))
            for s, (size, mark) in (positions or {}).items()
        },
        open_orders=orders,
        caps=caps,
        synced_at=None if synced_ago is None else T0 - synced_ago,
        problems=problems,
    )


def test_account_snapshot_maps_positions_marks_pending_and_health() -> None:
    account = AccountSnapshot(
        "USDT",
        T0,
        {
            "a": _venue(
                "a",
                60_000.0,
                balances={"BTC": (0.5, 0.1), "USDT": (50_000.0, 0.0)},
                positions={PERP: (-0.05, 100_000.0)},
                orders=(
                    OpenOrder(PERP, "k1", "1", "buy", 0.02, 0.005, None),
                    OpenOrder(PERP, "k2", "2", "sell", 1.0, 1.0, 1.0),
                ),
                caps=VenueCaps(max_gross_exposure_usd=20_000.0),
            ),
            "b": _venue(
                "b",
                40_000.0,
                caps=VenueCaps(max_equity_share=0.5),
                synced_ago=timedelta(minutes=10),
            ),
            "c": _venue("c", 1.0, problems=("c balances stale",)),
            "paper": _venue("paper", 1e6, positions={PERP: (5.0, 100_000.0)}),
        },
    )
    instruments = {("a", SPOT): market("a", SPOT, kind="spot"), ("a", PERP): market("a", PERP)}
    snap = snapshot_from_account(
        account,
        instruments,
        bar_ts=BAR,
        max_sync_age=timedelta(minutes=5),
        marks={("a", SPOT): Mark(99_000.0, T0)},
        paper_venues=frozenset({"paper"}),
    )
    assert snap.positions == {("a", PERP): -0.05, ("a", SPOT): 0.4}
    assert snap.marks[("a", PERP)].price == 100_000.0
    assert snap.marks[("a", SPOT)].price == 99_000.0
    a, b, c = snap.venues["a"], snap.venues["b"], snap.venues["c"]
    # 0.015 BTC left on the market order at the perp's mark; the filled one counts nothing
    assert a.pending_notional_usd == 0.015 * 100_000.0
    assert (a.max_gross_exposure_usd, a.healthy) == (20_000.0, True)
    # half of the real venues' 100,001 USD (the paper venue's million does not count)
    assert b.max_equity_usd == 0.5 * 100_001.0
    assert not b.healthy  # synced 10 minutes ago
    assert not c.healthy  # a reported problem
    assert "paper" not in snap.venues
