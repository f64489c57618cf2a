"""Two writers that both create one table at the same moment never store a row twice, and
``keel repair`` removes the duplicates a table already has."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
from deltalake import write_deltalake

from lake import catalog
from lake.maintenance import deduplicate
from lake.store import Lake
from tests.faults.writer import candles

SPEC = catalog.candles("1h")
TRIALS = 4
PROJECT = Path(__file__).resolve().parents[2]


def test_two_processes_creating_one_table_at_once_store_each_row_once(tmp_path: Path) -> None:
    heights = []
    for trial in range(TRIALS):
        root = tmp_path / f"lake{trial}"
        start = time.time() + 2.0  # both processes have imported everything by then
        writers = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.faults.writer", str(root), str(start)], cwd=PROJECT
            )
            for _ in range(2)
        ]
        assert [w.wait(timeout=60) for w in writers] == [0, 0]
        heights.append(Lake(root).scan(SPEC).collect().height)

    assert heights == [48] * TRIALS


def test_repair_keeps_one_row_per_key_and_drops_unkeyed_rows_in_one_commit(lake: Lake) -> None:
    lake.upsert(SPEC, candles("a"))
    other = candles("b").with_columns(SPEC.derived_columns())
    for frame in (other, other.head(3).with_columns(symbol=pl.lit(None, pl.String)), other):
        # what racing creators and pre-fix writes left behind, written past the lake's rules
        write_deltalake(lake.uri(SPEC), frame.to_arrow(), mode="append")
    before = lake.version(SPEC)

    result = deduplicate(lake, SPEC)

    table = lake.scan(SPEC).collect()
    assert (result.duplicates_removed, result.unkeyed_removed) == (48, 3)
    assert result.partitions_rewritten == 1
    assert result.version == (before or 0) + 1
    assert table.height == 96
    assert table.filter(pl.struct("venue", "symbol", "ts").is_duplicated()).is_empty()
    assert lake.scan(SPEC, version=before).collect().height == 147  # time travel still works
    assert deduplicate(lake, SPEC).version is None  # nothing left to repair


def test_processes_opening_a_fresh_instance_at_once_all_run(tmp_path: Path) -> None:
    codes = []
    for trial in range(2):
        home = tmp_path / f"home{trial}"
        home.mkdir()
        (home / "dagster.yaml").write_text((PROJECT / "dagster.yaml").read_text())
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "KEEL_DAGSTER_STORAGE": str(home / "storage"),
        }
        start = time.time() + 5.0
        openers = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.faults.opener", str(start)],
                cwd=PROJECT,
                env=env,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        for opener in openers:
            _, err = opener.communicate(timeout=120)
            codes.append((opener.returncode, "Traceback" in err))

    assert codes == [(0, False)] * 8
