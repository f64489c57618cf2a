"""How the pipeline, portfolio and regime figures look where a trader reads them: markdown
tables and text charts for Dagster asset metadata (shown inline in the UI), and a
self-contained HTML page with the equity curves coloured by regime."""

from __future__ import annotations

import html
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

REGIME_COLOURS = {"bull": "#c7e9c0", "bear": "#fdd0a2", "chop": "#eeeeee", "crash": "#fb6a4a"}
REGIME_SQUARES = {"bull": "🟩", "bear": "🟧", "chop": "⬜", "crash": "🟥", "warmup": "▫️"}
_SPARKS = "▁▂▃▄▅▆▇█"


def md_table(frame: pl.DataFrame, limit: int = 100, digits: int = 3) -> str:
    """A markdown table of the first ``limit`` rows (a note says how many were left out)."""
    if frame.is_empty():
        return "_none_"
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * frame.width]
    for row in frame.head(limit).iter_rows():
        cells = [_cell(v, digits) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    if frame.height > limit:
        lines.append(f"\n_{frame.height - limit} more rows not shown_")
    return "\n".join(lines)


def _cell(value: Any, digits: int) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value).replace("|", "/").replace("\n", " ")


def _buckets(length: int, width: int) -> list[slice]:
    edges = np.linspace(0, length, min(width, length) + 1).astype(int)
    return [slice(a, b) for a, b in itertools.pairwise(edges) if b > a]


def regime_strip(labels: NDArray[np.str_], width: int = 60) -> str:
    """One coloured square per stretch of bars: its most frequent regime."""
    out = []
    for part in _buckets(len(labels), width):
        values, counts = np.unique(labels[part], return_counts=True)
        out.append(REGIME_SQUARES.get(str(values[np.argmax(counts)]), "▫️"))
    return "".join(out)


def sparkline(values: NDArray[np.float64], width: int = 60) -> str:
    """The series as block characters, one per stretch of bars (its last value)."""
    if len(values) == 0:
        return ""
    points = np.array([values[part][-1] for part in _buckets(len(values), width)])
    lo, hi = float(points.min()), float(points.max())
    span = hi - lo or 1.0
    return "".join(_SPARKS[int((p - lo) / span * (len(_SPARKS) - 1))] for p in points)


def regime_chart_md(
    labels: NDArray[np.str_], curves: Mapping[str, NDArray[np.float64]], width: int = 60
) -> str:
    """Equity curves as sparklines above the regime strip of the same bars (markdown)."""
    legend = " ".join(f"{sq} {name}" for name, sq in REGIME_SQUARES.items())
    lines = [f"`{name[:24]:>24}` {sparkline(v, width)}" for name, v in curves.items()]
    lines.append(f"`{'regime':>24}` {regime_strip(labels, width)}")
    note = "each curve scaled to its own range; one mark per stretch of bars"
    return "\n\n".join(lines) + f"\n\n{legend} ({note})"


def regime_chart_html(
    title: str,
    ts: Sequence[Any],
    labels: NDArray[np.str_],
    curves: Mapping[str, NDArray[np.float64]],
    tables: Mapping[str, pl.DataFrame],
    path: Path,
) -> Path:
    """A self-contained HTML page: equity curves over background bands coloured by regime,
    then the given tables."""
    width, height = 900.0, 320.0
    n = len(labels)
    bands = []
    start = 0
    for i in range(1, n + 1):
        if i == n or labels[i] != labels[start]:
            colour = REGIME_COLOURS.get(str(labels[start]))
            if colour:
                x0, x1 = start / max(1, n) * width, i / max(1, n) * width
                bands.append(
                    f'<rect x="{x0:.1f}" y="0" width="{x1 - x0:.1f}" height="{height}" '
                    f'fill="{colour}"/>'
                )
            start = i
    values = [v for v in curves.values() if len(v)]
    lo = min((float(np.min(v)) for v in values), default=0.0)
    hi = max((float(np.max(v)) for v in values), default=1.0)
    span = hi - lo or 1.0
    palette = ["#08519c", "#252525", "#6a51a3", "#006d2c", "#a50f15"]
    lines = []
    for k, (name, v) in enumerate(curves.items()):
        step = max(1, len(v) // 900)
        sample = v[::step]
        points = " ".join(
            f"{i * step / max(1, n - 1) * width:.1f},{height - (x - lo) / span * height:.1f}"
            for i, x in enumerate(sample)
        )
        colour = palette[k % len(palette)]
        lines.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{points}"/>'
            f'<text x="8" y="{16 + 16 * k}" fill="{colour}">{html.escape(name)}</text>'
        )
    legend = " ".join(
        f'<span style="background:{c};padding:2px 8px">{r}</span>'
        for r, c in REGIME_COLOURS.items()
    )
    first, last = (str(ts[0])[:16], str(ts[-1])[:16]) if len(ts) else ("", "")
    body = "".join(
        f"<h3>{html.escape(name)}</h3>{_html_table(frame)}" for name, frame in tables.items()
    )
    page = (
        f"<html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head><body>"
        f"<h2>{html.escape(title)}</h2><p>{first} → {last} &nbsp; {legend}</p>"
        f"<svg width='{width}' height='{height}' style='border:1px solid #ccc'>"
        f"{''.join(bands)}{''.join(lines)}</svg>{body}</body></html>"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page)
    return path


def _html_table(frame: pl.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(v, 3))}</td>" for v in row) + "</tr>"
        for row in frame.iter_rows()
    )
    return f"<table border='1' cellpadding='3'><tr>{head}</tr>{rows}</table>"
