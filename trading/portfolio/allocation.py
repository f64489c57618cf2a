"""Capital across strategies: inverse volatility, risk parity, hierarchical risk parity, with a
cap per strategy, re-estimated on a schedule from past returns only.

``rolling_weights`` decides the weights at each rebalance bar t from the returns of bars
before t (a trailing window) and holds them until the next rebalance: no weight ever sees the
return it is applied to. Weights are fractions of the portfolio's capital; when the cap makes
a full allocation impossible (strategies × cap < 1) the remainder stays in cash.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from trading.configbase import _Frozen

Array = NDArray[np.float64]
Method = Literal["inverse_vol", "risk_parity", "hrp"]
METHODS: tuple[Method, ...] = ("inverse_vol", "risk_parity", "hrp")
_TINY = 1e-12


class AllocationConfig(_Frozen):
    """How the portfolio splits capital across its paper and live strategies."""

    method: Method = "hrp"
    max_weight: float = Field(default=0.25, gt=0, le=1, description="cap per strategy")
    lookback_days: float = Field(default=60.0, gt=0, description="trailing estimation window")
    rebalance_days: float = Field(default=7.0, gt=0, description="re-estimated this often")
    min_history_days: float = Field(default=14.0, gt=0, description="cash until this much history")
    capital: float = Field(default=100_000.0, gt=0, description="the portfolio's capital")
    refresh_cron: str = Field(
        default="30 0 * * *", description="when the portfolio and regime report are recomputed"
    )


def inverse_vol(cov: Array) -> Array:
    """Weights proportional to 1 / volatility (a strategy with no variance gets none)."""
    vol = np.sqrt(np.maximum(np.diag(cov), 0.0))
    inv = np.where(vol > _TINY, 1.0 / np.where(vol > _TINY, vol, 1.0), 0.0)
    total = inv.sum()
    return inv / total if total > 0 else np.zeros_like(inv)


def risk_parity(cov: Array, tol: float = 1e-10, max_iter: int = 100) -> Array:
    """Equal risk contribution: each strategy adds the same share of the portfolio's variance.
    Newton's method on ``min ½ x'Σx − Σ log(x_i)/n`` (whose solution, normalized, has equal
    contributions), halving steps that would leave x ≤ 0. Zero-variance strategies get none."""
    live = np.sqrt(np.maximum(np.diag(cov), 0.0)) > _TINY
    out = np.zeros(len(cov))
    if not live.any():
        return out
    sigma = cov[np.ix_(live, live)]
    n = len(sigma)
    b = np.full(n, 1.0 / n)
    x = inverse_vol(sigma) / np.sqrt(np.maximum(np.diag(sigma), _TINY)).mean()
    for _ in range(max_iter):
        grad = sigma @ x - b / x
        if np.max(np.abs(grad * x)) < tol:
            break
        hessian = sigma + np.diag(b / (x * x))
        step = np.linalg.solve(hessian, grad)
        t = 1.0
        while np.any(x - t * step <= 0.0):
            t *= 0.5
        x = x - t * step
    out[live] = x / x.sum()
    return out


def hrp(cov: Array) -> Array:
    """Hierarchical risk parity (López de Prado, 2016): cluster strategies by correlation
    distance (single linkage), order them so similar ones sit together, then split capital
    down the tree by inverse cluster variance. Zero-variance strategies get none."""
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    live_index = np.flatnonzero(np.diag(cov) > _TINY * _TINY)
    out = np.zeros(len(cov))
    if len(live_index) == 0:
        return out
    sigma = cov[np.ix_(live_index, live_index)]
    if len(sigma) == 1:
        out[live_index] = 1.0
        return out
    std = np.sqrt(np.diag(sigma))
    corr = np.clip(sigma / np.outer(std, std), -1.0, 1.0)
    distance = np.sqrt(np.maximum(0.5 * (1.0 - corr), 0.0))
    np.fill_diagonal(distance, 0.0)
    order = leaves_list(linkage(squareform(distance, checks=False), method="single"))
    inverse_variance = 1.0 / np.diag(sigma)
    weights = np.ones(len(sigma))
    clusters = [order]
    while clusters:
        split = []
        for items in clusters:
            if len(items) < 2:
                continue
            half = len(items) // 2
            left, right = items[:half], items[half:]
            v_left = _cluster_variance(sigma, inverse_variance, left)
            v_right = _cluster_variance(sigma, inverse_variance, right)
            a = 1.0 - v_left / (v_left + v_right)
            weights[left] *= a
            weights[right] *= 1.0 - a
            split += [left, right]
        clusters = split
    out[live_index] = weights
    return out


def _cluster_variance(sigma: Array, inverse_variance: Array, items: NDArray[np.int64]) -> float:
    """Variance of the inverse-variance portfolio of a cluster."""
    if len(items) == 1:
        return float(sigma[items[0], items[0]])
    w = inverse_variance[items]
    w = w / w.sum()
    return float(w @ sigma[items][:, items] @ w)


def cap_weights(weights: Array, cap: float) -> Array:
    """Cap every weight at ``cap`` and hand the excess to the uncapped ones in proportion to
    their weights, until none exceeds the cap (what cannot be placed stays in cash)."""
    w = np.asarray(weights, dtype=np.float64).copy()
    total = w.sum()
    if total <= 0:
        return w
    for _ in range(len(w) + 1):
        over = w > cap + 1e-15
        if not over.any():
            break
        excess = float((w[over] - cap).sum())
        w[over] = cap
        free = (w < cap - 1e-15) & (w > 0)
        if not free.any():
            break
        w[free] += excess * (w[free] / w[free].sum())  # shares first: no subnormal underflow
    return w


def covariance(returns: Array) -> Array:
    """Sample covariance of the columns (strategies × strategies)."""
    if returns.shape[1] == 1:
        return np.array([[float(np.var(returns[:, 0], ddof=1))]])
    return np.asarray(np.cov(returns, rowvar=False), dtype=np.float64)


def allocate_cov(cov: Array, method: Method, cap: float) -> Array:
    """Capped weights from a covariance matrix."""
    if len(cov) == 0:
        return np.zeros(0)
    raw = {"inverse_vol": inverse_vol, "risk_parity": risk_parity, "hrp": hrp}[method](cov)
    return cap_weights(raw, cap)


def allocate(returns: Array, method: Method, cap: float) -> Array:
    """Capped weights from a window of returns (bars × strategies)."""
    if returns.shape[0] < 2 or returns.shape[1] == 0:
        return np.zeros(returns.shape[1])
    return allocate_cov(covariance(returns), method, cap)


def rebalance_bars(bars: int, bars_per_day: float, config: AllocationConfig) -> list[int]:
    """The bars at which weights are re-estimated: every ``rebalance_days`` once
    ``min_history_days`` of returns exist before them."""
    first = max(2, round(config.min_history_days * bars_per_day))
    every = max(1, round(config.rebalance_days * bars_per_day))
    return list(range(first, bars, every))


def daily(window: Array, bars_per_day: float) -> Array:
    """Returns summed over whole days counted back from the window's end (a partial day at
    its start is dropped): the covariance of daily returns is what allocation needs, is less
    noisy than hourly, and costs a day's bars less to estimate."""
    per_day = max(1, round(bars_per_day))
    days = window.shape[0] // per_day
    if per_day == 1 or days < 2:
        return window
    tail = window[window.shape[0] - days * per_day :]
    return np.asarray(tail.reshape(days, per_day, window.shape[1]).sum(axis=1), dtype=np.float64)


def rolling_weights(returns: Array, bars_per_day: float, config: AllocationConfig) -> Array:
    """Weights per bar (bars × strategies): at each rebalance bar t, estimated on the daily
    returns of bars [t − lookback, t) and held until the next rebalance; cash (zeros) before
    the first."""
    bars = returns.shape[0]
    lookback = max(2, round(config.lookback_days * bars_per_day))
    out = np.zeros_like(returns)
    points = rebalance_bars(bars, bars_per_day, config)
    for i, t in enumerate(points):
        end = points[i + 1] if i + 1 < len(points) else bars
        window = daily(returns[max(0, t - lookback) : t], bars_per_day)
        out[t:end] = allocate(window, config.method, config.max_weight)
    return out
