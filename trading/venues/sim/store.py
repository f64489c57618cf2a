"""Simulated account state on disk that two processes cannot corrupt.

Every read-modify-write holds an exclusive ``fcntl`` lock on a sibling ``.lock`` file, and every
write goes to a temporary file that is flushed, synced and atomically renamed over the state, so
a reader sees the old state or the new one, never half of either, and no update is lost.
Without a directory the state lives in memory (tests, throwaway runs). A block that ends with a
``VenueError`` (the account's own answer: a rejection, an outage, a lost acknowledgement) still
saves what it changed; any other exception (a bug) leaves the state as it was.
"""

from __future__ import annotations

import copy
import fcntl
import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from trading.venues.base import VenueError

State = dict[str, Any]


class StateStore:
    """One account's JSON state, created by ``initial`` on first use."""

    def __init__(self, path: Path | None, initial: Callable[[], State]) -> None:
        self._path = path
        self._initial = initial
        self._memory: State | None = None
        self._thread_lock = threading.Lock()

    @property
    def path(self) -> Path | None:
        """Where the state lives (None: in memory)."""
        return self._path

    @contextmanager
    def transaction(self) -> Iterator[State]:
        """The state, locked; saved atomically when the block ends without an exception."""
        with self._thread_lock:
            if self._path is None:
                state = copy.deepcopy(self._memory) if self._memory else self._initial()
                try:
                    yield state
                except VenueError:
                    self._memory = state
                    raise
                self._memory = state
                return
            self._path.parent.mkdir(parents=True, exist_ok=True)
            lock_path = self._path.with_name(self._path.name + ".lock")
            with open(lock_path, "a+") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    state = self._read()
                    try:
                        yield state
                    except VenueError:
                        self._write(state)
                        raise
                    self._write(state)
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> State:
        assert self._path is not None
        if not self._path.exists():
            return self._initial()
        try:
            return dict(json.loads(self._path.read_text()))
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"simulated account state {self._path} is not valid JSON ({exc}); "
                "delete it to start the account afresh"
            ) from None

    def _write(self, state: State) -> None:
        assert self._path is not None
        tmp = self._path.with_name(f"{self._path.name}.{os.getpid()}.tmp")
        with open(tmp, "w") as handle:
            json.dump(state, handle, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self._path)
