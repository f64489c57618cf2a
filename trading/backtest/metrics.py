"""Performance metrics of a backtest, against a benchmark (BTC buy-and-hold).

Units: returns, volatility and drawdown are fractions (0.1 = 10%); ``annual_*``, ``sharpe``,
``sortino``, ``volatility``, ``alpha`` and ``excess_return_bad_regimes`` are annualized;
``fees``, ``slippage``, ``funding`` and ``borrow`` are summed fractions of equity; ``costs_bps``
is what trading cost per unit traded, in basis points.
"""

from __future__ import annotations

import math

import numpy as np

from trading.backtest.engine import Array, Result
from trading.backtest.stats import sharpe_interval


def _dot(a: Array, b: Array) -> float:
    return float(np.einsum("i,i->", a, b))


def metrics(
    result: Result, benchmark: Array, bars_per_year: float, bad_regime: Array | None = None
) -> dict[str, float]:
    """Total and annual return, volatility, Sharpe with its 95% interval, Sortino, max
    drawdown, turnover, hit rate, exposure, alpha and beta against the benchmark's per-bar
    returns, costs, and the excess return over the benchmark in bad regimes (bars flagged in
    ``bad_regime``): the mean per-bar difference over those bars, annualized."""
    net = result.net
    bars = len(net)
    total = float(result.equity[-1] - 1.0) if bars else 0.0
    years = bars / bars_per_year if bars else 0.0
    annual = (1.0 + total) ** (1.0 / years) - 1.0 if years > 0 and total > -1.0 else -1.0
    # One-pass moments through einsum: no BLAS threads fighting the batch's worker threads.
    mean = float(net.mean()) if bars else 0.0
    centered = net - mean
    std = math.sqrt(_dot(centered, centered) / (bars - 1)) if bars > 1 else 0.0
    losses = np.minimum(net, 0.0)
    # Downside deviation over every bar (target 0), not over the losing bars only.
    down_std = math.sqrt(_dot(losses, losses) / bars) if bars else 0.0
    equity = np.empty(bars + 1)
    equity[0] = 1.0
    equity[1:] = result.equity
    drawdown = float((equity / np.maximum.accumulate(equity)).min() - 1.0)
    held = result.exposure > 0
    held_count = int(np.count_nonzero(held))
    wins = int(np.count_nonzero(held & (net > 0)))
    beta = 0.0
    b_mean = float(benchmark.mean()) if bars else 0.0
    if bars > 1:
        b_centered = benchmark - b_mean
        var_b = _dot(b_centered, b_centered)
        beta = _dot(centered, b_centered) / var_b if var_b > 0 else 0.0
    alpha = (mean - beta * b_mean) * bars_per_year if bars else 0.0
    excess_bad = 0.0
    if bad_regime is not None and bad_regime.any():
        flagged = bad_regime.astype(bool)
        excess_bad = float((net[flagged] - benchmark[flagged]).mean()) * bars_per_year
    per_bar = mean / std if std > 0 else 0.0
    skew = kurt = 0.0
    if std > 0 and bars > 2:
        z = centered / math.sqrt(_dot(centered, centered) / bars)
        skew = float(np.mean(z**3))
        kurt = float(np.mean(z**4))
    low, high = sharpe_interval(per_bar, bars, skew, kurt)
    scale = math.sqrt(bars_per_year)
    traded = float(result.turnover.sum())
    costs = float(result.fees.sum() + result.slippage.sum())
    return {
        "total_return": total,
        "annual_return": annual,
        "volatility": std * scale,
        "sharpe": per_bar * scale,
        "sharpe_ci_low": low * scale,
        "sharpe_ci_high": high * scale,
        "skew": skew,
        "kurtosis": kurt,
        "bars": float(bars),
        "sortino": mean / down_std * scale if down_std > 0 else 0.0,
        "max_drawdown": drawdown,
        "turnover": float(result.turnover.mean() * bars_per_year) if bars else 0.0,
        "hit_rate": wins / held_count if held_count else 0.0,
        "exposure": held_count / bars if bars else 0.0,
        "alpha": alpha,
        "beta": beta,
        "fees": float(result.fees.sum()),
        "slippage": float(result.slippage.sum()),
        "funding": float(result.funding.sum()),
        "borrow": float(result.borrow.sum()),
        "costs_bps": costs / traded * 1e4 if traded > 0 else 0.0,
        "excess_return_bad_regimes": excess_bad,
    }
