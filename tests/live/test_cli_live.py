"""``keel halt|reduce|resume|states|why|adopt-positions`` against a journal and paper accounts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from assets.live import setup_for
from assets.live_run import SimClock, run_bar
from assets.resources import KeelResource
from lake.live import LakeJournal
from lake.store import Lake
from orchestration.cli import main
from tests.configs import one_sim_venue
from tests.live.helpers import START, seed_lake
from trading.config import load_config
from trading.venues.base import OrderRequest

CONFIG = one_sim_venue(
    ["BTC/USDT", "ETH/USDT", "BTC/USDT:USDT"],
    """
[risk]
max_price_age_seconds = 1e12  # the test's bars are from 2024; the clock is today

[live]
stale_bars = 100000
strategies = [{ strategy = "trend", stage = "paper", capital = 20000.0 }]
""",
)


@pytest.fixture
def keel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KeelResource:
    path = tmp_path / "keel.toml"
    path.write_text(CONFIG)
    monkeypatch.setenv("KEEL_CONFIG", str(path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.setenv("KEEL_DAGSTER_STORAGE", str(tmp_path / "dagster"))
    seed_lake(load_config(path), Lake(), days=1)
    return KeelResource()


def test_halt_is_recorded_with_reason_cancels_open_orders_and_resume_undoes_it(
    keel: KeelResource, capsys: pytest.CaptureFixture[str]
) -> None:
    setup = setup_for(keel)
    clock = SimClock(START + timedelta(hours=1, seconds=1))
    setup.clock = clock
    report = run_bar(setup, "r1", START)
    assert report.orders
    venue = setup.accounts()[("paper", "sim_a")].venue
    # A resting order of Keel's (e.g. a maker leg): journalled, open at the venue.
    resting = OrderRequest("BTC/USDT", "buy", 0.01, "keel-resting", type="limit", price=1000.0)
    order = venue.create_order(resting)
    journal = LakeJournal(setup.journal_lake)
    row = {"run_id": "r1", "bar": START, "strategy": "trend", "account": "paper", "venue": "sim_a"}
    row |= {"symbol": "BTC/USDT", "at": START}
    journal.append(
        "orders",
        [row | {"client_order_id": "keel-resting", "side": "buy", "amount": 0.01, "type": "limit"}
         | {"price": 1000.0, "reduce_only": False}],
    )  # fmt: skip
    journal.append(
        "order_events",
        [row | {"client_order_id": "keel-resting", "event": "accepted", "order_id": order.order_id}
         | {"filled": 0.0, "detail": None}],
    )  # fmt: skip

    assert main(["halt", "--venue", "sim_a", "--reason", "exchange incident"]) == 0
    out = capsys.readouterr().out
    assert "HALTED venue sim_a: exchange incident" in out
    assert "cancelled keel-resting" in out
    assert venue.fetch_open_orders().is_empty()
    assert main(["states"]) == 0
    assert "HALTED venue sim_a: exchange incident (cli" in capsys.readouterr().out

    clock.now += timedelta(hours=1)
    halted = run_bar(setup, "r2", START + timedelta(hours=1))
    assert halted.orders == []
    assert "halted" in {d["reason"] for d in halted.denials}

    assert main(["resume", "--venue", "sim_a", "--reason", "incident over"]) == 0
    assert main(["states"]) == 0
    assert "all ACTIVE" in capsys.readouterr().out
    states = journal.read("trading_states").sort("at")
    assert states.select("state", "reason").rows() == [
        ("HALTED", "exchange incident"),
        ("ACTIVE", "incident over"),
    ]


def test_why_answers_with_decisions_net_targets_events_and_fills(
    keel: KeelResource, capsys: pytest.CaptureFixture[str]
) -> None:
    setup = setup_for(keel)
    setup.clock = SimClock(START + timedelta(hours=1, seconds=1))
    report = run_bar(setup, "r1", START)
    cid = report.orders[0].intent.client_order_id
    assert main(["why", cid]) == 0
    out = capsys.readouterr().out
    assert f"{cid}: {report.orders[0].intent.side}" in out
    for section in ("decisions:", "net targets:", "events:", "fills:"):
        assert section in out
    assert "trend" in out
    assert main(["why", cid[:-3]]) == 0  # the start of an id that no other order shares
    assert f"{cid}: {report.orders[0].intent.side}" in capsys.readouterr().out
    assert main(["why", "keel-nope"]) == 1
    out = capsys.readouterr().out  # the newest orders are listed to pick from
    assert "newest orders" in out
    assert any(o.intent.client_order_id in out for o in report.orders)


def test_adopt_positions_makes_the_ledger_equal_the_venue(
    keel: KeelResource, capsys: pytest.CaptureFixture[str]
) -> None:
    setup = setup_for(keel)
    setup.clock = SimClock(START + timedelta(hours=1, seconds=1))
    run_bar(setup, "r1", START)
    # A position appears at the venue that no fill explains (say an exchange-side liquidation
    # or transfer): the ledger misses it. Modelled by a journal row that moves the ledger.
    row = {"run_id": "x", "bar": START, "strategy": "*", "account": "paper", "venue": "sim_a"}
    row |= {"symbol": "BTC/USDT:USDT", "ledger": 0.0, "venue_position": 0.0, "difference": -3.0}
    LakeJournal(setup.journal_lake).append(
        "reconciliations", [row | {"action": "adjusted", "detail": "lost", "at": START}]
    )
    setup.clock.now += timedelta(hours=1)  # type: ignore[operator]
    assert run_bar(setup, "r2", START + timedelta(hours=1)).refused
    assert (
        main(
            ["adopt-positions", "--venue", "sim_a", "--account", "paper", "--reason", "liquidated"]
        )
        == 0
    )
    assert "BTC/USDT:USDT: ledger" in capsys.readouterr().out
    setup.clock.now += timedelta(hours=1)  # type: ignore[operator]
    assert run_bar(setup, "r3", START + timedelta(hours=2)).refused == []
    adjusted = (
        LakeJournal(setup.journal_lake).read("reconciliations").filter(action="adjusted").sort("at")
    )
    assert adjusted.select("symbol", "difference", "detail").rows() == [
        ("BTC/USDT:USDT", -3.0, "lost"),
        ("BTC/USDT:USDT", 3.0, "liquidated"),
    ]


@pytest.mark.parametrize(
    ("flag", "target"),
    [("--venue", "sim_gama"), ("--strategy", "trnd"), ("--instrument", "BTC/USDX")],
)
def test_halt_of_an_unknown_target_records_nothing_and_names_the_valid_ones(
    keel: KeelResource, flag: str, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["halt", flag, target, "--reason", "typo"]) == 2

    err = capsys.readouterr().err
    assert f"{flag} {target}: unknown; use one of:" in err
    assert main(["states"]) == 0
    assert target not in capsys.readouterr().out
