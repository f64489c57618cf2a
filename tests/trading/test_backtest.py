"""The vectorized engine against a plain per-bar loop, and its timing on a case worked by hand."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Literal

import numpy as np
import polars as pl
import pytest

from trading import frames
from trading.backtest.engine import Market, market_from_frames, run, weights_matrix
from trading.backtest.metrics import metrics


def _market(
    close: list[list[float]],
    funding: list[list[float]] | None = None,
    volume: float = 1e6,
    fee: float = 0.001,
) -> Market:
    c = np.array(close, dtype=float)
    return Market(
        ts=np.arange(len(c)).astype("datetime64[h]"),
        instruments=[("v", f"S{i}") for i in range(c.shape[1])],
        close=c,
        quote_volume=np.full_like(c, volume),
        funding=np.array(funding, dtype=float) if funding else np.zeros_like(c),
        taker_fee=np.full(c.shape[1], fee),
        bars_per_year=8760.0,
    )


def _loop(market: Market, weights: np.ndarray, capital: float, impact: float) -> np.ndarray:
    """The same rules, one bar and one instrument at a time."""
    bars, n = market.close.shape
    held = [0.0] * n
    equity = 1.0
    out = []
    for t in range(bars):
        net = 0.0
        for i in range(n):
            position = float(weights[t - 1, i]) if t > 0 else 0.0
            if not math.isfinite(position) or math.isnan(market.close[t, i]):
                position = 0.0
            ret = 0.0
            if (
                t > 0
                and not math.isnan(market.close[t, i])
                and not math.isnan(market.close[t - 1, i])
            ):
                ret = market.close[t, i] / market.close[t - 1, i] - 1.0
            trade = abs(position - held[i])
            liquidity = market.quote_volume[t - 1, i] if t > 0 else float("inf")
            if not (liquidity > 0 and math.isfinite(liquidity)):
                liquidity = float("inf")
            net += position * ret
            net -= trade * market.taker_fee[i]
            net -= trade * impact * math.sqrt(trade * capital / liquidity)
            net -= position * market.funding[t, i]
            held[i] = position
        equity *= 1.0 + net
        out.append(equity)
    return np.array(out)


def test_the_target_of_bar_t_is_held_through_bar_t_plus_1() -> None:
    market = _market([[100.0], [110.0], [121.0], [121.0]], fee=0.0)
    weights = np.array([[0.0], [1.0], [0.0], [0.0]])  # decided at the close of bar 1

    result = run(market, weights, capital=1.0, impact=0.0)

    assert result.positions[:, 0].tolist() == [0.0, 0.0, 1.0, 0.0]
    assert result.gross.tolist() == pytest.approx([0.0, 0.0, 0.1, 0.0])  # bar 1's +10% is missed
    assert result.equity[-1] == pytest.approx(1.1)


def test_fees_slippage_and_funding_by_hand() -> None:
    market = _market(
        [[100.0], [100.0], [100.0]], funding=[[0.0], [0.0], [0.001]], volume=10_000.0, fee=0.0005
    )
    weights = np.array([[0.5], [0.5], [0.5]])

    result = run(market, weights, capital=100.0, impact=0.1)

    # Bar 1 buys 0.5: fee 0.5 × 0.0005; slippage 0.5 × 0.1 × sqrt(0.5 × 100 / 10,000).
    assert result.fees.tolist() == pytest.approx([0.0, 0.00025, 0.0])
    assert result.slippage[1] == pytest.approx(0.5 * 0.1 * math.sqrt(0.005))
    assert result.funding.tolist() == pytest.approx([0.0, 0.0, 0.0005])  # long pays


@pytest.mark.parametrize("layout", ["C", "F"])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_vectorized_engine_matches_the_per_bar_loop(seed: int, layout: Literal["C", "F"]) -> None:
    rng = np.random.default_rng(seed)
    bars, n = 200, 4
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (bars, n)), axis=0))
    close[rng.random((bars, n)) < 0.03] = np.nan  # missing bars
    market = Market(
        ts=np.arange(bars).astype("datetime64[h]"),
        instruments=[("v", f"S{i}") for i in range(n)],
        close=np.asarray(close, order=layout),
        quote_volume=rng.uniform(1e4, 1e6, (bars, n)),
        funding=np.where(rng.random((bars, n)) < 0.125, rng.normal(0, 1e-4, (bars, n)), 0.0),
        taker_fee=rng.uniform(0, 0.001, n),
        bars_per_year=8760.0,
    )
    weights = np.clip(rng.normal(0, 0.4, (bars, n)), -1, 1)
    if seed % 2:  # a model that emits NaN or inf holds nothing there
        weights[rng.random((bars, n)) < 0.02] = rng.choice([np.nan, np.inf, -np.inf])

    fast = run(market, weights, capital=50_000.0, impact=0.05).equity

    np.testing.assert_allclose(fast, _loop(market, weights, 50_000.0, 0.05), rtol=0, atol=1e-9)


def _reference_metrics(
    net: list[float],
    equity: list[float],
    exposure: list[float],
    benchmark: list[float],
    year: float,
) -> dict[str, float]:
    """Sharpe, Sortino, drawdown, hit rate and beta the way a textbook writes them."""
    import statistics

    mean, std = statistics.fmean(net), statistics.stdev(net)
    losses = [x for x in net if x < 0]
    down_std = math.sqrt(sum(x * x for x in losses) / len(losses))
    peak, worst = 1.0, 0.0
    for value in [1.0, *equity]:
        peak = max(peak, value)
        worst = min(worst, value / peak - 1.0)
    active = [x for x, e in zip(net, exposure, strict=True) if e > 0]
    beta = statistics.covariance(net, benchmark) / statistics.variance(benchmark)
    return {
        "sharpe": mean / std * math.sqrt(year),
        "sortino": mean / down_std * math.sqrt(year),
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
    market = _market(close.tolist(), fee=0.0005)
    weights = np.where(rng.random((500, 3)) < 0.3, 0.0, rng.uniform(-0.5, 0.5, (500, 3)))
    result = run(market, weights, capital=1.0, impact=0.0)
    benchmark = market.returns[:, 0]

    fast = metrics(result, benchmark, 8760.0)

    reference = _reference_metrics(
        result.net.tolist(),
        result.equity.tolist(),
        result.exposure.tolist(),
        benchmark.tolist(),
        8760.0,
    )
    assert {k: fast[k] for k in reference} == pytest.approx(reference, rel=1e-9, abs=1e-12)


def test_metrics_of_a_known_series() -> None:
    market = _market([[100.0], [101.0], [100.0], [102.0], [101.0]], fee=0.0)
    weights = np.ones((5, 1))
    result = run(market, weights, capital=1.0, impact=0.0)
    benchmark = np.nan_to_num(market.close[:, 0] / np.r_[np.nan, market.close[:-1, 0]] - 1.0)

    m = metrics(result, benchmark, 8760.0)

    assert m["total_return"] == pytest.approx(1.01 * (100 / 101) * 1.02 * (101 / 102) - 1)
    assert m["beta"] == pytest.approx(1.0, abs=0.3)
    assert m["max_drawdown"] == pytest.approx(100 / 101 - 1)
    assert m["exposure"] == pytest.approx(0.8)


def test_frames_pivot_into_aligned_matrices_and_targets_align() -> None:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    ts = [t0 + timedelta(hours=h) for h in range(3)]
    candles = frames.conform(
        pl.DataFrame(
            {
                "venue": ["a"] * 3 + ["b"] * 2,
                "symbol": ["X/USDT:USDT"] * 3 + ["X/USDT"] * 2,
                "timeframe": "1h",
                "ts": ts + ts[:2],
                "date": [t.date() for t in ts + ts[:2]],
                "open": 1.0,
                "high": 1.0,
                "low": 1.0,
                "close": [1.0, 2.0, 3.0, 4.0, 5.0],
                "volume": 2.0,
            }
        ),
        frames.CANDLES,
    )
    funding = pl.DataFrame(
        {
            "venue": ["a"],
            "symbol": ["X/USDT:USDT"],
            "ts": [t0 + timedelta(hours=1, minutes=0)],
            "funding_rate": [0.001],
        }
    ).with_columns(pl.col("ts").dt.cast_time_unit("us"))

    market = market_from_frames(candles, funding, {"a": 0.001, "b": 0.002}, 60)
    targets = pl.DataFrame(
        {"venue": ["b"], "symbol": ["X/USDT"], "ts": [t0 + timedelta(hours=1)], "weight": [0.5]}
    ).with_columns(pl.col("ts").dt.cast_time_unit("us"))

    assert market.instruments == [("a", "X/USDT:USDT"), ("b", "X/USDT")]
    assert np.isnan(market.close[2, 1])
    assert market.funding[:, 0].tolist() == [0.0, 0.001, 0.0]
    assert market.taker_fee.tolist() == [0.001, 0.002]
    assert weights_matrix(market, targets).tolist() == [[0.0, 0.0], [0.0, 0.5], [0.0, 0.0]]


def test_many_strategies_on_all_cores_equal_one_at_a_time_in_order() -> None:
    from trading.backtest.batch import backtest_many

    rng = np.random.default_rng(9)
    market = _market((100 * np.exp(np.cumsum(rng.normal(0, 0.01, (300, 3)), axis=0))).tolist())
    grids = [np.clip(rng.normal(0, 0.5, (300, 3)), -1, 1) for _ in range(7)]

    def constant(grid: np.ndarray) -> Callable[[], np.ndarray]:
        return lambda: grid

    parallel = backtest_many(
        market,
        [constant(g) for g in grids],
        lambda i, r: (i, r.equity[-1]),
        capital=1e4,
        impact=0.05,
        workers=2,
    )

    sequential = [(i, run(market, g, 1e4, 0.05).equity[-1]) for i, g in enumerate(grids)]
    assert parallel == sequential
