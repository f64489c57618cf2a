"""Allocation methods against hand-worked cases and plain reference implementations; caps;
weights estimated on past returns only."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.portfolio.allocation import (
    AllocationConfig,
    allocate,
    cap_weights,
    daily,
    hrp,
    inverse_vol,
    rebalance_bars,
    risk_parity,
    rolling_weights,
)


def _random_cov(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    returns = rng.normal(0, 1, (400, n)) @ rng.normal(0, 0.01, (n, n)) + rng.normal(0, 0.01, n)
    return np.cov(returns, rowvar=False)


def test_inverse_vol_of_vols_20_and_10_percent_is_one_third_two_thirds() -> None:
    w = inverse_vol(np.diag([0.04, 0.01]))

    np.testing.assert_allclose(w, [1 / 3, 2 / 3])


def test_risk_parity_of_two_strategies_is_inverse_vol_whatever_their_correlation() -> None:
    cov = np.array([[0.04, 0.6 * 0.2 * 0.1], [0.6 * 0.2 * 0.1, 0.01]])

    np.testing.assert_allclose(risk_parity(cov), [1 / 3, 2 / 3], atol=1e-9)


def _risk_parity_reference(cov: np.ndarray) -> np.ndarray:
    """Cyclical coordinate descent (Griveau-Billion, Richard, Roncalli 2013), plain loops."""
    n = len(cov)
    x = [1.0 / n] * n
    for _ in range(2000):
        for i in range(n):
            others = sum(cov[i][j] * x[j] for j in range(n) if j != i)
            x[i] = (-others + (others**2 + 4 * cov[i][i] / n) ** 0.5) / (2 * cov[i][i])
    total = sum(x)
    return np.array([v / total for v in x])


def test_risk_parity_equals_the_coordinate_descent_reference_and_equalizes_contributions() -> None:
    cov = _random_cov(1, 6)

    w = risk_parity(cov)

    np.testing.assert_allclose(w, _risk_parity_reference(cov), atol=1e-8)
    contributions = w * (cov @ w)
    np.testing.assert_allclose(contributions, contributions.mean(), rtol=1e-6)


def test_hrp_of_two_uncorrelated_strategies_is_inverse_variance() -> None:
    np.testing.assert_allclose(hrp(np.diag([0.04, 0.01])), [0.2, 0.8])


def _hrp_reference(cov: np.ndarray) -> np.ndarray:
    """López de Prado (2016), snippets 16.1-16.4, in plain Python (single linkage by hand)."""
    n = len(cov)
    std = [cov[i][i] ** 0.5 for i in range(n)]
    dist = [
        [(max(0.0, 0.5 * (1 - cov[i][j] / (std[i] * std[j])))) ** 0.5 for j in range(n)]
        for i in range(n)
    ]
    # single-linkage agglomeration, recording each merge's members in the order scipy uses
    clusters = {i: [i] for i in range(n)}
    next_id = n
    while len(clusters) > 1:
        ids = sorted(clusters)
        best = None
        for a in range(len(ids)):
            for b in range(a + 1, len(ids)):
                d = min(dist[i][j] for i in clusters[ids[a]] for j in clusters[ids[b]])
                if best is None or d < best[0]:
                    best = (d, ids[a], ids[b])
        assert best is not None
        _, a_id, b_id = best
        clusters[next_id] = clusters.pop(a_id) + clusters.pop(b_id)
        next_id += 1
    order = next(iter(clusters.values()))

    def variance(items: list[int]) -> float:
        inv = [1 / cov[i][i] for i in items]
        w = [v / sum(inv) for v in inv]
        return float(
            sum(
                w[a] * w[b] * cov[items[a]][items[b]]
                for a in range(len(items))
                for b in range(len(items))
            )
        )

    weights = [1.0] * n
    pending = [order]
    while pending:
        nxt = []
        for items in pending:
            if len(items) < 2:
                continue
            left, right = items[: len(items) // 2], items[len(items) // 2 :]
            vl, vr = variance(left), variance(right)
            alpha = 1 - vl / (vl + vr)
            for i in left:
                weights[i] *= alpha
            for i in right:
                weights[i] *= 1 - alpha
            nxt += [left, right]
        pending = nxt
    return np.array(weights)


def test_hrp_equals_the_textbook_reference() -> None:
    cov = _random_cov(4, 7)

    np.testing.assert_allclose(hrp(cov), _hrp_reference(cov), rtol=1e-10)
    assert hrp(cov).sum() == pytest.approx(1.0)


def test_a_strategy_without_variance_gets_no_capital() -> None:
    cov = np.diag([0.04, 0.0, 0.01])

    for method in (inverse_vol, risk_parity, hrp):
        w = method(cov)
        assert w[1] == 0.0
        assert w.sum() == pytest.approx(1.0)


def test_cap_hands_the_excess_to_the_others_in_proportion() -> None:
    # 0.6 -> 0.4, excess 0.2 split 3:1 -> [0.4, 0.45, 0.15]; 0.45 -> 0.4, 0.05 to the last
    np.testing.assert_allclose(cap_weights(np.array([0.6, 0.3, 0.1]), 0.4), [0.4, 0.4, 0.2])


def test_cap_below_one_over_n_leaves_the_rest_in_cash() -> None:
    np.testing.assert_allclose(cap_weights(np.array([0.5, 0.5]), 0.25), [0.25, 0.25])


@settings(max_examples=60, deadline=None)
@given(
    raw=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12).filter(lambda v: sum(v) > 0.01),
    cap=st.floats(0.05, 1.0),
)
def test_capped_weights_never_exceed_the_cap_and_keep_what_fits(
    raw: list[float], cap: float
) -> None:
    w = np.array(raw) / sum(raw)

    capped = cap_weights(w, cap)

    assert (capped <= cap + 1e-12).all()
    assert (capped >= 0).all()
    assert capped.sum() == pytest.approx(min(1.0, cap * np.count_nonzero(w)), abs=1e-9)


def test_weights_at_a_bar_ignore_every_return_from_that_bar_on() -> None:
    rng = np.random.default_rng(2)
    returns = rng.normal(0, 0.01, (24 * 40, 4))
    config = AllocationConfig(
        method="risk_parity", lookback_days=10, rebalance_days=2, min_history_days=5
    )
    t = rebalance_bars(len(returns), 24, config)[5]
    changed = returns.copy()
    changed[t:] = rng.normal(0, 0.05, changed[t:].shape)

    before = rolling_weights(returns, 24, config)
    after = rolling_weights(changed, 24, config)

    np.testing.assert_array_equal(before[: t + 2 * 24], after[: t + 2 * 24])
    assert not np.array_equal(before[t + 2 * 24 :], after[t + 2 * 24 :])


def test_weights_before_the_minimum_history_are_cash() -> None:
    returns = np.random.default_rng(0).normal(0, 0.01, (24 * 20, 3))
    config = AllocationConfig(min_history_days=5, max_weight=1.0)

    weights = rolling_weights(returns, 24, config)

    assert (weights[: 5 * 24] == 0).all()
    assert weights[5 * 24].sum() == pytest.approx(1.0)


def test_allocate_with_inverse_vol_weights_the_calmer_strategy_more() -> None:
    rng = np.random.default_rng(9)
    returns = np.column_stack([rng.normal(0, 0.02, 500), rng.normal(0, 0.01, 500)])

    w = allocate(returns, "inverse_vol", 1.0)

    assert w[1] > w[0]
    assert w.sum() == pytest.approx(1.0)


def test_daily_sums_whole_days_counted_back_from_the_window_end() -> None:
    window = np.arange(10, dtype=float)[:, None]  # 10 bars of 4 a day: 2 whole days, 2 left

    np.testing.assert_array_equal(daily(window, 4.0), [[2 + 3 + 4 + 5], [6 + 7 + 8 + 9]])


def test_subnormal_weight_still_receives_the_excess() -> None:
    # found by hypothesis: excess * 5e-324 underflowed to 0 before the division
    w = np.array([1.0, 0.5, 5e-324]) / 1.5
    assert cap_weights(w, 0.25).sum() == pytest.approx(0.75)
