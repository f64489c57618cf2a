"""Backfills of any length in bounded memory, with visible progress.

A range of days is cut into consecutive runs sized by rows, not days: each run holds at most
``ROWS_PER_RUN`` rows of its largest table in memory (fetch, validation, MERGE, the quality
checks and the great-expectations suite all work on one run's window), so a two-year minute-bar
backfill needs no more memory than a month. Progress (partitions done of total, rows, rate,
ETA) is printed before the first run starts and after every step, from the run's own events.

When the range reaches today, today gets a run of its own, last: the newest bars are fetched
moments before their freshness is judged, so a long backfill does not fail ``fresh`` on bars
that aged while it ran.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TextIO

from trading.config import KeelConfig
from trading.text import counted
from trading.timeframes import timeframe_minutes

# Rows of the largest table one run may hold: ~0.1 KB a row through fetch, validation, MERGE and
# the pandas copy of the great-expectations suite keeps a run well under 2 GB.
ROWS_PER_RUN = 1_000_000
# Longest run in days, even on cheap (hourly) data: memory also grows with the partitions a run
# handles (measured: 92-day runs of 6 hourly assets peaked at 2.4 GB, 31-day runs at 1.3 GB).
MAX_DAYS_PER_RUN = 46
_FUNDING_PER_DAY = 3  # 8-hourly settlements


def rows_per_day(config: KeelConfig, keys: Iterable[Sequence[str]]) -> dict[str, int]:
    """Rows a day adds to each table the selected asset keys write (all venues together)."""
    venues = {v.name: v for v in config.venues}
    out: dict[str, int] = {}
    for path in keys:
        dataset = path[-1]
        if path[0] == "market" and dataset.startswith("candles_"):
            venue = venues[path[1]]
            rows = (
                1440 // timeframe_minutes(dataset.removeprefix("candles_")) * len(venue.instruments)
            )
        elif path[0] == "market" and dataset == "funding_rates":
            rows = _FUNDING_PER_DAY * sum(":" in s for s in venues[path[1]].instruments)
        elif path[0] == "features":
            bars = 1440 // timeframe_minutes(config.data.research_timeframe)
            rows = bars * sum(len(v.instruments) for v in config.venues)
        else:
            continue
        out[dataset] = out.get(dataset, 0) + rows
    return out


def days_per_run(per_day: dict[str, int], rows_per_run: int = ROWS_PER_RUN) -> int:
    """Days one run may cover so that its largest table stays within ``rows_per_run``."""
    largest = max(per_day.values(), default=1) or 1
    return max(1, min(MAX_DAYS_PER_RUN, rows_per_run // largest))


def plan_windows(start: date, end: date, days: int, today: date) -> list[tuple[date, date]]:
    """Consecutive inclusive windows of at most ``days`` days covering ``start..end``, oldest
    first; a range reaching ``today`` ends with a window of today alone."""
    last = end - timedelta(days=1) if start < end and end >= today else end
    windows = []
    lo = start
    while lo <= last:
        hi = min(lo + timedelta(days=days - 1), last)
        windows.append((lo, hi))
        lo = hi + timedelta(days=1)
    if last != end:
        windows.append((end, end))
    return windows


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


@dataclass
class Progress:
    """Counts materialized partitions and written rows from a run's events and prints one line
    per finished step: partitions done of total, rows, rate and ETA."""

    total: int
    out: TextIO = field(default_factory=lambda: sys.stdout)
    clock: Any = time.perf_counter
    done: int = 0
    rows: int = 0
    failed_steps: int = 0
    _started: float = 0.0
    _steps_counted: set[tuple[str, str]] = field(default_factory=set)

    def start(self, plan: str) -> None:
        """Print the plan before the first run starts."""
        self._started = self.clock()
        print(plan, file=self.out, flush=True)

    def on_event(self, event: Any) -> None:
        """Dagster event listener (``instance.add_event_listener``)."""
        data = getattr(event, "dagster_event", None)
        if data is None:
            return
        kind = data.event_type_value
        if kind == "ASSET_MATERIALIZATION":
            self.done += 1
            key = (event.run_id, data.step_key or "")
            if key not in self._steps_counted:  # every partition repeats the step's metadata
                self._steps_counted.add(key)
                written = data.event_specific_data.materialization.metadata.get("rows_written")
                self.rows += int(written.value) if written is not None else 0
        elif kind == "STEP_FAILURE" or (
            kind == "STEP_SUCCESS" and (event.run_id, data.step_key or "") in self._steps_counted
        ):  # asset steps and failures; passing check steps stay quiet
            self.failed_steps += kind == "STEP_FAILURE"
            step = (data.step_key or "").replace("__", "/")
            self.report(f"{step} {'FAILED' if kind == 'STEP_FAILURE' else 'done'}")

    def report(self, what: str) -> None:
        """One progress line."""
        elapsed = self.clock() - self._started
        share = self.done / self.total if self.total else 1.0
        rate = self.rows / elapsed if elapsed > 0 else 0.0
        eta = elapsed * (self.total - self.done) / self.done if self.done else None
        print(
            f"  {share:4.0%}  {self.done:,}/{counted(self.total, 'partition')}  "
            f"{counted(self.rows, 'row')}  "
            f"{rate:,.0f} rows/s  {_duration(elapsed)} elapsed  "
            f"ETA {_duration(eta) if eta is not None else '?'}  {what}",
            file=self.out,
            flush=True,
        )


def run_backfill(
    config: KeelConfig,
    start: date,
    end: date,
    selection: Sequence[Any],
    execute: Any,
    *,
    today: date | None = None,
    rows_per_run: int | None = None,
    out: TextIO | None = None,
) -> bool:
    """Backfill ``start..end`` of the selected asset keys as consecutive bounded runs
    (``execute(tags, listener) -> bool`` runs one), printing progress throughout. Stops at the
    first failed run and prints the command that resumes from it."""
    from orchestration.schedules import range_tags
    from trading.timeframes import utc_now

    paths = [tuple(key.path) for key in selection]
    per_day = rows_per_day(config, paths)
    rows_per_run = rows_per_run or ROWS_PER_RUN
    days = days_per_run(per_day, rows_per_run)
    windows = plan_windows(start, end, days, today or utc_now().date())
    span = (end - start).days + 1
    progress = Progress(total=span * len(paths), out=out or sys.stdout)
    names = ", ".join("/".join(p) for p in paths)
    progress.start(
        f"backfill {start}..{end}: {counted(span, 'day')} x {counted(len(paths), 'asset')} = "
        f"{counted(progress.total, 'partition')}, "
        f"~{counted(span * sum(per_day.values()), 'row')}, in {counted(len(windows), 'run')} of "
        f"at most {counted(days, 'day')} (<= {rows_per_run:,} rows per table per run)\n  {names}"
    )
    for number, (lo, hi) in enumerate(windows, 1):
        progress.report(f"run {number}/{len(windows)}: {lo}..{hi} started")
        if not execute(range_tags(lo.isoformat(), hi.isoformat()), progress.on_event):
            rest = f"--start {lo} --end {end}"
            print(
                f"backfill stopped at run {number}/{len(windows)} ({lo}..{hi}); fix the cause "
                f"above, then resume with: keel backfill {rest} (same --venue/--dataset)",
                file=progress.out,
                flush=True,
            )
            return False
    return True
