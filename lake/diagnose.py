"""When a table cannot be read: which file is at fault and how to recover, instead of a raw
delta-rs or polars traceback.

Two failures seen in practice: a data file deleted or lost from one partition (reads that touch
that partition fail; reads pruned to other venues' partitions still work) and an unreadable
commit in ``_delta_log`` (the whole table fails to open; other tables are unaffected).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

import polars as pl

from lake.catalog import TableSpec
from lake.store import Lake

T = TypeVar("T")


class LakeReadError(RuntimeError):
    """A table (or one venue's part of it) could not be read; the message names the file and
    the recovery."""

    def __init__(self, table: str, message: str) -> None:
        super().__init__(message)
        self.table = table


def unreadable_commits(table_dir: Path) -> list[Path]:
    """Commit files in ``_delta_log`` that are not valid JSON lines (truncated, overwritten)."""
    bad = []
    for commit in sorted((table_dir / "_delta_log").glob("*.json")):
        try:
            for line in commit.read_text().splitlines():
                if line.strip():
                    json.loads(line)
        except (ValueError, UnicodeDecodeError):
            bad.append(commit)
    return bad


def missing_files(lake: Lake, spec: TableSpec) -> list[str]:
    """Data files the current version lists but storage no longer has."""
    from deltalake import DeltaTable

    table = DeltaTable(lake.uri(spec), storage_options=lake.storage_options)
    metrics = table.repair(dry_run=True)
    return sorted(str(f) for f in metrics.get("files_removed", []))


def explain(lake: Lake, spec: TableSpec, exc: BaseException, venue: str | None = None) -> str:
    """One paragraph: what is broken in ``spec``'s table and the command that recovers it."""
    where = f"{spec.name}" + (f" (venue {venue})" if venue else "")
    table_dir = Path(lake.uri(spec))
    if table_dir.is_dir():
        corrupt = unreadable_commits(table_dir)
        if corrupt:
            version = int(corrupt[0].stem)
            return (
                f"{where} cannot be opened: its commit file {corrupt[0]} is unreadable "
                f"(truncated or overwritten). Recover the last good version with: "
                f"keel restore {spec.name} --version {max(version - 1, 0)} "
                "(moves the unreadable commits aside first)"
            )
    try:
        missing = missing_files(lake, spec)
    except Exception:  # the table cannot even be opened: fall back to the raw reason
        missing = []
    if missing:
        shown = ", ".join(missing[:3]) + (
            f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        )
        return (
            f"{where} cannot be read: data file {shown} is missing from {lake.uri(spec)}. "
            f"Drop the lost file from the table with: keel repair {spec.name} (it prints the "
            f"days to backfill again), or go back to an earlier version: keel history "
            f"{spec.name}, then keel restore {spec.name} --version N"
        )
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{where} cannot be read: {reason}. See keel history {spec.name} and keel restore"


def collect(
    lake: Lake, spec: TableSpec, frame: pl.LazyFrame, venue: str | None = None
) -> pl.DataFrame:
    """``frame.collect()``, turning a storage failure into a ``LakeReadError`` that says which
    file is broken and how to recover."""
    try:
        return frame.collect()
    except (OSError, pl.exceptions.ComputeError) as exc:
        raise LakeReadError(spec.name, explain(lake, spec, exc, venue)) from None
    except Exception as exc:
        if type(exc).__name__ not in ("DeltaError", "DeltaProtocolError", "TableNotFoundError"):
            raise
        raise LakeReadError(spec.name, explain(lake, spec, exc, venue)) from None


def scan(lake: Lake, spec: TableSpec) -> pl.LazyFrame:
    """``lake.scan(spec)``, with an unopenable table reported as a ``LakeReadError``."""
    try:
        return lake.scan(spec)
    except Exception as exc:
        if not isinstance(exc, OSError) and type(exc).__name__ != "DeltaError":
            raise
        raise LakeReadError(spec.name, explain(lake, spec, exc)) from None
