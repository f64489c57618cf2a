"""Simulated account state on disk that two processes cannot corrupt.

Every read-modify-write holds an exclusive ``fcntl`` lock on a sibling ``.lock`` file, and every
write goes to a temporary file that is atomically renamed over the state, so a reader sees the
old state or the new one, never half of either, and no update is lost.
Without a directory the state lives in memory (tests, throwaway runs). A block that ends with a
``VenueError`` (the account's own answer: a rejection, an outage, a lost acknowledgement) still
saves what it changed; any other exception (a bug) leaves the state as it was.

Cost (docs/performance.md, live section): a paper replay opens thousands of transactions, most
of which change nothing (a read, or a sync of a bar already synced). So a block that leaves the
state as it found it writes nothing, and the state is parsed from disk only when the file is not
the one this store last wrote or read: the store keeps that file open, so its inode cannot be
reused, and compares it (device, inode, size, modification time) with what the path names now,
under the lock. A write by another process replaces the file, so it is always seen.

The state grows with the account's history (every order and fill), so serializing it to see
whether a block changed it costs more the longer an account trades (a week of paper replay:
most of the replay's time). An owner that knows which parts can change passes ``fingerprint``:
a cheap, immutable summary that differs whenever the state does; the state is serialized only
when the fingerprint moved. Serialization is orjson (sorted keys), ~4x the C ``json`` encoder.

Durability: the write is atomic (temporary file, then ``os.replace``), which is what a crash of
the process (kill -9) needs: the kernel keeps the written pages, and a reader sees the old state
or the new one. It is not fsynced: that would only protect a power loss, which the journal it
is reconciled against does not survive either (delta-rs does not fsync local commits; checked
with strace), and it cost ~12 ms a write under load (docs/performance.md, paper replay).
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import orjson

from trading.venues.base import VenueError

State = dict[str, Any]
Fingerprint = Callable[[State], object]


def dump(state: State) -> bytes:
    """The state as JSON with sorted keys (what the file holds)."""
    return orjson.dumps(state, option=orjson.OPT_SORT_KEYS)


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino, a.st_size, a.st_mtime_ns, a.st_ctime_ns) == (
        b.st_dev,
        b.st_ino,
        b.st_size,
        b.st_mtime_ns,
        b.st_ctime_ns,
    )


class StateStore:
    """One account's JSON state, created by ``initial`` on first use."""

    def __init__(
        self,
        path: Path | None,
        initial: Callable[[], State],
        fingerprint: Fingerprint | None = None,
    ) -> None:
        self._path = path
        self._initial = initial
        self._fingerprint = fingerprint or dump
        self._mark: object = None  # fingerprint of ``_state`` as saved (None: not saved yet)
        self._thread_lock = threading.Lock()
        self._state: State | None = None  # as of ``_text``: what the file (or memory) holds
        self._text: bytes | None = None  # its serialized form (restores an in-memory state)
        self._held: IO[bytes] | None = None  # the file ``_state`` came from, kept open
        self._seen: os.stat_result | None = None  # that file as it was when read or written

    def __del__(self) -> None:
        """Close the held state file with the store (no unclosed-file warning)."""
        held = getattr(self, "_held", None)
        if held is not None:
            held.close()

    @property
    def path(self) -> Path | None:
        """Where the state lives (None: in memory)."""
        return self._path

    @contextmanager
    def transaction(self) -> Iterator[State]:
        """The state, locked; saved atomically when the block ends without an exception."""
        with self._thread_lock:
            if self._path is None:
                if self._state is None:
                    self._load(self._initial(), None)
                yield from self._run(lambda text: None)
                return
            self._path.parent.mkdir(parents=True, exist_ok=True)
            lock_path = self._path.with_name(self._path.name + ".lock")
            with open(lock_path, "a+") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    self._refresh()
                    yield from self._run(self._write)
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)

    def _run(self, save: Callable[[bytes], None]) -> Iterator[State]:
        """Hand out the state; save it if the block changed it (also on a ``VenueError``);
        forget it on any other exception, so the next block starts from the saved state."""
        state = self._state
        assert state is not None
        try:
            yield state
        except VenueError:
            self._save(state, save)
            raise
        except BaseException:
            self._forget()
            raise
        self._save(state, save)

    def _save(self, state: State, save: Callable[[bytes], None]) -> None:
        mark = self._fingerprint(state)
        if self._mark is not None and mark == self._mark:
            return
        text = dump(state)
        try:
            save(text)
        except BaseException:
            self._forget()
            raise
        self._text, self._mark = text, mark

    def _forget(self) -> None:
        """Drop the in-process copy: memory goes back to the last saved text, disk is re-read."""
        if self._path is None and self._text is not None:
            self._state = dict(orjson.loads(self._text))
            self._mark = self._fingerprint(self._state)
            return
        self._state, self._text, self._mark = None, None, None
        self._release()

    def _release(self) -> None:
        if self._held is not None:
            self._held.close()
        self._held, self._seen = None, None

    def _load(self, state: State, held: IO[bytes] | None) -> None:
        self._release()
        self._state, self._held = state, held
        self._seen = None if held is None else os.fstat(held.fileno())
        self._text = dump(state) if held is None else None  # memory: what ``_forget`` restores
        self._mark = self._fingerprint(state)

    def _refresh(self) -> None:
        """Under the lock: re-read the file unless it is the one the cached state came from."""
        assert self._path is not None
        try:
            now = os.stat(self._path)
        except FileNotFoundError:
            self._load(self._initial(), None)
            self._mark = None  # nothing on disk yet: the first block writes
            return
        if (
            self._state is not None
            and self._held is not None
            and self._seen is not None
            and _same_file(now, self._seen)
        ):
            return
        handle = open(self._path, "rb")  # noqa: SIM115 (kept open while its state is cached)
        try:
            state = dict(orjson.loads(handle.read()))
        except orjson.JSONDecodeError as exc:
            handle.close()
            self._forget()
            raise ValueError(
                f"simulated account state {self._path} is not valid JSON ({exc}); "
                "delete it to start the account afresh"
            ) from None
        except BaseException:
            handle.close()
            raise
        self._load(state, handle)

    def _write(self, text: bytes) -> None:
        assert self._path is not None
        tmp = self._path.with_name(f"{self._path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as handle:
            handle.write(text)  # atomic by the rename below; not fsynced (module docstring)
        held = open(tmp, "rb")  # noqa: SIM115 (the inode stays ours: no other file can take it)
        try:
            os.replace(tmp, self._path)
        except BaseException:
            held.close()
            raise
        self._release()
        self._held, self._seen = held, os.fstat(held.fileno())
