"""Writes of the account tables that hold a venue's current state (balances, positions, open
orders): MERGE what the venue reports, then delete that venue's rows it no longer reports.
Re-syncing an unchanged account commits nothing; nothing is written when a frame is invalid."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from lake.catalog import TableSpec
from lake.store import Lake, _sql_literal


@dataclass(frozen=True, slots=True)
class StateWrite:
    """What one venue's state write changed."""

    table: str
    inserted: int
    updated: int
    deleted: int


def write_venue_state(lake: Lake, spec: TableSpec, venue: str, df: pl.DataFrame) -> StateWrite:
    """Make ``spec``'s rows of ``venue`` equal ``df`` (validated first, whole)."""
    data = lake.validate(spec, df)
    if data.height and data.get_column("venue").unique().to_list() != [venue]:
        raise ValueError(f"{spec.name}: every row must belong to venue {venue!r}")
    result = lake.upsert(spec, data)
    key = [k for k in spec.key if k != "venue"]
    stored = lake.scan(spec).filter(pl.col("venue") == venue).select(key).collect()
    gone = stored.join(data.select(key), on=key, how="anti")
    if gone.is_empty():
        return StateWrite(spec.name, result.inserted, result.updated, 0)
    from deltalake import DeltaTable

    clauses = [
        "(" + " AND ".join(f"{k} = {_sql_literal(row[k])}" for k in key) + ")"
        for row in gone.iter_rows(named=True)
    ]
    predicate = f"venue = {_sql_literal(venue)} AND (" + " OR ".join(clauses) + ")"
    DeltaTable(lake.uri(spec), storage_options=lake.storage_options).delete(predicate)
    lake._tables.pop(lake.uri(spec), None)
    return StateWrite(spec.name, result.inserted, result.updated, gone.height)
