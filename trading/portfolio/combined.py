"""The portfolio's own backtest: strategies combined by their allocation weights, with trading
costs charged after netting opposite trades across strategies, beside the sum of its parts.

The sum of its parts is Σ w_s · net_s (each strategy trading alone, with its own costs). The
combined portfolio trades only the change of the netted position Σ w_s · pos_s per instrument,
so two strategies trading against each other pay nothing; its return is the sum of the parts
plus the fees netting saved (fee rate × the turnover that cancelled). Only the linear fee is
credited: the square-root impact saved is larger, so the figure understates the saving.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Combined:
    """Per-bar series of the combined portfolio and of the sum of its parts."""

    parts_return: Array
    combined_return: Array
    parts_turnover: Array  # Σ_s Σ_i |Δ(w_s pos_s)|
    net_turnover: Array  # Σ_i |Δ Σ_s w_s pos_s|
    fees_saved: Array

    @property
    def parts_equity(self) -> Array:
        """Compounded equity of the sum of the parts."""
        return np.asarray(np.cumprod(1.0 + self.parts_return), dtype=np.float64)

    @property
    def combined_equity(self) -> Array:
        """Compounded equity of the netted portfolio."""
        return np.asarray(np.cumprod(1.0 + self.combined_return), dtype=np.float64)


def combine(
    weights: Array,
    net_returns: Array,
    positions: Callable[[int], Array],
    fee: Array,
) -> Combined:
    """Combine strategies (columns of ``weights`` and ``net_returns``, bars × strategies);
    ``positions(s)`` gives strategy s's positions (bars × instruments, fractions of its
    equity), one strategy at a time so memory holds two matrices, not all of them; ``fee`` is
    the fee rate per instrument."""
    bars, count = weights.shape
    parts = np.einsum("ij,ij->i", weights, net_returns)
    netted: Array | None = None
    parts_turnover = np.zeros(bars)
    parts_fees = np.zeros(bars)
    for s in range(count):
        held = positions(s) * weights[:, s : s + 1]
        trades = np.abs(np.diff(held, axis=0, prepend=0.0))
        parts_turnover += trades.sum(axis=1)
        parts_fees += trades @ fee
        netted = held if netted is None else netted + held
    if netted is None:
        zero = np.zeros(bars)
        return Combined(parts, parts.copy(), zero, zero.copy(), zero.copy())
    net_trades = np.abs(np.diff(netted, axis=0, prepend=0.0))
    saved = parts_fees - net_trades @ fee
    return Combined(parts, parts + saved, parts_turnover, net_trades.sum(axis=1), saved)
