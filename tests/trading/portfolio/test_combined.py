"""The netted portfolio backtest against the sum of its parts, and diversity figures."""

from __future__ import annotations

import numpy as np
import pytest

from trading.portfolio.combined import combine
from trading.portfolio.diversity import clusters, correlation, marginal_effects


def test_opposite_strategies_net_to_no_trades_and_save_their_fees() -> None:
    # Strategy 0 goes long 1.0 at bar 1, strategy 1 short 1.0: half the capital each.
    long = np.array([[0.0], [1.0], [1.0], [0.0]])
    weights = np.full((4, 2), 0.5)
    net = np.array([[0.0, 0.0], [-0.001, -0.001], [0.01, -0.01], [-0.001, -0.001]])

    result = combine(weights, net, lambda s: long if s == 0 else -long, np.array([0.001]))

    # parts: each trades 0.5 in at bar 1 and 0.5 out at bar 3: turnover 1.0 per bar, fees 0.001
    np.testing.assert_allclose(result.parts_turnover, [0.0, 1.0, 0.0, 1.0])
    np.testing.assert_allclose(result.net_turnover, [0.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(result.fees_saved, [0.0, 0.001, 0.0, 0.001])
    np.testing.assert_allclose(result.parts_return, [0.0, -0.001, 0.0, -0.001])
    np.testing.assert_allclose(result.combined_return, [0.0, 0.0, 0.0, 0.0])


def test_strategies_trading_the_same_way_save_nothing() -> None:
    pos = np.array([[0.0, 0.0], [0.5, -0.2], [0.1, 0.3]])
    weights = np.array([[0.3, 0.7]] * 3)
    net = np.zeros((3, 2))

    result = combine(weights, net, lambda s: pos, np.array([0.001, 0.002]))

    np.testing.assert_allclose(result.fees_saved, 0.0, atol=1e-15)
    np.testing.assert_allclose(result.parts_turnover, result.net_turnover)


def test_correlation_of_a_copy_is_one_and_of_a_constant_is_zero() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=100)
    corr = correlation(np.column_stack([a, 2 * a, -a, np.zeros(100)]))

    np.testing.assert_allclose(corr[0, 1:], [1.0, -1.0, 0.0], atol=1e-12)
    assert clusters(corr)[0] == clusters(corr)[1] != clusters(corr)[2]


def test_a_candidate_that_earns_in_bad_regimes_ranks_first() -> None:
    rng = np.random.default_rng(1)
    bars = 400
    bad = np.arange(bars) % 2 == 0
    benchmark = np.where(bad, -0.01, 0.01)
    members = rng.normal(0, 0.01, (bars, 2))
    hedge = np.where(bad, 0.005, -0.001) + rng.normal(0, 0.001, bars)
    noise = rng.normal(0, 0.01, bars)

    table = marginal_effects(
        members,
        np.column_stack([noise, hedge]),
        ["noise", "hedge"],
        benchmark,
        bad,
        365.0,
        "inverse_vol",
        1.0,
    )

    assert table["candidate"].to_list() == ["hedge", "noise"]
    assert table["d_bad_regime_excess"][0] > 0
    assert table["weight"][0] == pytest.approx(
        (1 / hedge.std(ddof=1)) / sum(1 / c.std(ddof=1) for c in [*members.T, hedge])
    )
