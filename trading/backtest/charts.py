"""Small self-contained SVG line charts with dated, labelled axes (no plotting dependency):
they embed in an HTML page and, as data-URI images, in Dagster's markdown metadata."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape
from typing import Any

import numpy as np
from numpy.typing import NDArray

WIDTH, HEIGHT = 760, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 26, 34
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")
POINTS = 400


def line_chart(
    title: str,
    ts: NDArray[np.datetime64],
    series: Sequence[tuple[str, NDArray[np.floating[Any]]]],
    unit: str,
    percent: bool = False,
) -> str:
    """An SVG chart of one or more series over time: dates on x, ``unit`` on y."""
    step = max(1, len(ts) // POINTS)
    x = ts[::step]
    ys = [(name, np.asarray(values, dtype=np.float64)[::step]) for name, values in series]
    finite = np.concatenate([v[np.isfinite(v)] for _, v in ys]) if ys else np.array([])
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 1.0
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = max(1, len(x) - 1)

    def px(i: int) -> float:
        return LEFT + i * plot_w / count

    def py(v: float) -> float:
        return TOP + (hi - v) / (hi - lo) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'font-family="sans-serif" font-size="11"><rect width="100%" height="100%" fill="white"/>',
        f'<text x="{LEFT}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<text x="12" y="{TOP + plot_h / 2}" transform="rotate(-90 12 {TOP + plot_h / 2})" '
        f'text-anchor="middle">{escape(unit)}</text>',
    ]
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        y = py(v)
        label = f"{v:.1%}" if percent else f"{v:.3g}"
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{label}</text>'
        )
    for k in range(5):
        i = round(k * (len(x) - 1) / 4) if len(x) else 0
        if i < len(x):
            day = str(x[i].astype("datetime64[D]"))
            parts.append(
                f'<text x="{px(i):.1f}" y="{HEIGHT - 18}" text-anchor="middle">{day}</text>'
            )
    parts.append(
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 4}" text-anchor="middle">date (UTC)</text>'
    )
    for j, (name, values) in enumerate(ys):
        color = COLORS[j % len(COLORS)]
        points = " ".join(
            f"{px(i):.1f},{py(float(v)):.1f}" for i, v in enumerate(values) if np.isfinite(v)
        )
        parts.append(
            f'<polyline fill="none" stroke="{color}" stroke-width="1.4" points="{points}"/>'
            f'<text x="{WIDTH - RIGHT - 150 + 0 * j}" y="{TOP + 12 + 13 * j}" fill="{color}">'
            f"{escape(name)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def data_uri(svg: str) -> str:
    """The SVG as a data URI, for a markdown image."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
