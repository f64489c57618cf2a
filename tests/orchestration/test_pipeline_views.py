"""Text charts and tables shown in asset metadata."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from assets.pipeline_views import md_table, regime_chart_html, regime_strip, sparkline


def test_sparkline_rises_with_the_series_one_mark_per_stretch() -> None:
    assert sparkline(np.arange(8, dtype=float), width=8) == "▁▂▃▄▅▆▇█"
    assert sparkline(np.arange(16, dtype=float), width=4) == "▁▃▅█"  # last of each 4 bars


def test_regime_strip_shows_the_most_frequent_regime_of_each_stretch() -> None:
    labels = np.array(["bull", "bull", "bear", "crash", "crash", "crash"])

    assert regime_strip(labels, width=2) == "🟩🟥"


def test_md_table_says_how_many_rows_it_left_out() -> None:
    table = md_table(pl.DataFrame({"a": [1.23456, None, 3.0]}), limit=2, digits=2)

    assert table.splitlines()[:4] == ["| a |", "|---|", "| 1.23 |", "| – |"]
    assert "_1 more rows not shown_" in table


def test_html_chart_colours_each_regime_run_once(tmp_path: Path) -> None:
    labels = np.array(["bull"] * 5 + ["crash"] * 5)

    page = regime_chart_html(
        "t", list(range(10)), labels, {"x": np.linspace(1, 2, 10)}, {}, tmp_path / "p.html"
    )

    html = page.read_text()
    assert html.count("<rect") == 2
    assert 'fill="#fb6a4a"' in html  # crash
