"""Walk-forward windows: choose on the past, judge on what follows.

The backtest window is cut into rolling folds: an in-sample window followed by an
out-of-sample window, stepping by the out-of-sample length, so the out-of-sample windows tile
the history after the first in-sample window without overlap. A model's parameters are
chosen on each in-sample window (best Sharpe among its sweep) and only the following
out-of-sample bars count, so the stitched result never uses a choice made with its own data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Fold:
    """Bar index ranges ``[in_start, in_end)`` and ``[out_start, out_end)``."""

    index: int
    in_start: int
    in_end: int
    out_start: int
    out_end: int


def folds(ts: NDArray[np.datetime64], in_sample_days: int, out_of_sample_days: int) -> list[Fold]:
    """Rolling folds over bar timestamps; none if the window is shorter than one in-sample
    window plus a bar."""
    if len(ts) == 0:
        return []
    times = ts.astype("datetime64[us]")
    start = times[0]
    step = np.timedelta64(out_of_sample_days * 86_400_000_000, "us")
    first = np.timedelta64(in_sample_days * 86_400_000_000, "us")
    out: list[Fold] = []
    k = 0
    while True:
        in_lo = start + k * step
        in_hi = in_lo + first
        out_hi = in_hi + step
        a, b, c = (int(np.searchsorted(times, x)) for x in (in_lo, in_hi, out_hi))
        if b >= len(times):
            return out
        out.append(Fold(k, a, b, b, min(c, len(times))))
        k += 1


def out_of_sample(bars: int, chosen: list[Fold]) -> NDArray[np.bool_]:
    """Bars that fall in some fold's out-of-sample window."""
    mask = np.zeros(bars, dtype=bool)
    for f in chosen:
        mask[f.out_start : f.out_end] = True
    return mask


def _sharpe(x: Array) -> float:
    if len(x) < 2:
        return 0.0
    std = float(np.std(x, ddof=1))
    return float(np.mean(x)) / std if std > 0 else 0.0


def walk_forward(net: Array, chosen: list[Fold]) -> tuple[list[int], Array]:
    """For a bars × candidates matrix of per-bar net returns: the candidate with the best
    in-sample Sharpe in each fold, and the stitched out-of-sample returns of those choices
    (0 outside the out-of-sample windows)."""
    picks: list[int] = []
    stitched = np.zeros(net.shape[0])
    for f in chosen:
        scores = [_sharpe(net[f.in_start : f.in_end, j]) for j in range(net.shape[1])]
        best = int(np.argmax(scores))
        picks.append(best)
        stitched[f.out_start : f.out_end] = net[f.out_start : f.out_end, best]
    return picks, stitched
