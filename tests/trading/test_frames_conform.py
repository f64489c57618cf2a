"""``frames.conform``: select and cast to a layout; a frame already in the layout's types is
returned without casting, and every result equals the plain select-and-cast."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from trading import frames


def _reference(df: pl.DataFrame, layout: dict[str, pl.DataType]) -> pl.DataFrame:
    return df.select([pl.col(c).cast(t, strict=True) for c, t in layout.items()])


LAYOUT: dict[str, pl.DataType] = {"ts": frames.UTC_TS, "symbol": pl.String(), "x": pl.Float64()}
TS = [datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 2, tzinfo=UTC)]


@pytest.mark.parametrize(
    "df",
    [
        pl.DataFrame({"ts": TS, "symbol": ["a", "b"], "x": [1.0, 2.0]}),  # already conform
        pl.DataFrame({"x": [1.0, 2.0], "extra": [1, 2], "symbol": ["a", "b"], "ts": TS}),
        pl.DataFrame({"ts": TS, "symbol": ["a", "b"], "x": [1, 2]}),  # ints to cast
        pl.DataFrame({"ts": TS, "symbol": [None, None], "x": [None, 2.5]}),  # null column
    ],
)
def test_conform_equals_select_and_cast(df: pl.DataFrame) -> None:
    out = frames.conform(df, LAYOUT)
    assert out.equals(_reference(df, LAYOUT))
    assert out.schema == pl.Schema(LAYOUT)


def test_conform_names_the_missing_columns() -> None:
    with pytest.raises(ValueError, match=r"lacks columns \['x'\]"):
        frames.conform(pl.DataFrame({"ts": TS, "symbol": ["a", "b"]}), LAYOUT)
