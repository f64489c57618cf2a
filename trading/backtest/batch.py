"""Many strategies on one market, on every core: numpy releases the GIL on the large array
operations of a backtest, so threads share the market matrices without copying them."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from trading.backtest.engine import Array, Market, Result, run

T = TypeVar("T")


def backtest_many(
    market: Market,
    weights: Sequence[Callable[[], Array]],
    reduce: Callable[[int, Result], T],
    *,
    capital: float,
    impact: float,
    workers: int | None = None,
) -> list[T]:
    """Run ``weights[i]()`` through the engine and ``reduce(i, result)`` for every i, in order.
    Each result is reduced (to metrics, a frame...) inside its worker and then dropped, so
    memory holds a few strategies' matrices at a time, not all of them."""
    market.prepare()  # cached matrices computed once, not raced for by the workers

    def one(i: int) -> T:
        return reduce(i, run(market, weights[i](), capital, impact))

    count = workers or min(len(weights), os.cpu_count() or 1)
    if count <= 1:
        return [one(i) for i in range(len(weights))]
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(len(weights))))
