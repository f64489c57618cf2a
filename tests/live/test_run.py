"""The trading run end to end on paper accounts over a seeded lake, on a simulated clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from assets.live_run import Setup, SimClock, replay, run_bar
from lake import catalog
from lake.live import LakeJournal
from lake.store import Lake
from tests.live.helpers import (
    assert_books_agree,
    faulty,
    live_config,
    paper_setup,
    seed_lake,
)
from trading.features.registry import registered_features
from trading.live.parity import differences, research_targets
from trading.venues.base import OrderRequest

Seeded = tuple[Path, list[datetime]]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    root = tmp_path_factory.mktemp("seeded")
    config = live_config(root)
    bars = seed_lake(config, Lake(root / "lake"))
    return root, bars


def _setup(
    seeded: Seeded, tmp: Path, participation: float | None = None
) -> tuple[Setup, SimClock, list[datetime]]:
    root, bars = seeded
    config = live_config(root, participation)
    setup, clock = paper_setup(config, Lake(root / "lake"), tmp, bars[0])
    return setup, clock, bars


def test_replay_places_each_order_once_and_the_ledger_equals_the_venue(
    seeded: Seeded, tmp_path: Path
) -> None:
    setup, clock, bars = _setup(seeded, tmp_path)
    reports = replay(setup, bars[:12], clock)
    assert all(r.decided for r in reports)
    assert sum(len(r.orders) for r in reports) > 10
    assert_books_agree(setup)


def test_every_replayed_decision_equals_research_for_its_bar_and_feature_version(
    seeded: Seeded, tmp_path: Path
) -> None:
    setup, clock, bars = _setup(seeded, tmp_path)
    replay(setup, bars[:6], clock)
    decisions = LakeJournal(setup.journal_lake).read("decisions")
    spec = catalog.features("1h", list(registered_features()))
    version = int(decisions["features_version"][0])
    features = setup.lake.scan(spec, version=version).collect()
    research = research_targets(features, sorted(set(decisions["strategy"])), bars[:6])
    # One decision per canonical instrument (4, however many venues list them), venue null.
    assert decisions.height == 6 * 3 * 4
    assert decisions["venue"].null_count() == decisions.height
    assert differences(decisions, research).is_empty()
    # A shifted weight differs, and so does a number where research said "no signal".
    tampered = decisions.with_columns(weight=pl.col("weight").fill_null(0.0) + 1e-9)
    assert differences(tampered, research).height == decisions.height


def _journal(setup: Setup) -> LakeJournal:
    return LakeJournal(setup.journal_lake)


def _at(clock: SimClock, bar: datetime) -> None:
    clock.now = bar + timedelta(hours=1, seconds=1)


def test_a_bar_run_twice_places_no_second_order(seeded: Seeded, tmp_path: Path) -> None:
    setup, clock, bars = _setup(seeded, tmp_path)
    _at(clock, bars[0])
    first = run_bar(setup, "r1", bars[0])
    again = run_bar(setup, "r2", bars[0])
    assert len(first.orders) > 0
    assert again.orders == []
    assert _journal(setup).read("orders").height == len(first.orders)
    assert_books_agree(setup)


def test_cold_start_adopts_positions_already_open_at_the_venue(
    seeded: Seeded, tmp_path: Path
) -> None:
    setup, clock, bars = _setup(seeded, tmp_path)
    _at(clock, bars[0])
    venue = setup.accounts()[("paper", "sim_a")].venue
    venue.create_order(OrderRequest("BTC/USDT:USDT", "sell", 0.5, "manual-1"))
    report = run_bar(setup, "r1", bars[0])
    assert report.refused == []
    opening = _journal(setup).read("reconciliations").filter(action="opening", venue="sim_a")
    assert opening.filter(symbol="BTC/USDT:USDT")["difference"].to_list() == [-0.5]
    assert _journal(setup).read("fills").filter(fill_id="sim_a-f2")["origin"].to_list() == [
        "before_keel"
    ]
    assert_books_agree(setup)


def test_fills_made_while_keel_was_down_are_adopted_on_restart(
    seeded: Seeded, tmp_path: Path
) -> None:
    setup, clock, bars = _setup(seeded, tmp_path)
    _at(clock, bars[0])
    run_bar(setup, "r1", bars[0])
    venue = setup.accounts()[("paper", "sim_a")].venue
    _at(clock, bars[1])
    venue.create_order(OrderRequest("ETH/USDT", "buy", 0.3, "manual-while-down"))
    report = run_bar(setup, "r2", bars[1])
    adopted = _journal(setup).read("fills").filter(client_order_id="manual-while-down")
    assert adopted["origin"].to_list() == ["adopted"]
    assert report.refused == []
    assert_books_agree(setup)


def test_positions_that_disagree_refuse_the_venue_and_name_the_fix(
    seeded: Seeded, tmp_path: Path
) -> None:
    setup, clock, bars = _setup(seeded, tmp_path)
    _at(clock, bars[0])
    run_bar(setup, "r1", bars[0])
    # The ledger loses track of 7 SOL (say a fill older than the look-back was never seen).
    row = {"run_id": "x", "bar": bars[0], "strategy": "*", "account": "paper", "venue": "sim_b"}
    row |= {"symbol": "SOL/USDT:USDT", "ledger": 0.0, "venue_position": 0.0, "difference": -7.0}
    _journal(setup).append(
        "reconciliations", [row | {"action": "adjusted", "detail": "x", "at": bars[0]}]
    )
    _at(clock, bars[1])
    report = run_bar(setup, "r2", bars[1])
    (refusal,) = report.refused
    assert "sim_b (paper)" in refusal
    assert "SOL/USDT:USDT" in refusal
    assert "keel adopt-positions --venue sim_b --account paper" in refusal
    assert not any(o.intent.venue == "sim_b" for o in report.orders)
    assert any(d["reason"] == "unreconciled" for d in report.denials)


def test_a_lost_acknowledgement_is_looked_up_not_resent(seeded: Seeded, tmp_path: Path) -> None:
    setup, clock, bars = _setup(seeded, tmp_path)
    venues = faulty(setup)
    venues["sim_a"].lost_ack = 2
    _at(clock, bars[0])
    report = run_bar(setup, "r1", bars[0])
    found = [o for o in report.orders if "found by look-up" in o.detail]
    assert len(found) == 2
    assert all(o.event == "closed" for o in found)
    assert_books_agree(setup)


def test_an_outage_mid_run_keeps_the_order_in_flight_and_reduces_the_venue(
    seeded: Seeded, tmp_path: Path
) -> None:
    setup, clock, bars = _setup(seeded, tmp_path)
    venues = faulty(setup)
    sent: list[str] = []

    def fail_after_first(request: OrderRequest) -> None:
        sent.append(request.client_order_id)
        venues["sim_a"].outage = len(sent) > 1

    venues["sim_a"].on_create = fail_after_first
    _at(clock, bars[0])
    report = run_bar(setup, "r1", bars[0])
    unknown = [o for o in report.orders if o.event == "unknown"]
    assert len(unknown) == 1
    assert any("sim_a set to REDUCING" in n for n in report.notes)
    assert {d["reason"] for d in report.denials if d["venue"] == "sim_a"} == {"venue_down"}
    states = _journal(setup).read("trading_states")
    assert states.select("scope", "target", "state").rows() == [("venue", "sim_a", "REDUCING")]
    venues["sim_a"].outage = False
    venues["sim_a"].on_create = None
    _at(clock, bars[1])
    after = run_bar(setup, "r2", bars[1])
    assert after.refused == []
    settled = (
        _journal(setup)
        .read("order_events")
        .filter(client_order_id=unknown[0].intent.client_order_id)
    )
    assert settled.sort("at")["event"].to_list()[-1] == "not_found"
    assert_books_agree(setup)


def test_duplicated_fill_reports_are_recorded_once(seeded: Seeded, tmp_path: Path) -> None:
    setup, clock, bars = _setup(seeded, tmp_path)
    for v in faulty(setup).values():
        v.duplicate_fills = True
    replay(setup, bars[:3], clock)
    assert_books_agree(setup)


def test_a_halt_during_a_run_stops_the_next_order(seeded: Seeded, tmp_path: Path) -> None:
    from trading.live.states import change

    setup, clock, bars = _setup(seeded, tmp_path)
    venues = faulty(setup)

    def halt(request: OrderRequest) -> None:
        row = change("HALTED", clock.now, "drill", "cli").row()
        _journal(setup).append("trading_states", [row])
        venues["sim_a"].on_create = None

    venues["sim_a"].on_create = halt
    _at(clock, bars[0])
    report = run_bar(setup, "r1", bars[0])
    assert len(report.orders) == 1
    assert report.denials
    assert {d["reason"] for d in report.denials} == {"halted"}
    _at(clock, bars[1])
    halted = run_bar(setup, "r2", bars[1])
    assert halted.orders == []
    assert_books_agree(setup)


def test_no_decision_on_stale_data_or_failing_blocking_checks(
    seeded: Seeded, tmp_path: Path
) -> None:
    setup, clock, bars = _setup(seeded, tmp_path)
    clock.now = bars[0] + timedelta(hours=5)
    stale = run_bar(setup, "r1", bars[0])
    assert not stale.decided
    assert "stale" in stale.notes[0]
    _at(clock, bars[1])
    gated = run_bar(setup, "r2", bars[1], ("market/sim_a/candles_1h:no_gaps",))
    assert not gated.decided
    assert "no_gaps" in gated.notes[0]
    assert _journal(setup).read("decisions").is_empty()
    assert _journal(setup).read("orders").is_empty()


def test_a_create_lost_on_the_way_is_not_resent_and_the_next_run_settles_it(
    seeded: Seeded, tmp_path: Path
) -> None:
    setup, clock, bars = _setup(seeded, tmp_path)
    venues = faulty(setup)
    venues["sim_b"].lost_request = 1
    _at(clock, bars[0])
    report = run_bar(setup, "r1", bars[0])
    (lost,) = [o for o in report.orders if o.event == "unknown"]
    assert "never resent" in lost.detail
    assert lost.lookups == 1
    assert not any("REDUCING" in n for n in report.notes)  # the venue answered the look-up
    _at(clock, bars[1])
    run_bar(setup, "r2", bars[1])
    events = (
        _journal(setup).read("order_events").filter(client_order_id=lost.intent.client_order_id)
    )
    assert events.sort("at")["event"].to_list()[-1] == "not_found"
    assert_books_agree(setup)


def test_partial_fills_are_recorded_and_the_rest_is_cancelled_by_the_next_run(
    seeded: Seeded, tmp_path: Path
) -> None:
    setup, clock, bars = _setup(seeded, tmp_path, participation=1e-6)
    _at(clock, bars[0])
    first = run_bar(setup, "r1", bars[0])
    partial = [o for o in first.orders if o.event == "open" and o.order and o.order.filled > 0]
    assert partial, [(o.event, o.order) for o in first.orders]
    _at(clock, bars[1])
    run_bar(setup, "r2", bars[1])
    events = _journal(setup).read("order_events")
    for o in partial:
        mine = events.filter(client_order_id=o.intent.client_order_id, run_id="r2")
        assert mine["event"].to_list() == ["canceled"]
        assert 0 < mine["filled"][0] < o.intent.amount
    assert_books_agree(setup)


def test_a_run_minutes_after_the_close_prices_orders_at_the_venues_last_minute(
    seeded: Seeded, tmp_path: Path
) -> None:
    setup, clock, bars = _setup(seeded, tmp_path)
    clock.now = bars[0] + timedelta(hours=1, minutes=10)  # features landed late
    report = run_bar(setup, "r1", bars[0])
    assert report.orders
    assert "no_fresh_price" not in {d["reason"] for d in report.denials}
    closes = {(o.intent.venue, o.intent.symbol): o.intent.price for o in report.orders}
    bar_closes = setup.lake.scan(catalog.candles("1h")).filter(ts=bars[0]).collect()
    at_bar = {(r["venue"], r["symbol"]): r["close"] for r in bar_closes.iter_rows(named=True)}
    assert all(price != at_bar[key] for key, price in closes.items())  # minute marks, not the bar


def test_basis_pinned_legs_place_orders_only_on_their_own_venues(
    seeded: Seeded, tmp_path: Path
) -> None:
    root, bars = seeded
    deployed = [
        {"strategy": "basis", "stage": "paper", "capital": 20_000.0},
        {"strategy": "trend", "stage": "paper", "capital": 20_000.0},
    ]
    config = live_config(root, strategies=deployed)
    setup, clock = paper_setup(config, Lake(root / "lake"), tmp_path, bars[0])

    replay(setup, bars[:6], clock)

    journal = _journal(setup)
    decisions = journal.read("decisions")
    legs = decisions.filter(pl.col("strategy") == "basis", pl.col("weight") != 0.0)
    assert legs.height > 0
    assert legs["venue"].null_count() == 0
    assert decisions.filter(pl.col("strategy") == "trend")["venue"].null_count() > 0
    basis = journal.read("orders").filter(pl.col("strategy") == "basis")
    assert basis.height > 0  # the legs net to ~0 per instrument, yet they trade
    # Every basis order is on a venue where basis decided a leg of that bar and instrument.
    assert basis.join(legs, on=["bar", "venue", "symbol"], how="anti").is_empty()
    assert_books_agree(setup)
