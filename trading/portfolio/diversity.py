"""Diversity of the strategies: how their returns correlate, which cluster together, and what
each candidate would add to the portfolio (the number that says which idea to work on next)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl
from numpy.typing import NDArray

from trading.portfolio.allocation import Method, allocate_cov, covariance

Array = NDArray[np.float64]


def correlation(returns: Array) -> Array:
    """Pearson correlation of the columns; a constant column correlates 0 with everything."""
    std = returns.std(axis=0, ddof=1) if returns.shape[0] > 1 else np.zeros(returns.shape[1])
    centered = returns - returns.mean(axis=0)
    scale = np.where(std > 1e-15, std, np.inf)
    z = centered / scale
    corr = (z.T @ z) / max(1, returns.shape[0] - 1)
    np.fill_diagonal(corr, 1.0)
    return np.asarray(np.clip(corr, -1.0, 1.0), dtype=np.float64)


def clusters(corr: Array, max_distance: float = 0.5) -> NDArray[np.int64]:
    """Cluster numbers (from 1) by average linkage on the distance sqrt((1 − ρ)/2): strategies
    closer than ``max_distance`` (0.5 ≈ correlation above 0.5) share a cluster."""
    if len(corr) < 2:
        return np.ones(len(corr), dtype=np.int64)
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    distance = np.sqrt(np.maximum(0.5 * (1.0 - corr), 0.0))
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), method="average")
    return np.asarray(fcluster(tree, t=max_distance, criterion="distance"), dtype=np.int64)


def base_weighted(members: Array, weights: Array) -> Array:
    """The members' returns combined by ``weights`` (zeros when there are no members)."""
    if members.shape[1] == 0:
        return np.zeros(members.shape[0])
    return np.asarray(members @ weights, dtype=np.float64)


def _bad_excess_and_sharpe(
    r: Array, benchmark: Array, bad: NDArray[np.bool_], bars_per_year: float
) -> tuple[float, float]:
    excess = float((r[bad] - benchmark[bad]).mean() * bars_per_year) if bad.any() else 0.0
    std = float(r.std(ddof=1)) if len(r) > 1 else 0.0
    sharpe = float(r.mean() / std * math.sqrt(bars_per_year)) if std > 1e-15 else 0.0
    return excess, sharpe


def marginal_effects(
    members: Array,
    candidates: Array,
    names: Sequence[str],
    benchmark: Array,
    bad: NDArray[np.bool_],
    bars_per_year: float,
    method: Method,
    cap: float,
) -> pl.DataFrame:
    """For each candidate (a column of ``candidates``), the change in the portfolio's
    bad-regime excess return and Sharpe when it joins the members and capital is re-allocated
    over the whole window with ``method``: best first. A ranking of what to work on next, not
    a backtest (weights here see the whole window). One covariance of members and candidates
    serves every candidate."""
    count = members.shape[1]
    everything = np.column_stack([members, candidates])
    cov = covariance(everything) if everything.shape[0] > 1 and everything.shape[1] else None
    if count and cov is not None:
        base = members @ allocate_cov(cov[:count, :count], method, cap)
    else:
        base = np.zeros(len(benchmark))
    base_excess, base_sharpe = _bad_excess_and_sharpe(base, benchmark, bad, bars_per_year)
    rows = []
    for j, name in enumerate(names):
        if cov is None:
            break
        chosen = [*range(count), count + j]
        weights = allocate_cov(cov[np.ix_(chosen, chosen)], method, cap)
        combined = base_weighted(members, weights[:-1]) + candidates[:, j] * weights[-1]
        excess, sharpe = _bad_excess_and_sharpe(combined, benchmark, bad, bars_per_year)
        rows.append(
            {
                "candidate": name,
                "weight": float(weights[-1]),
                "d_bad_regime_excess": excess - base_excess,
                "d_sharpe": sharpe - base_sharpe,
                "bad_regime_excess": excess,
                "sharpe": sharpe,
            }
        )
    schema = {
        "candidate": pl.String,
        "weight": pl.Float64,
        "d_bad_regime_excess": pl.Float64,
        "d_sharpe": pl.Float64,
        "bad_regime_excess": pl.Float64,
        "sharpe": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema).sort("d_bad_regime_excess", descending=True)
