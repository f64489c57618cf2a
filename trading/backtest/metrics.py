"""Performance metrics of a backtest, against a benchmark (BTC buy-and-hold)."""

from __future__ import annotations

import math

import numpy as np

from trading.backtest.engine import Array, Result


def metrics(
    result: Result, benchmark: Array, bars_per_year: float, bad_regime: Array | None = None
) -> dict[str, float]:
    """Total and annual return, volatility, Sharpe, Sortino, max drawdown, turnover, hit rate,
    exposure, alpha and beta against the benchmark's per-bar returns, costs, and the excess
    return over the benchmark in bad regimes (bars flagged in ``bad_regime``)."""
    net = result.net
    bars = len(net)
    total = float(result.equity[-1] - 1.0) if bars else 0.0
    years = bars / bars_per_year if bars else 0.0
    annual = (1.0 + total) ** (1.0 / years) - 1.0 if years > 0 and total > -1.0 else -1.0
    std = float(net.std(ddof=1)) if bars > 1 else 0.0
    downside = net[net < 0]
    down_std = float(np.sqrt(np.mean(downside**2))) if downside.size else 0.0
    mean = float(net.mean()) if bars else 0.0
    peak = np.maximum.accumulate(np.concatenate([[1.0], result.equity]))
    drawdown = np.concatenate([[1.0], result.equity]) / peak - 1.0
    held = result.exposure > 0
    active = net[held]
    var_b = float(benchmark.var(ddof=1)) if bars > 1 else 0.0
    beta = float(np.cov(net, benchmark, ddof=1)[0, 1] / var_b) if var_b > 0 else 0.0
    alpha = (mean - beta * float(benchmark.mean())) * bars_per_year if bars else 0.0
    excess_bad = 0.0
    if bad_regime is not None and bad_regime.any():
        flagged = bad_regime.astype(bool)
        excess_bad = float((net[flagged] - benchmark[flagged]).mean()) * bars_per_year
    return {
        "total_return": total,
        "annual_return": annual,
        "volatility": std * math.sqrt(bars_per_year),
        "sharpe": mean / std * math.sqrt(bars_per_year) if std > 0 else 0.0,
        "sortino": mean / down_std * math.sqrt(bars_per_year) if down_std > 0 else 0.0,
        "max_drawdown": float(drawdown.min()),
        "turnover": float(result.turnover.mean() * bars_per_year) if bars else 0.0,
        "hit_rate": float((active > 0).mean()) if active.size else 0.0,
        "exposure": float(held.mean()) if bars else 0.0,
        "alpha": alpha,
        "beta": beta,
        "fees": float(result.fees.sum()),
        "slippage": float(result.slippage.sum()),
        "funding": float(result.funding.sum()),
        "excess_return_bad_regimes": excess_bad,
    }
