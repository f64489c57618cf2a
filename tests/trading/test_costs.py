"""The shared cost model: scalar and vectorized forms agree, and its terms behave as stated."""

from __future__ import annotations

import math

import numpy as np
import pytest

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


def _split(
    notional: float, fees: list[float], advs: list[float], k: float = 0.5, vol: float = 0.04
) -> tuple[np.ndarray, float]:
    from trading.waterfill import split_order

    out = np.zeros(len(fees))
    cost = split_order(
        notional,
        np.array(fees),
        np.zeros(len(fees)),
        np.full(len(fees), k),
        np.array(advs),
        np.full(len(fees), vol),
        out,
    )
    return out, cost


def test_two_identical_venues_share_an_order_equally_and_it_costs_less() -> None:
    shares, cost = _split(1e6, [0.0005, 0.0005], [1e8, 1e8])

    assert shares.tolist() == pytest.approx([5e5, 5e5])
    one = order_cost(1e6, VenueCosts(0.0, 0.0005, 0.0, 0.5), 1e8, 0.04)
    halves = 2 * order_cost(5e5, VenueCosts(0.0, 0.0005, 0.0, 0.5), 1e8, 0.04)
    assert cost == pytest.approx(halves)
    assert cost < one


def test_the_split_equalizes_marginal_costs_and_beats_nearby_splits() -> None:
    fees, advs = [0.0002, 0.0006, 0.0004], [5e7, 2e8, 1e7]
    shares, cost = _split(3e6, fees, advs)

    assert shares.sum() == pytest.approx(3e6)
    used = shares > 0
    b = 0.5 * 0.04 / np.sqrt(np.array(advs))
    marginal = np.array(fees) + 1.5 * b * np.sqrt(shares)
    assert np.ptp(marginal[used]) < 1e-9
    rng = np.random.default_rng(0)
    for _ in range(200):
        other = np.abs(shares + rng.normal(0, 2e5, 3))
        other *= 3e6 / other.sum()
        other_cost = sum(f * n + bb * n**1.5 for f, bb, n in zip(fees, b, other, strict=True))
        assert cost <= other_cost + 1e-9


def test_a_venue_without_known_volume_gets_nothing_and_none_usable_is_infinite() -> None:
    shares, _ = _split(1e5, [0.0001, 0.0005], [0.0, 1e8])
    assert shares.tolist() == [0.0, pytest.approx(1e5)]
    _, cost = _split(1e5, [0.0001], [math.nan])
    assert cost == math.inf


def test_a_small_order_goes_to_the_cheapest_venue_only() -> None:
    shares, cost = _split(10.0, [0.0001, 0.0005], [1e8, 1e8])
    assert shares.tolist() == [pytest.approx(10.0), 0.0]
    assert cost == pytest.approx(
        cost_rate(10.0, VenueCosts(0.0, 0.0001, 0.0, 0.5), 1e8, 0.04) * 10.0
    )


def test_expected_maker_cost_blends_the_fill_and_the_crossing_rest() -> None:
    from trading.costs import expected_maker

    # 60% fills at the 1 bp rebate with 1 bp adverse selection; 40% crosses at 5 bps + 1 bp
    # half spread with impact on 40% of the order (k·0.4^1.5); 2 bps of urgency on all
    fee, spread_bps, k = expected_maker(-0.0001, 0.0005, 1.0, 0.5, 0.6, 1.0, 2.0)
    assert fee == pytest.approx(0.6 * -0.0001 + 0.4 * 0.0005)
    assert spread_bps == pytest.approx(0.4 * 1.0 + 0.6 * 1.0 + 2.0)
    assert k == pytest.approx(0.5 * 0.4**1.5)
    # a sure fill without adverse selection or urgency is the plain maker fee
    assert expected_maker(-0.0001, 0.0005, 1.0, 0.5, 1.0, 0.0, 0.0) == (-0.0001, 0.0, 0.0)
