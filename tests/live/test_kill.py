"""kill -9 of a trading run between sending an order and recording it: the next run finds the
order by its client order id, records its fills once, and the books agree."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from assets.live_run import run_bar
from lake.live import LakeJournal
from lake.store import Lake
from tests.live.helpers import assert_books_agree, faulty, live_config, paper_setup, seed_lake


def _child(tmp: str, marker: str) -> None:
    """The doomed run: signals after its first order reached the venue, then hangs."""
    root = Path(tmp)
    config = live_config(root)
    lake = Lake(root / "lake")
    setup, clock = paper_setup(config, lake, root, lake_bars(lake)[0])
    clock.now = clock.now + timedelta(hours=1, seconds=1)

    def stall(_: Any) -> None:
        Path(marker).write_text("sent")
        time.sleep(120)

    faulty(setup)["sim_a"].after_create = stall
    run_bar(setup, "doomed", lake_bars(lake)[0])


def lake_bars(lake: Lake) -> list[Any]:
    from lake import catalog
    from trading.features.registry import registered_features

    spec = catalog.features("1h", list(registered_features()))
    return sorted(set(lake.scan(spec).collect()["ts"].to_list()))


@pytest.mark.slow
def test_kill_9_between_submit_and_record_loses_and_doubles_nothing(tmp_path: Path) -> None:
    config = live_config(tmp_path)
    lake = Lake(tmp_path / "lake")
    seed_lake(config, lake, days=1)
    marker = tmp_path / "sent"
    process = multiprocessing.get_context("spawn").Process(
        target=_child, args=(str(tmp_path), str(marker))
    )
    process.start()
    deadline = time.monotonic() + 90
    while not marker.exists() and time.monotonic() < deadline and process.is_alive():
        time.sleep(0.05)
    assert marker.exists(), "the child never sent an order"
    assert process.pid is not None
    os.kill(process.pid, signal.SIGKILL)
    process.join()

    bars = lake_bars(lake)
    setup, _ = paper_setup(config, lake, tmp_path, bars[1] + timedelta(hours=1, seconds=1))
    journal = LakeJournal(setup.journal_lake)
    intents = journal.read("orders")
    assert intents.height > 0
    assert journal.read("fills").filter(origin="keel").is_empty()
    report = run_bar(setup, "after-kill", bars[1])
    assert report.refused == []
    events = journal.read("order_events").filter(detail="reconciled at run start")
    assert "closed" in events["event"].to_list()
    assert_books_agree(setup)
