"""One way to show a frame in the Dagster UI: a markdown table of its first rows."""

from __future__ import annotations

import polars as pl
from dagster import MetadataValue


def frame_md(
    df: pl.DataFrame, rows: int = 30, empty: str = "none", text_width: int = 60
) -> MetadataValue:
    """The first ``rows`` of ``df`` as a markdown table; ``empty`` as plain text when it has
    no rows (an empty table reads as a rendering fault in the UI)."""
    if df.is_empty():
        return MetadataValue.text(empty)
    with pl.Config(
        tbl_formatting="MARKDOWN",
        tbl_hide_column_data_types=True,
        tbl_hide_dataframe_shape=True,
        tbl_rows=rows,
        fmt_str_lengths=text_width,
        float_precision=6,
    ):
        return MetadataValue.md(str(df.head(rows)))
