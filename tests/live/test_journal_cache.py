"""The journal keeps a table it read current after its own appends without reading it again;
these tests pin that it is never stale: another writer's commit is always seen."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from lake.live import LakeJournal
from lake.store import Lake

BAR = datetime(2024, 3, 1, tzinfo=UTC)


def _denial(run: str) -> dict[str, Any]:
    return {
        "run_id": run,
        "bar": BAR,
        "strategy": "trend",
        "account": "paper",
        "venue": "sim_a",
        "symbol": "BTC/USDT",
        "side": "buy",
        "amount": 1.0,
        "reason": "min_size",
        "detail": "too small",
        "at": BAR,
    }


def _runs(journal: LakeJournal) -> list[str]:
    return sorted(journal.read("denials")["run_id"].to_list())


def test_own_appends_keep_the_cache_equal_to_a_fresh_read(tmp_path: Path) -> None:
    journal = LakeJournal(Lake(tmp_path))
    journal.append("denials", [_denial("r1")])
    journal.read("denials")
    for run in ("r2", "r3"):
        journal.append("denials", [_denial(run)])

    assert "denials" in journal._cache  # kept current without a read
    fresh = LakeJournal(Lake(tmp_path)).read("denials")
    assert journal.read("denials").sort("run_id").equals(fresh.sort("run_id"))
    assert _runs(journal) == ["r1", "r2", "r3"]


def test_another_writers_append_is_seen_by_a_journal_that_cached_the_table(
    tmp_path: Path,
) -> None:
    mine, theirs = LakeJournal(Lake(tmp_path)), LakeJournal(Lake(tmp_path))
    mine.append("denials", [_denial("r1")])
    assert _runs(mine) == ["r1"]

    theirs.append("denials", [_denial("other")])
    assert _runs(mine) == ["other", "r1"]

    theirs.append("denials", [_denial("other2")])
    mine.append("denials", [_denial("r2")])  # the table moved by two commits: cache dropped
    assert _runs(mine) == ["other", "other2", "r1", "r2"]
    assert mine.read("denials").schema == pl.Schema(
        LakeJournal(Lake(tmp_path)).read("denials").schema
    )


def test_two_journals_appending_in_turn_across_compactions_keep_every_row_once(
    tmp_path: Path,
) -> None:
    """Each journal keeps its table object between appends without reloading it: an append on
    an object that missed the other's commits (and a compaction, every 50) still lands once."""
    a, b = LakeJournal(Lake(tmp_path)), LakeJournal(Lake(tmp_path))
    expected = []
    for i in range(60):
        run = f"r{i:02d}"
        (a if i % 3 else b).append("denials", [_denial(run)])
        expected.append(run)

    assert _runs(LakeJournal(Lake(tmp_path))) == expected
    assert _runs(a) == expected
