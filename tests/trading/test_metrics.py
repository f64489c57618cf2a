"""Metrics against textbook formulas written in plain Python, and the trust statistics."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from trading.backtest.engine import InstrumentCosts, Market, Result, run
from trading.backtest.metrics import metrics
from trading.backtest.stats import deflated_sharpe, expected_max_sharpe, sharpe_interval
from trading.costs import VenueCosts


def _market(close: np.ndarray) -> Market:
    return Market(
        ts=np.arange(len(close)).astype("datetime64[h]"),
        instruments=[("v", f"S{i}") for i in range(close.shape[1])],
        close=close,
        quote_volume=np.full_like(close, 1e9),
        funding=np.zeros_like(close),
        costs=InstrumentCosts.uniform(close.shape[1], VenueCosts(0.0, 0.0005, 0.0, 0.0)),
        bars_per_year=8760.0,
    )


def _reference(
    net: list[float], equity: list[float], exposure: list[float], benchmark: list[float]
) -> dict[str, float]:
    year = 8760.0
    mean, std = statistics.fmean(net), statistics.stdev(net)
    down = math.sqrt(sum(min(x, 0.0) ** 2 for x in net) / len(net))  # over every bar
    peak, worst = 1.0, 0.0
    for value in [1.0, *equity]:
        peak = max(peak, value)
        worst = min(worst, value / peak - 1.0)
    active = [x for x, e in zip(net, exposure, strict=True) if e > 0]
    beta = statistics.covariance(net, benchmark) / statistics.variance(benchmark)
    return {
        "sharpe": mean / std * math.sqrt(year),
        "sortino": mean / down * math.sqrt(year),
        "volatility": std * math.sqrt(year),
        "max_drawdown": worst,
        "hit_rate": sum(x > 0 for x in active) / len(active),
        "exposure": len(active) / len(net),
        "beta": beta,
        "alpha": (mean - beta * statistics.fmean(benchmark)) * year,
    }


def test_metrics_equal_a_plain_python_reference() -> None:
    rng = np.random.default_rng(4)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (500, 3)), axis=0))
    market = _market(close)
    weights = np.where(rng.random((500, 3)) < 0.3, 0.0, rng.uniform(-0.5, 0.5, (500, 3)))
    result = run(market, weights)
    benchmark = market.returns[:, 0]

    fast = metrics(result, benchmark, 8760.0)

    reference = _reference(
        result.net.tolist(), result.equity.tolist(), result.exposure.tolist(), benchmark.tolist()
    )
    assert {k: fast[k] for k in reference} == pytest.approx(reference, rel=1e-9, abs=1e-12)


def test_sortino_divides_by_the_downside_deviation_over_all_bars() -> None:
    net = np.array([0.02, -0.01, 0.0, 0.01])
    equity = np.cumprod(1 + net)
    zeros = np.zeros(4)
    result = Result(
        np.zeros((4, 1)), np.zeros((4, 1)), net, zeros, zeros, zeros, zeros, net, equity,
        zeros, np.ones(4),
    )  # fmt: skip

    m = metrics(result, zeros, 1.0)

    # mean 0.005; downside deviation sqrt(0.0001 / 4) = 0.005 (not sqrt(0.0001 / 1) = 0.01).
    assert m["sortino"] == pytest.approx(1.0)


def test_sharpe_interval_widens_with_fewer_bars_and_fat_tails() -> None:
    lo, hi = sharpe_interval(0.1, 1001)
    # Normal returns: se = sqrt((1 + 0.5 · 0.01) / 1000).
    se = math.sqrt(1.005 / 1000)
    assert (lo, hi) == pytest.approx((0.1 - 1.959964 * se, 0.1 + 1.959964 * se), rel=1e-6)
    assert sharpe_interval(0.1, 101)[0] < lo
    assert sharpe_interval(0.1, 1001, kurtosis=9.0)[0] < lo


def test_deflated_sharpe_discounts_the_best_of_many_trials() -> None:
    one = deflated_sharpe(0.05, 2000, 0.0, 3.0, trials=1, variance=0.0004)
    many = deflated_sharpe(0.05, 2000, 0.0, 3.0, trials=200, variance=0.0004)

    assert expected_max_sharpe(1, 0.0004) == 0.0
    # (1 − γ)·Z(1 − 1/200) + γ·Z(1 − 1/(200e)) = 0.42278·2.57583 + 0.57722·2.90447 sd.
    assert expected_max_sharpe(200, 0.0004) == pytest.approx(0.02 * 2.76552, rel=1e-4)
    assert one > 0.98
    assert many < one
