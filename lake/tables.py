"""What a Delta table is to Keel: its name under the lake root, layout, key, partitions and
write-time rules. The catalog modules declare every table with it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from pandera.polars import DataFrameSchema

    from lake.schemas import Rule

# Columns the lake derives from ``date`` when a table partitions by them.
DERIVED_PARTITIONS: Mapping[str, pl.Expr] = {"month": pl.col("date").dt.truncate("1mo")}


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A Delta table: where it lives under the lake root and what a valid row is."""

    name: str  # path under the lake root, e.g. "market/candles_1h"
    layout: Mapping[str, pl.DataType]
    key: tuple[str, ...]
    partition_by: tuple[str, ...]
    rules_factory: Callable[[], Sequence[Rule]] = field(repr=False, compare=False)
    nullable: frozenset[str] = frozenset()
    evolve_schema: bool = False  # new columns (e.g. a new feature) are added on write

    def rules(self) -> Sequence[Rule]:
        """The row rules, built fresh (some read the clock)."""
        return self.rules_factory()

    def schema(self) -> DataFrameSchema:
        """The equivalent pandera schema, for failure reports and documentation."""
        from lake.schemas import pandera_schema

        return pandera_schema(self.name, self.layout, self.rules(), self.key, self.nullable)

    def derived_columns(self) -> list[pl.Expr]:
        """Partition columns the lake adds on write (not part of the layout)."""
        return [DERIVED_PARTITIONS[c].alias(c) for c in self.partition_by if c not in self.layout]


def no_rules() -> list[Rule]:
    """For tables whose rows need no check beyond layout, key and nulls."""
    return []
