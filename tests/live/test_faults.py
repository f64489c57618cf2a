"""Randomized faults over many runs: lost acknowledgements, duplicated fill reports, outages
mid-run, a crash between submit and record, fills made while Keel was down, halts, retried
bars. Each ends with every order placed exactly once and the ledger equal to the venue."""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import pytest

from assets.live_run import run_bar
from lake.live import LakeJournal
from lake.store import Lake
from tests.live.helpers import assert_books_agree, faulty, live_config, paper_setup, seed_lake
from trading.live.states import Scope, change
from trading.venues.base import OrderRequest, VenueError

RUNS = 100
SOAK_RUNS = int(os.environ.get("KEEL_SOAK_RUNS", "1000"))
# Faults of the wrapper (network-level) and of the simulated account itself (``sim_*``).
FAULTS = (
    "none",
    "lost_ack",
    "outage",
    "duplicate_fills",
    "crash",
    "down_fills",
    "halt",
    "rerun",
    "sim_lost_ack",
    "sim_duplicate_fill",
    "sim_reject",
    "sim_outage",
)


class CrashError(Exception):
    """The process died (kill -9) right after sending orders, before recording them."""


class CrashingJournal:
    """The lake journal, except that recording the outcome of sent orders can 'kill' the run."""

    def __init__(self, inner: LakeJournal) -> None:
        self.inner = inner
        self.armed = False

    def append(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        sent = any(r.get("event") not in (None, "intent") for r in rows)
        if self.armed and table == "order_events" and sent:
            self.armed = False
            raise CrashError("killed between submit and record")
        self.inner.append(table, rows)

    def read(self, table: str) -> Any:
        return self.inner.read(table)


def _drill(tmp: Path, runs: int, seed: int) -> dict[str, int]:
    config = live_config(tmp)
    lake = Lake(tmp / "lake")
    bars = seed_lake(config, lake, days=max(3, runs // 24 + 2))
    setup, clock = paper_setup(config, lake, tmp, bars[0])
    journal = CrashingJournal(LakeJournal(setup.journal_lake))
    setup.journal = journal  # type: ignore[assignment]
    venues = faulty(setup)
    rng = random.Random(seed)
    counts = dict.fromkeys(FAULTS, 0)
    i = 0
    for _ in range(runs):
        fault = rng.choice(FAULTS)
        counts[fault] += 1
        if fault != "rerun":
            i += 1
        bar = bars[i]
        clock.now = bar + timedelta(hours=1, seconds=1)
        victim = venues[rng.choice(sorted(venues))]
        if fault == "lost_ack":
            victim.lost_ack = rng.randint(1, 3)
        elif fault == "outage":
            after = rng.randint(0, 2)
            sent: list[str] = []

            def cut(
                request: OrderRequest, v: Any = victim, n: int = after, s: list[str] = sent
            ) -> None:
                s.append(request.client_order_id)
                v.outage = len(s) > n

            victim.on_create = cut
        elif fault.startswith("sim_"):
            victim.inner.account.inject(fault.removeprefix("sim_"), rng.randint(1, 3))
        elif fault == "duplicate_fills":
            victim.duplicate_fills = True
        elif fault == "crash":
            journal.armed = True
        elif fault == "down_fills":
            spec = next(x for x in victim.inner.instruments() if x.kind == "swap")
            price = victim.inner.fetch_candles(spec.symbol, "1h", bar, bar + timedelta(hours=1))[
                "close"
            ][0]
            lots = max(1.0, round(20.0 / price / spec.min_amount))
            amount = float(f"{spec.min_amount * lots * rng.randint(1, 4):.10g}")
            side: Literal["buy", "sell"] = rng.choice(["buy", "sell"])
            with contextlib.suppress(VenueError):  # an armed account fault may hit it too
                victim.inner.create_order(OrderRequest(spec.symbol, side, amount, f"manual-{i}"))
        elif fault == "halt":
            scopes: list[tuple[Scope, str]] = [("all", "*"), ("venue", victim.inner.name)]
            scope = rng.choice(scopes)
            journal.append(
                "trading_states", [change("HALTED", clock.now, "drill", "cli", *scope).row()]
            )  # type: ignore[arg-type]
        with contextlib.suppress(CrashError):
            run_bar(setup, f"run-{i}-{fault}", bar)
        for v in venues.values():
            v.lost_ack, v.outage, v.duplicate_fills, v.on_create = 0, False, False, None
            assert v.resent == []
        journal.armed = False
        if rng.random() < 0.3:  # the trader resumes everything now and then
            journal.append("trading_states", [change("ACTIVE", clock.now, "resume", "cli").row()])
            for name in venues:
                journal.append(
                    "trading_states",
                    [change("ACTIVE", clock.now, "resume", "cli", "venue", name).row()],
                )
    # A last clean run reconciles whatever the faults left in flight (armed account faults
    # that no call consumed are disarmed first).
    for v in venues.values():
        for fault in ("lost_ack", "duplicate_fill", "reject", "outage"):
            v.inner.account.inject(fault, -10_000)
    clock.now = bars[i + 1] + timedelta(hours=1, seconds=1)
    run_bar(setup, "final", bars[i + 1])
    assert_books_agree(setup)
    orders = journal.read("orders")
    assert orders.height > runs // 4, "the drill placed too few orders to mean anything"
    return counts


def test_randomized_faults_over_100_runs_place_each_order_once_and_books_agree(
    tmp_path: Path,
) -> None:
    counts = _drill(tmp_path, RUNS, seed=20240301)
    assert sum(counts.values()) == RUNS >= 100
    assert all(n > 0 for n in counts.values()), counts


@pytest.mark.soak
def test_randomized_faults_soak(tmp_path: Path) -> None:
    counts = _drill(tmp_path, SOAK_RUNS, seed=int(os.environ.get("KEEL_SOAK_SEED", "7")))
    assert sum(counts.values()) == SOAK_RUNS
