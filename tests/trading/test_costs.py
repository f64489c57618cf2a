"""The shared cost model: scalar and vectorized forms agree, and its terms behave as stated."""

from __future__ import annotations

import math

import numpy as np

from trading.costs import VenueCosts, cost_rate, cost_rates, impact_rate, order_cost

VENUE = VenueCosts(maker_fee=-0.0001, taker_fee=0.0005, half_spread_bps=2.0, impact_k=0.5)


def test_taker_order_pays_fee_spread_and_sqrt_impact() -> None:
    # 1% of ADV, 4% daily vol: impact = 0.5 * 0.04 * sqrt(0.01) = 0.002
    rate = cost_rate(10_000.0, VENUE, adv=1_000_000.0, daily_vol=0.04)
    assert math.isclose(rate, 0.0005 + 0.0002 + 0.002)


def test_maker_order_earns_the_rebate_without_spread_or_impact() -> None:
    assert order_cost(10_000.0, VENUE, adv=1e6, daily_vol=0.04, style="maker") == -1.0


def test_unknown_volume_prices_impact_as_infinite() -> None:
    assert impact_rate(1.0, adv=0.0, daily_vol=0.04, k=0.5) == math.inf
    assert impact_rate(0.0, adv=0.0, daily_vol=0.04, k=0.5) == 0.0


def test_impact_quadruples_order_doubles_the_rate() -> None:
    small = impact_rate(1e4, 1e6, 0.05, 0.5)
    assert math.isclose(impact_rate(4e4, 1e6, 0.05, 0.5), 2 * small)


def test_vectorized_rates_equal_the_scalar_function() -> None:
    rng = np.random.default_rng(3)
    notional = rng.uniform(0, 1e6, 50)
    notional[:3] = 0.0
    adv = rng.uniform(0, 1e8, 50)
    adv[5] = 0.0
    adv[6] = np.nan
    vol = rng.uniform(0, 0.1, 50)
    got = cost_rates(
        notional,
        np.full(50, VENUE.taker_fee),
        np.full(50, VENUE.half_spread_bps),
        np.full(50, VENUE.impact_k),
        adv,
        vol,
    )
    want = [cost_rate(n, VENUE, a, v) for n, a, v in zip(notional, adv, vol, strict=True)]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_vectorized_maker_rates_equal_the_scalar_function() -> None:
    notional = np.array([0.0, 10.0, 1e6])
    got = cost_rates(
        notional,
        np.full(3, VENUE.maker_fee),
        np.full(3, VENUE.half_spread_bps),
        np.full(3, VENUE.impact_k),
        np.array([0.0, 1e6, 1e6]),
        np.full(3, 0.04),
        style="maker",
    )
    want = [cost_rate(n, VENUE, 1e6, 0.04, style="maker") for n in notional]
    assert got.tolist() == want == [-0.0001, -0.0001, -0.0001]


def test_vectorized_rates_broadcast_a_batch_of_orders_over_instrument_parameters() -> None:
    notional = np.array([[1e4, 0.0], [4e4, 1e4]])  # strategies × instruments
    got = cost_rates(
        notional,
        np.array([0.0005, 0.001]),
        np.array([2.0, 1.0]),
        np.array([0.5, 0.5]),
        np.array([1e6, 1e6]),
        np.array([0.04, 0.04]),
    )
    assert got[0, 0] == cost_rate(1e4, VENUE, 1e6, 0.04)
    assert got[1, 0] == cost_rate(4e4, VENUE, 1e6, 0.04)
    assert got[0, 1] == 0.001 + 0.0001  # no order: fee and spread rate, no impact
