"""Many strategies on one market, on every core: the compiled account releases the GIL, so
threads share the market's matrices without copying them. A strategy whose weights cannot be
built fails alone: its error is its outcome, and the others complete."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from trading.backtest.engine import Array, Market, Result, Settings, run

T = TypeVar("T")


class StrategyError(Exception):
    """A strategy whose weights could not be built: which one and why."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(reason)
        self.index = index
        self.reason = reason


def backtest_many(
    market: Market,
    weights: Sequence[Callable[[], Array | tuple[Array, NDArray[np.int64]]]],
    reduce: Callable[[int, Result], T],
    settings: Settings | None = None,
    *,
    workers: int | None = None,
) -> list[T | StrategyError]:
    """Run ``weights[i]()`` through the engine and ``reduce(i, result)`` for every i, in order
    (a weights matrix over the market's columns, or a target plan ``(matrix, groups)`` from
    ``plan_targets``);
    where ``weights[i]()`` raises or returns a matrix of the wrong shape, the outcome is a
    ``StrategyError`` naming the reason. Each result is reduced inside its worker and then
    dropped, so memory holds a few strategies' matrices at a time."""
    market.prepare(settings.fill if settings else "close")  # computed once, not raced for
    shape = market.close.shape

    def one(i: int) -> T | StrategyError:
        try:
            built = weights[i]()
        except Exception as exc:  # a broken model fails its own strategy only
            return StrategyError(i, f"{type(exc).__name__}: {exc}")
        groups = built[1] if isinstance(built, tuple) else None
        matrix = np.asarray(built[0] if isinstance(built, tuple) else built, dtype=np.float64)
        want = shape if groups is None else (shape[0], groups.shape[0])
        if matrix.shape != want:
            return StrategyError(i, f"weights are {matrix.shape}, expected {want}")
        return reduce(i, run(market, matrix, settings, groups))

    count = workers or min(len(weights), os.cpu_count() or 1)
    if count <= 1:
        return [one(i) for i in range(len(weights))]
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(len(weights))))
