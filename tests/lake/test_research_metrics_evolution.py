"""research/metrics gains columns over time (``execution_fill``): a lake written before a column
existed takes rows that have it, and reads old rows with it null."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from lake import catalog
from lake.store import Lake


def _row(run_id: str, **extra: object) -> dict[str, object]:
    return {
        "strategy": "trend",
        "run_id": run_id,
        "recorded_at": datetime(2024, 1, 2, tzinfo=UTC),
        "sharpe": 1.5,
        **extra,
    }


def test_a_metrics_table_without_execution_fill_takes_rows_that_have_it(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    spec = catalog.research_metrics()
    old_layout = {k: v for k, v in spec.layout.items() if k != "execution_fill"}
    old = pl.DataFrame([_row("r1")], schema=old_layout)
    # The table as an earlier release wrote it: no execution_fill column.
    old.write_delta(lake.uri(spec))

    lake.upsert(spec, pl.DataFrame([_row("r2", execution_fill="open")], schema=dict(spec.layout)))

    rows = lake.scan(spec).collect().sort("run_id")
    assert rows["run_id"].to_list() == ["r1", "r2"]
    assert rows["execution_fill"].to_list() == [None, "open"]
