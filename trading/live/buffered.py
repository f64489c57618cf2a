"""A journal that holds appends in memory and writes them in one commit per table on ``flush``:
the paper replay's journal.

Why: each journal append is one Delta commit (~13-30 ms whatever its size), a run writes ~8
tables, so a replayed bar paid ~8 commits (docs/performance.md, paper replay). A replay's journal
is private and thrown away when the replay is restarted (``var/replay``, fresh each time), so it
has nothing to recover after a crash and needs no write-ahead; the live trading job keeps
committing before each send (``lake.live.LakeJournal`` directly). The run's code is the same
either way: ``TradingRun`` sees only the ``Journal`` protocol, and ``read`` returns what a
lake read would after the commits (the stored rows, then the buffered ones, in the layout).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from trading.live.journal import Journal, frame, nullable


class BufferedJournal:
    """Appends kept in memory until ``flush``; reads see them at once."""

    def __init__(self, inner: Journal) -> None:
        self.inner = inner
        self._rows: dict[str, list[Mapping[str, Any]]] = {}
        self._frames: dict[str, pl.DataFrame] = {}  # buffered rows of a table, as a frame
        self._stored: dict[str, pl.DataFrame] = {}  # the inner read the last view was built on
        self._views: dict[str, pl.DataFrame] = {}  # stored + buffered, as ``read`` returns it

    def append(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Check the rows against the layout now (a bad row fails the run that wrote it, as a
        direct append would), keep them for ``flush``."""
        if not rows:
            return
        checked = frame(table, rows)
        nulls = [c for c in checked.columns if c not in nullable(table) and checked[c].null_count()]
        if nulls:
            raise ValueError(f"live/{table}: columns {nulls} must not be null; nothing written")
        self._rows.setdefault(table, []).extend(rows)
        old = self._frames.get(table)
        self._frames[table] = checked if old is None else pl.concat([old, checked])
        self._views.pop(table, None)

    def read(self, table: str) -> pl.DataFrame:
        """The stored rows followed by the buffered ones (a commit appends in that order)."""
        stored = self.inner.read(table)
        view = self._views.get(table)
        if view is not None and self._stored.get(table) is stored:
            return view
        extra = self._frames.get(table)
        view = (
            stored
            if extra is None
            else pl.concat([stored, extra.select(stored.columns)], how="vertical_relaxed")
        )
        self._stored[table], self._views[table] = stored, view
        return view

    def pending(self) -> dict[str, int]:
        """Rows waiting for ``flush``, per table."""
        return {t: len(rows) for t, rows in self._rows.items() if rows}

    def flush(self) -> None:
        """Write every buffered table in one append each; a table whose append fails keeps its
        rows (and the ones not yet written), so a second ``flush`` writes them."""
        for table in sorted(self._rows):
            rows = self._rows[table]
            if rows:
                self.inner.append(table, rows)
            del self._rows[table]
            self._frames.pop(table, None)
            self._views.pop(table, None)
            self._stored.pop(table, None)
