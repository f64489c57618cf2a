"""What the lake refuses before any rule runs: a frame it cannot key or store faithfully.

``frames.conform`` casts leniently (venues use it to shape their own output); the lake must not:
a float cast into an integer column truncates (1.5 is stored as 1), text casts into a price,
a timezone-less timestamp would be taken as UTC, an extra column would be dropped without a
word, and a NULL key never matches in a MERGE, so every re-write would add another copy. Each of
these is a named rule here, checked on the schema (cheap) and on the key columns, and a frame
that breaks one is rejected whole with the rule and the fix.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import polars as pl

from trading.text import counted


class AdmissionError(ValueError):
    """The frame cannot enter the table as it is; the message names each rule that failed."""


def _accepts(target: pl.DataType, source: pl.DataType) -> str | None:
    """None when ``source`` converts to ``target`` without loss or guesswork, else why not."""
    if source == pl.Null:
        return None  # an all-null column; the null rules below decide whether nulls may enter
    if isinstance(target, pl.Datetime):
        if not isinstance(source, pl.Datetime):
            return f"is {source}, expected a timestamp ({target})"
        if source.time_zone is None:
            return (
                "is a timezone-less timestamp; attach the zone it was recorded in, e.g. "
                ".dt.replace_time_zone('UTC')"
            )
        return None
    if target == pl.Float64:
        if source.is_float() or source.is_integer():
            return None
        return f"is {source}, expected a number; parse text into Float64 before writing"
    if target.is_integer():
        if source.is_integer():
            return None
        if source.is_float():
            return f"is {source}; a float written into an integer column would be truncated"
        return f"is {source}, expected an integer"
    if target == pl.String:
        if source in (pl.String, pl.Categorical) or isinstance(source, pl.Enum):
            return None
        return f"is {source}, expected text"
    if source != target:
        return f"is {source}, expected {target}"
    return None


def admission_problems(
    df: pl.DataFrame,
    layout: Mapping[str, pl.DataType],
    key: Sequence[str],
    required: Collection[str] = (),
) -> list[str]:
    """Every reason the frame cannot enter a table of this layout and key, one line each.
    ``required`` names further columns that may not be null (partition columns)."""
    problems: list[str] = []
    extra = [c for c in df.columns if c not in layout]
    if extra:
        problems.append(
            f"columns {extra} are not in the table ({', '.join(layout)}); "
            "drop them or add them to the table's layout"
        )
    missing = [c for c in layout if c not in df.columns]
    if missing:
        problems.append(f"frame lacks columns {missing}; expected {list(layout)}")
    for column, target in layout.items():
        if column in df.columns:
            why = _accepts(target, df.schema[column])
            if why is not None:
                problems.append(f"column {column!r} {why}")
    if problems or df.is_empty():
        return problems
    not_null = [c for c in dict.fromkeys([*key, *required]) if c in df.columns]
    counts = df.select(
        *[pl.col(c).null_count().alias(f"null:{c}") for c in not_null],
        *[
            # Judged on the distinct values: the same verdict, without stripping every row
            # of a key that repeats (millions of research trades name 200 strategies).
            (pl.col(c).cast(pl.String).unique().str.strip_chars() == "").any().alias(f"empty:{c}")
            for c in not_null
            if layout[c] == pl.String
        ],
    ).row(0, named=True)
    for name, count in counts.items():
        if count:
            kind, column = name.split(":", 1)
            if kind == "null":
                what, rows = "null", int(count)
            else:
                blank = pl.col(column).cast(pl.String).str.strip_chars() == ""
                what, rows = "empty", int(df.select(blank.sum()).item())
            problems.append(
                f"{counted(rows, 'row')} {'has' if rows == 1 else 'have'} "
                f"{'an' if what == 'empty' else 'a'} {what} {column!r}: key and partition columns "
                f"must be not null and not empty ({', '.join(key)}); fill it or drop those rows"
            )
    return problems
