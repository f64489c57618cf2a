"""The paper replay's journal keeps appends in memory and commits each table once at the end:
reads must see exactly what a lake journal would after the same appends (the run's logic
depends on it), and the flush must leave the lake as the direct appends would have."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lake.live import LakeJournal, live_table
from lake.store import Lake
from trading.live.buffered import BufferedJournal

BAR = datetime(2024, 3, 1, tzinfo=UTC)


def _denial(run: str, amount: float = 1.0) -> dict[str, Any]:
    return {
        "run_id": run, "bar": BAR, "strategy": "trend", "account": "paper", "venue": "sim_a",
        "symbol": "BTC/USDT", "side": "buy", "amount": amount, "reason": "min_size",
        "detail": None, "at": BAR + timedelta(minutes=1),
    }  # fmt: skip


def _state(at: datetime, state: str) -> dict[str, Any]:
    return {
        "at": at,
        "scope": "venue",
        "target": "sim_a",
        "state": state,
        "reason": "test",
        "source": "tests",
    }


def test_reads_equal_a_lake_journal_after_the_same_appends(tmp_path: Path) -> None:
    reference = LakeJournal(Lake(tmp_path / "reference"))
    buffered = BufferedJournal(LakeJournal(Lake(tmp_path / "buffered")))
    steps = [[_denial("r1")], [], [_denial("r2", 2.0), _denial("r2", 3.0)], [_denial("r3")]]
    for rows in steps:
        reference.append("denials", rows)
        buffered.append("denials", rows)
        assert buffered.read("denials").equals(reference.read("denials"))
        assert buffered.read("orders").equals(reference.read("orders"))  # never appended


def test_nothing_reaches_the_lake_before_flush_and_flush_commits_each_table_once(
    tmp_path: Path,
) -> None:
    lake = Lake(tmp_path)
    buffered = BufferedJournal(LakeJournal(lake))
    for run in ("r1", "r2", "r3"):
        buffered.append("denials", [_denial(run)])
    buffered.append("trading_states", [_state(BAR, "HALTED")])

    assert not lake.exists(live_table("denials"))
    assert buffered.pending() == {"denials": 3, "trading_states": 1}

    buffered.flush()

    assert lake.version(live_table("denials")) == 0  # one commit: version 0
    assert lake.version(live_table("trading_states")) == 0
    assert buffered.pending() == {}
    stored = LakeJournal(lake).read("denials")
    assert stored["run_id"].to_list() == ["r1", "r2", "r3"]
    assert buffered.read("denials").equals(stored)


def test_rows_committed_by_another_writer_are_seen_before_the_buffered_ones(
    tmp_path: Path,
) -> None:
    lake = Lake(tmp_path)
    buffered = BufferedJournal(LakeJournal(lake))
    buffered.append("trading_states", [_state(BAR, "REDUCING")])
    LakeJournal(lake).append("trading_states", [_state(BAR - timedelta(hours=1), "HALTED")])

    assert buffered.read("trading_states")["state"].to_list() == ["HALTED", "REDUCING"]


def test_a_row_missing_a_column_fails_at_append_not_at_flush(tmp_path: Path) -> None:
    buffered = BufferedJournal(LakeJournal(Lake(tmp_path)))
    row = _denial("r1")
    del row["reason"]

    with pytest.raises(ValueError, match="reason"):
        buffered.append("denials", [row])
    assert buffered.pending() == {}


def test_a_null_in_a_required_column_fails_at_append(tmp_path: Path) -> None:
    buffered = BufferedJournal(LakeJournal(Lake(tmp_path)))

    with pytest.raises(ValueError, match="reason"):
        buffered.append("denials", [{**_denial("r1"), "reason": None}])
