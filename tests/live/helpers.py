"""Shared set-up of the trading tests: a small config, a lake holding a few days of candles,
funding and features computed by the production functions, and a paper replay set-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from assets.live_run import Setup, SimClock
from lake import catalog
from lake.store import Lake
from tests.conftest import small_config_dict
from trading.config import KeelConfig, parse_config
from trading.features.inputs import feature_input
from trading.features.registry import compute_features, registered_features
from trading.live.reconcile import find_order
from trading.venues.base import RetryableError
from trading.venues.factory import build_venue

START = datetime(2024, 3, 1, tzinfo=UTC)
DAYS = 3
STRATEGIES = [
    {"strategy": "trend", "stage": "paper", "capital": 20_000.0},
    {"strategy": "mean_reversion", "stage": "paper", "capital": 20_000.0},
    {"strategy": "xs_momentum", "stage": "live", "capital": 20_000.0},
]


def live_config(tmp: Path, participation: float | None = None, **live: Any) -> KeelConfig:
    """The small test config with three strategies deployed (two paper, one live)."""
    raw = small_config_dict()
    raw["live"] = {"strategies": STRATEGIES, **live}
    if participation is not None:  # how much of a bar's volume one order may take
        for venue in raw["venues"]:  # type: ignore[attr-defined]
            venue["participation"] = participation
    return parse_config(raw, tmp / "keel.toml")


def seed_lake(config: KeelConfig, lake: Lake, days: int = DAYS) -> list[datetime]:
    """Candles, funding and features for ``days`` days from ``START``; returns the bars."""
    end = START + timedelta(days=days)
    candles, funding = [], []
    for v in config.venues:
        venue = build_venue(v, config, clock=lambda: end + timedelta(days=30))
        for symbol in v.instruments:
            candles.append(venue.fetch_candles(symbol, "1h", START - timedelta(days=8), end))
            if ":" in symbol:
                funding.append(venue.fetch_funding_rates(symbol, START - timedelta(days=9), end))
    bars, rates = pl.concat(candles), pl.concat(funding)
    lake.upsert(catalog.candles("1h"), bars)
    lake.upsert(catalog.funding_rates(), rates)
    registry = registered_features()
    features = compute_features(feature_input(bars, rates, "1h"), registry.values())
    lake.upsert(
        catalog.features("1h", list(registry)),
        features.filter(pl.col("ts") >= START),
    )
    return [START + timedelta(hours=h) for h in range(days * 24)]


def paper_setup(
    config: KeelConfig, lake: Lake, tmp: Path, start: datetime
) -> tuple[Setup, SimClock]:
    """A paper-only set-up on a simulated clock, journal in its own lake."""
    clock = SimClock(start)
    setup = Setup(
        config,
        lake,
        Lake(tmp / "journal"),
        tmp / "state",
        clock=clock,
        paper_only=True,
        sleep=lambda _: None,
    )
    return setup, clock


class FaultyVenue:
    """A venue with network faults around a real simulated account: what a flaky exchange does.

    ``lost_ack``: the next creates reach the venue but their answer is lost (a timeout);
    ``outage``: every call fails with a timeout; ``duplicate_fills``: fill reports come twice;
    ``on_create``: called before each create (a halt arriving mid-run, a kill)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.lost_ack = 0
        self.lost_request = 0
        self.outage = False
        self.duplicate_fills = False
        self.on_create: Any = None
        self.after_create: Any = None
        self.resent: list[str] = []  # creates sent for an id the venue already had

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if callable(attr) and self.outage:

            def down(*args: Any, **kwargs: Any) -> Any:
                raise RetryableError(self.inner.name, name, "timed out (injected outage)")

            return down
        return attr

    def create_order(self, request: Any) -> Any:
        if self.on_create is not None:
            self.on_create(request)
        if self.outage:
            raise RetryableError(self.inner.name, "create_order", "timed out (injected outage)")
        if self.lost_request > 0:
            self.lost_request -= 1
            raise RetryableError(self.inner.name, "create_order", "timed out before arriving")
        if find_order(self.inner, request.symbol, request.client_order_id) is not None:
            self.resent.append(request.client_order_id)
        order = self.inner.create_order(request)
        if self.after_create is not None:
            self.after_create(order)
        if self.lost_ack > 0:
            self.lost_ack -= 1
            raise RetryableError(self.inner.name, "create_order", "timed out after sending")
        return order

    def fetch_fills(self, since: Any = None) -> pl.DataFrame:
        if self.outage:
            raise RetryableError(self.inner.name, "fetch_fills", "timed out (injected outage)")
        fills: pl.DataFrame = self.inner.fetch_fills(since)
        return pl.concat([fills, fills]) if self.duplicate_fills else fills


def faulty(setup: Setup) -> dict[str, FaultyVenue]:
    """Wrap every account's venue of a set-up in a ``FaultyVenue``; returns them by venue."""
    import dataclasses

    out = {}
    accounts = setup.accounts()
    for key, account in list(accounts.items()):
        wrapper = FaultyVenue(account.venue)
        accounts[key] = dataclasses.replace(account, venue=wrapper)  # type: ignore[arg-type]
        out[key[1]] = wrapper
    return out


def assert_books_agree(setup: Setup) -> None:
    """Every order placed once and journalled, every fill recorded once, ledger = venue."""
    from lake.live import LakeJournal
    from trading.live.ledger import Ledger
    from trading.live.reconcile import venue_positions

    journal = LakeJournal(setup.journal_lake)
    orders = journal.read("orders")
    assert orders.select("account", "venue", "client_order_id").is_unique().all()
    fills = journal.read("fills")
    assert fills.select("account", "venue", "fill_id").is_unique().all()
    ledger = Ledger.from_journal(journal)
    for (kind, name), account in setup.accounts().items():
        venue: Any = account.venue
        inner = venue.inner if isinstance(venue, FaultyVenue) else venue
        if isinstance(venue, FaultyVenue):
            assert venue.resent == [], f"{name}: creates resent for {venue.resent}"
        venue_fills = inner.fetch_fills()
        at_venue = set(venue_fills["client_order_id"]) | set(
            inner.fetch_open_orders()["client_order_id"]
        )
        journalled = set(orders.filter(account=kind, venue=name)["client_order_id"])
        assert {c for c in at_venue if c and not c.startswith("manual")} <= journalled
        assert set(fills.filter(account=kind, venue=name)["fill_id"]) == set(venue_fills["fill_id"])
        steps = {i.symbol: i.amount_step for i in account.instruments}
        for symbol, held in venue_positions(inner, list(account.instruments)).items():
            mine = ledger.position(kind, name, symbol)
            assert abs(mine - held) <= 0.5 * steps[symbol], (name, symbol, mine, held)
