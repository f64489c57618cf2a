"""Many strategies on one market: targets on every core, the engine over batches of them.

The engine steps through bars once per batch with every strategy of the batch in one array
operation, so a batch of 64 strategies costs little more than one; memory holds one batch's
matrices at a time. A strategy whose weights cannot be built fails alone: its error is its
outcome, and the others complete.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

from trading.backtest.engine import Array, Market, Result, Settings, run_batch

T = TypeVar("T")
BATCH = 64


class StrategyFailed(Exception):
    """A strategy whose weights could not be built: which one and why."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(reason)
        self.index = index
        self.reason = reason


def backtest_many(
    market: Market,
    weights: Sequence[Callable[[], Array]],
    reduce: Callable[[int, Result], T],
    settings: Settings | None = None,
    *,
    workers: int | None = None,
    batch: int = BATCH,
) -> list[T | StrategyFailed]:
    """Run ``weights[i]()`` through the engine and ``reduce(i, result)`` for every i, in order;
    where ``weights[i]()`` raises or returns a matrix of the wrong shape, the outcome is a
    ``StrategyFailed`` naming the reason."""
    market.prepare()  # cached matrices computed once, not raced for by the workers
    shape = market.close.shape
    count = workers or min(len(weights), os.cpu_count() or 1)

    def build(i: int) -> Array | StrategyFailed:
        try:
            matrix = np.asarray(weights[i](), dtype=np.float64)
        except Exception as exc:  # a broken model fails its own strategy only
            return StrategyFailed(i, f"{type(exc).__name__}: {exc}")
        if matrix.shape != shape:
            return StrategyFailed(i, f"weights are {matrix.shape}, the market is {shape}")
        return matrix

    outcomes: list[T | StrategyFailed] = []
    with ThreadPoolExecutor(max_workers=max(1, count)) as pool:
        for lo in range(0, len(weights), batch):
            built = list(pool.map(build, range(lo, min(lo + batch, len(weights)))))
            done: dict[int, T | StrategyFailed] = {
                lo + j: m for j, m in enumerate(built) if isinstance(m, StrategyFailed)
            }
            good = [j for j, m in enumerate(built) if not isinstance(m, StrategyFailed)]
            if good:
                stacked = np.stack([built[j] for j in good], axis=1)  # type: ignore[misc]
                del built
                results = run_batch(market, stacked, settings)
                del stacked
                for k, j in enumerate(good):
                    done[lo + j] = reduce(lo + j, results.result(k))
            outcomes.extend(done[i] for i in sorted(done))
    return outcomes
