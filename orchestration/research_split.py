"""Research sweeps across workers: the strategies (static partitions of ``research/backtests``)
are cut into contiguous partition ranges, one run per range, all launched at once. Each run
loads features and prices once and backtests its range; with ``KEEL_EXECUTOR=celery`` the runs'
steps land on whichever Celery workers are free, on any machine.

The research pool (``lake_research``) admits as many concurrent steps as there are ranges; the
lake retries a commit that loses a race to another range's write (MERGE and predicate overwrite
are idempotent), so concurrent ranges never lose or duplicate a result.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from typing import Any, TextIO

RESEARCH_POOL = "lake_research"


def split_ranges(names: Sequence[str], parts: int) -> list[tuple[str, str]]:
    """``parts`` contiguous (first, last) ranges of ``names`` in order, sizes differing by at
    most one; fewer when there are fewer names."""
    parts = max(1, min(parts, len(names)))
    size, extra = divmod(len(names), parts)
    out = []
    start = 0
    for i in range(parts):
        end = start + size + (i < extra)
        out.append((names[start], names[end - 1]))
        start = end
    return out


def allow_concurrent_research(instance: Any, workers: int) -> None:
    """Raise the research pool's limit to ``workers`` (never lowers a higher limit)."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return
    info = storage.get_concurrency_info(RESEARCH_POOL)
    if (info.slot_count or 0) < workers:
        storage.set_concurrency_slots(RESEARCH_POOL, workers)


def run_ranges(ranges: Sequence[tuple[str, str]], out: TextIO | None = None) -> bool:
    """Run every range at once, each as its own ``keel research --range FIRST LAST`` process
    (Dagster's run setup is not thread-safe; processes also use every core), print each one's
    output as it finishes; True when all succeeded."""
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "orchestration.cli", "research", "--range", first, last],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for first, last in ranges
    ]
    ok = True
    for child in children:
        output, _ = child.communicate()
        print(output.rstrip(), file=out or sys.stdout, flush=True)
        ok = ok and child.returncode == 0
    return ok
