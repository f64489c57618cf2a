"""Repairs of a table that something went wrong with: duplicate or unkeyable rows, files a killed
writer left behind, and a return to an earlier version.

Each repair is one Delta commit (or, for stray files, touches only files that no version of the
table has ever referenced), so time travel to every earlier version keeps working.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import polars as pl

from lake.catalog import TableSpec
from lake.store import Lake, _sql_literal

# A file younger than this may belong to a write that is still running: never touch it.
DEFAULT_GRACE_SECONDS = 600


@dataclass(frozen=True, slots=True)
class RepairResult:
    """What a repair changed."""

    table: str
    duplicates_removed: int
    unkeyed_removed: int
    partitions_rewritten: int
    version: int | None  # the Delta version the repair committed, None if nothing to do


def _partition_predicate(row: dict[str, Any]) -> str:
    parts = []
    for column, value in row.items():
        parts.append(f"{column} IS NULL" if value is None else f"{column} = {_sql_literal(value)}")
    return "(" + " AND ".join(parts) + ")"


def deduplicate(lake: Lake, spec: TableSpec) -> RepairResult:
    """Keep one row per key and drop rows with a null or empty key, rewriting only the
    partitions that hold such rows, in one commit. Duplicates of a key are usually identical
    (two writers stored the same rows); when they differ, the greatest row wins, so the
    result does not depend on file order."""
    from deltalake import DeltaTable, write_deltalake

    if not lake.exists(spec):
        return RepairResult(spec.name, 0, 0, 0, None)
    table = DeltaTable(lake.uri(spec), storage_options=lake.storage_options)
    partition_cols = list(spec.partition_by)
    scan = pl.scan_delta(table)
    unkeyed = pl.any_horizontal(
        *[pl.col(k).is_null() for k in spec.key],
        *[pl.col(k).cast(pl.String).str.strip_chars() == "" for k in spec.key],
    )
    flagged = scan.filter(unkeyed | pl.struct(list(spec.key)).is_duplicated())
    bad = flagged.select(partition_cols or [pl.lit(1).alias("_all")]).unique().collect()
    if bad.is_empty():
        return RepairResult(spec.name, 0, 0, 0, None)
    if partition_cols:
        predicate = " OR ".join(_partition_predicate(r) for r in bad.iter_rows(named=True))
        affected = scan.join(bad.lazy(), on=partition_cols, nulls_equal=True).collect()
    else:
        predicate, affected = "true", scan.collect()
    keyed = affected.filter(~unkeyed.fill_null(True))
    kept = keyed.sort(keyed.columns, nulls_last=True).unique(
        subset=list(spec.key), keep="last", maintain_order=True
    )
    write_deltalake(
        table,
        kept.to_arrow(),
        mode="overwrite",
        predicate=predicate,
        partition_by=partition_cols or None,
        storage_options=lake.storage_options,
    )
    table.update_incremental()
    return RepairResult(
        spec.name,
        duplicates_removed=keyed.height - kept.height,
        unkeyed_removed=affected.height - keyed.height,
        partitions_rewritten=bad.height,
        version=int(table.version()),
    )


def restore(lake: Lake, spec: TableSpec, version: int) -> int:
    """Make ``version`` the table's content again, as a new commit (history stays intact, so
    the restore itself can be undone the same way); returns the new version. Unreadable
    commits after ``version`` (a truncated log entry) are first moved aside into
    ``_keel_quarantine/`` with every commit after them, which is what lets the table open."""
    from deltalake import DeltaTable

    from lake.diagnose import unreadable_commits

    table_dir = _local_dir(lake, spec)
    corrupt = unreadable_commits(table_dir) if table_dir is not None else []
    if corrupt and table_dir is not None:
        first = int(corrupt[0].stem)
        if version >= first:
            raise ValueError(
                f"{spec.name}: commit {first} is unreadable; restore a version before it "
                f"(--version {first - 1} or earlier)"
            )
        _quarantine(table_dir, first)
    table = DeltaTable(lake.uri(spec), storage_options=lake.storage_options)
    if not 0 <= version <= table.version():
        raise ValueError(
            f"{spec.name} has versions 0..{table.version()}; pick one of them to restore "
            f"(keel history {spec.name} lists them)"
        )
    if version == table.version():
        return version
    table.restore(version)
    table.update_incremental()
    return int(table.version())


def _quarantine(table_dir: Path, first: int) -> Path:
    """Move commits and checkpoints from version ``first`` on out of the log."""
    log = table_dir / "_delta_log"
    target = table_dir / "_keel_quarantine" / time.strftime("%Y%m%dT%H%M%S")
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(log.iterdir()):
        head = path.name.split(".", 1)[0]
        if head.isdigit() and int(head) >= first:
            path.rename(target / path.name)
    last = log / "_last_checkpoint"
    if last.exists() and json.loads(last.read_text()).get("version", -1) >= first:
        last.rename(target / last.name)
    return target


def drop_missing_files(lake: Lake, spec: TableSpec) -> list[str]:
    """Remove from the table the files storage has lost (a Delta FSCK commit), so the rest of
    the table reads again; returns the dropped files, whose partitions need a new backfill."""
    from deltalake import DeltaTable

    table = DeltaTable(lake.uri(spec), storage_options=lake.storage_options)
    if not table.repair(dry_run=True).get("files_removed"):
        return []
    metrics = table.repair(dry_run=False)
    return sorted(str(f) for f in metrics.get("files_removed", []))


def _local_dir(lake: Lake, spec: TableSpec) -> Path | None:
    uri = lake.uri(spec)
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return Path(parsed.path if parsed.scheme else uri)
    return None


def referenced_files(table_dir: Path) -> set[str]:
    """Every data file any commit or checkpoint still in the log adds or removes (relative
    paths): what time travel can reach."""
    log = table_dir / "_delta_log"
    paths: set[str] = set()
    for commit in log.glob("*.json"):
        for line in commit.read_text().splitlines():
            if not line.strip():
                continue
            action = json.loads(line)
            for kind in ("add", "remove"):
                if kind in action:
                    paths.add(unquote(action[kind]["path"]))
    for checkpoint in log.glob("*.checkpoint*.parquet"):
        frame = pl.read_parquet(checkpoint)
        for kind in ("add", "remove"):
            if kind in frame.columns:
                values = frame.get_column(kind).struct.field("path").drop_nulls()
                paths.update(unquote(p) for p in values.to_list())
    return paths


def stray_files(
    lake: Lake, spec: TableSpec, grace_seconds: float = DEFAULT_GRACE_SECONDS
) -> list[Path]:
    """Files in the table's folder that no version references (data a killed writer wrote
    but never committed, its temporary commit files), older than ``grace_seconds``."""
    table_dir = _local_dir(lake, spec)
    if table_dir is None or not (table_dir / "_delta_log").is_dir():
        return []
    referenced = referenced_files(table_dir)
    cutoff = time.time() - grace_seconds
    out = []
    for path in table_dir.rglob("*"):
        if not path.is_file() or path.stat().st_mtime > cutoff:
            continue
        relative = path.relative_to(table_dir).as_posix()
        if relative.startswith("_keel_quarantine/"):
            continue
        if relative.startswith("_delta_log/"):
            if relative.endswith(".tmp"):
                out.append(path)
        elif relative not in referenced:
            out.append(path)
    return sorted(out)


def remove_stray_files(
    lake: Lake, spec: TableSpec, grace_seconds: float = DEFAULT_GRACE_SECONDS
) -> list[Path]:
    """Delete what ``stray_files`` finds; returns the deleted files."""
    removed = stray_files(lake, spec, grace_seconds)
    for path in removed:
        path.unlink(missing_ok=True)
    return removed
