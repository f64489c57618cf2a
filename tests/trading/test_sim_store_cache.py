"""The simulated account store keeps its state in memory between blocks and writes only what
changed: these tests pin that the cache is never stale (another process's write, an in-place
edit, a deleted file are all seen) and that a block that changes nothing leaves the file alone."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest

from trading.venues.base import RetryableError
from trading.venues.sim.store import StateStore


def _initial() -> dict[str, object]:
    return {"n": 0, "log": []}


def _set_in_another_process(path: str, value: int) -> None:
    with StateStore(Path(path), _initial).transaction() as state:
        state["n"] = value


def _bump_many(path: str, times: int) -> None:
    store = StateStore(Path(path), _initial)
    for _ in range(times):
        with store.transaction() as state:
            state["n"] += 1


def test_a_write_by_another_process_of_the_same_size_is_seen(tmp_path: Path) -> None:
    path = tmp_path / "acct.json"
    store = StateStore(path, _initial)
    with store.transaction() as state:
        state["n"] = 1
    with store.transaction() as state:  # cached from here on
        assert state["n"] == 1
    size = path.stat().st_size

    worker = multiprocessing.get_context("spawn").Process(
        target=_set_in_another_process, args=(str(path), 2)
    )
    worker.start()
    worker.join(60)

    assert worker.exitcode == 0
    assert path.stat().st_size == size  # same size: only the file's identity tells them apart
    with store.transaction() as state:
        assert state["n"] == 2


def test_two_processes_bumping_one_counter_lose_no_update(tmp_path: Path) -> None:
    path = tmp_path / "acct.json"
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_bump_many, args=(str(path), 40)) for _ in range(2)]
    for w in workers:
        w.start()
    _bump_many(str(path), 40)
    for w in workers:
        w.join(60)

    assert [w.exitcode for w in workers] == [0, 0]
    assert json.loads(path.read_text())["n"] == 120


def test_a_second_store_object_in_this_process_sees_the_first_ones_writes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "acct.json"
    a, b = StateStore(path, _initial), StateStore(path, _initial)
    for value in (5, 6, 7):
        with a.transaction() as state:
            state["n"] = value
        with b.transaction() as state:
            assert state["n"] == value
            state["log"].append(value)
    with a.transaction() as state:
        assert state == {"n": 7, "log": [5, 6, 7]}


def test_an_in_place_edit_of_the_file_is_seen(tmp_path: Path) -> None:
    path = tmp_path / "acct.json"
    store = StateStore(path, _initial)
    with store.transaction() as state:
        state["n"] = 1
    with open(path, "r+") as handle:  # same inode, new content
        handle.truncate(0)
        handle.write(json.dumps({"n": 42, "log": ["edited"]}))

    with store.transaction() as state:
        assert state == {"n": 42, "log": ["edited"]}


def test_a_deleted_file_starts_the_account_afresh(tmp_path: Path) -> None:
    path = tmp_path / "acct.json"
    store = StateStore(path, _initial)
    with store.transaction() as state:
        state["n"] = 9
    path.unlink()

    with store.transaction() as state:
        assert state == {"n": 0, "log": []}
    assert json.loads(path.read_text()) == {"n": 0, "log": []}


def test_a_block_that_changes_nothing_does_not_rewrite_the_file(tmp_path: Path) -> None:
    path = tmp_path / "acct.json"
    store = StateStore(path, _initial)
    with store.transaction() as state:
        state["n"] = 3
    before = os.stat(path)

    for _ in range(3):
        with store.transaction() as state:
            assert state["n"] == 3

    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def _change_then_fail(store: StateStore, error: Exception) -> None:
    with store.transaction() as state:
        state["n"] = 4
        state["log"].append("half")
        raise error


@pytest.mark.parametrize("on_disk", [True, False])
def test_a_bug_in_a_block_leaves_the_saved_state(tmp_path: Path, on_disk: bool) -> None:
    store = StateStore(tmp_path / "acct.json" if on_disk else None, _initial)
    with store.transaction() as state:
        state["n"] = 1
    with pytest.raises(KeyError):
        _change_then_fail(store, KeyError("a bug"))

    with store.transaction() as state:
        assert state == {"n": 1, "log": []}


@pytest.mark.parametrize("on_disk", [True, False])
def test_a_venue_error_in_a_block_keeps_what_it_changed(tmp_path: Path, on_disk: bool) -> None:
    path = tmp_path / "acct.json"
    store = StateStore(path if on_disk else None, _initial)
    with pytest.raises(RetryableError):
        _change_then_fail(store, RetryableError("acct", "create_order", "injected outage"))

    with store.transaction() as state:
        assert state == {"n": 4, "log": ["half"]}
    if on_disk:
        assert json.loads(path.read_text()) == {"n": 4, "log": ["half"]}
