"""The table catalog: every Delta table's name, key, partition columns and write-time schema.

Schemas live in ``lake.schemas`` and are built on first use, so importing the catalog (as
Dagster definitions do) never pays for pandera.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

import polars as pl

from trading import frames
from trading.timeframes import timeframe_minutes

if TYPE_CHECKING:
    from pandera.polars import DataFrameSchema


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A Delta table: where it lives under the lake root and what a valid row is."""

    name: str  # path under the lake root, e.g. "market/candles_1h"
    layout: Mapping[str, pl.DataType]
    key: tuple[str, ...]
    partition_by: tuple[str, ...]
    schema_factory: Callable[[], DataFrameSchema] = field(repr=False, compare=False)

    def schema(self) -> DataFrameSchema:
        """The pandera schema (built once per table name)."""
        if self.name not in _SCHEMAS:
            _SCHEMAS[self.name] = self.schema_factory()
        return _SCHEMAS[self.name]


_SCHEMAS: dict[str, DataFrameSchema] = {}


@cache
def candles(timeframe: str) -> TableSpec:
    """Candles of one timeframe, all venues and instruments, partitioned by venue and day."""
    from lake import schemas

    minutes = timeframe_minutes(timeframe)
    return TableSpec(
        name=f"market/candles_{timeframe}",
        layout=frames.CANDLES,
        key=frames.CANDLES_KEY,
        partition_by=("venue", "date"),
        schema_factory=lambda: schemas.candles_schema(timeframe, minutes),
    )


@cache
def funding_rates() -> TableSpec:
    """Funding settlements of perpetual swaps, partitioned by venue and day."""
    from lake import schemas

    return TableSpec(
        name="market/funding_rates",
        layout=frames.FUNDING_RATES,
        key=frames.FUNDING_RATES_KEY,
        partition_by=("venue", "date"),
        schema_factory=schemas.funding_rates_schema,
    )
