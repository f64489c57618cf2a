"""One solver for research and live: the router and the backtest split an order the same way,
and the router weighs maker against taker per leg with an honest maker model."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.trading.book import market
from trading.execution.config import MakerModel, RoutingConfig, VenueRewards
from trading.execution.quotes import quote
from trading.execution.router import VenueQuote, equal_split_cost, route, single_venue_cost
from trading.execution.types import MarketStat
from trading.waterfill import compilable, split_order

BTC = "BTC/USDT:USDT"
compilable()  # the solver's helpers, registered for compiled callers
_split = numba.njit(cache=True)(split_order)


def _backtest(
    notional: float, legs: list[tuple[float, float, float, float, float]], compiled: bool
) -> tuple[list[float], float]:
    """The backtest's split of ``notional`` over (taker fee, half spread bps, k, ADV, σ)."""
    fee, spread, k, adv, vol = (np.array(c, dtype=np.float64) for c in zip(*legs, strict=True))
    out = np.zeros(len(legs))
    cost = (_split if compiled else split_order)(notional, fee, spread, k, adv, vol, out)
    return out.tolist(), float(cost)


def _router(
    notional: float, legs: list[tuple[float, float, float, float, float]]
) -> tuple[list[float], float]:
    """The router's split of the same order on the same venues."""
    names = [f"v{i}" for i in range(len(legs))]
    config = RoutingConfig(
        venues={
            n: VenueRewards(half_spread_bps=s, impact_k=k)
            for n, (_, s, k, _, _) in zip(names, legs, strict=True)
        }
    )
    quotes = [
        quote(market(n, taker=fee), MarketStat(adv, vol, adv / 24), config, "taker", math.inf)
        for n, (fee, _, _, adv, vol) in zip(names, legs, strict=True)
    ]
    split = route(quotes, notional)
    return list(split.notional_usd), split.cash_usd


venue_costs = st.tuples(
    st.floats(-0.0002, 0.001),
    st.floats(0.0, 5.0),
    st.floats(0.1, 1.0),
    st.one_of(st.just(0.0), st.floats(1e6, 1e10)),
    st.floats(0.005, 0.1),
)


@settings(max_examples=60, deadline=None)
@given(st.floats(1e3, 1e8), st.lists(venue_costs, min_size=1, max_size=4))
def test_router_and_backtest_choose_the_same_split_at_the_same_cost(
    notional: float, legs: list[tuple[float, float, float, float, float]]
) -> None:
    routed, cash = _router(notional, legs)
    compiled, cost = _backtest(notional, legs, compiled=True)
    python, python_cost = _backtest(notional, legs, compiled=False)
    assert compiled == pytest.approx(python, rel=1e-12, abs=1e-9)
    assert cost == pytest.approx(python_cost, rel=1e-12)
    if all(adv == 0.0 for *_, adv, _ in legs):
        assert cost == math.inf
        assert routed == [0.0] * len(legs)
        return
    assert routed == pytest.approx(compiled, rel=1e-9, abs=1e-6 * notional)
    assert cash == pytest.approx(cost, rel=1e-9)


def test_backtest_and_router_agree_on_a_hand_worked_split() -> None:
    # k·σ/sqrt(ADV) = 1e-5/1.5 on both: 0.0004 + 1e-5 sqrt(x_a) = 0.0006 + 1e-5 sqrt(x_b),
    # x_a + x_b = 1000 → x_a = 900, x_b = 100 (fees 3 and 5 bps plus 1 bp of half spread)
    adv = (0.5 * 0.04 * 1.5 / 1e-5) ** 2
    legs = [(0.0003, 1.0, 0.5, adv, 0.04), (0.0005, 1.0, 0.5, adv, 0.04)]
    b = 1e-5 / 1.5
    expected = 0.0004 * 900 + b * 900**1.5 + 0.0006 * 100 + b * 100**1.5
    for split, cost in (_router(1000.0, legs), _backtest(1000.0, legs, compiled=True)):
        assert split == pytest.approx([900.0, 100.0], rel=1e-9)
        assert cost == pytest.approx(expected, rel=1e-9)


MODEL = MakerModel(fill_probability=0.5, adverse_selection_bps=1.0)


def test_maker_quote_prices_fill_risk_adverse_selection_and_urgency() -> None:
    config = RoutingConfig(maker=MODEL, urgency_bps=0.5)
    stat = MarketStat(1e8, 0.04, 1e8 / 24)
    taker = quote(market("a", maker=-0.0001, taker=0.0005), stat, config, "taker", math.inf)
    maker = quote(market("a", maker=-0.0001, taker=0.0005), stat, config, "maker", math.inf)
    b = 0.5 * 0.04 / 1e4
    assert (taker.fee, taker.spread, taker.impact_b) == pytest.approx((0.0005, 0.0001, b))
    # half fills at the rebate, half crosses at the end at the taker fee
    assert maker.fee == pytest.approx(0.5 * -0.0001 + 0.5 * 0.0005)
    # the crossing half pays the half spread, the filled half adverse selection, all urgency
    assert maker.spread == pytest.approx(0.5 * 0.0001 + 0.5 * 0.0001 + 0.00005)
    # impact only on the half that crosses: b · (x/2)^1.5
    assert maker.impact_b == pytest.approx(b * 0.5**1.5)
    assert maker.style == "maker"


def test_a_sure_instant_maker_fill_pays_only_the_maker_fee() -> None:
    config = RoutingConfig(maker=MakerModel(fill_probability=1.0, adverse_selection_bps=0.0))
    maker = quote(
        market("a", maker=-0.0001),
        None,
        config.model_copy(update={"urgency_bps": 0.0}),
        "maker",
        1.0,
    )
    assert (maker.fee, maker.spread, maker.impact_b) == (-0.0001, 0.0, 0.0)


def test_venue_maker_model_overrides_the_default() -> None:
    venue = VenueRewards(maker=MakerModel(fill_probability=0.25, adverse_selection_bps=0.0))
    config = RoutingConfig(maker=MODEL, urgency_bps=0.0, venues={"a": venue})
    maker = quote(market("a", maker=0.0, taker=0.0004), None, config, "maker", math.inf)
    assert maker.fee == pytest.approx(0.75 * 0.0004)
    assert maker.impact_b == math.inf  # the crossing rest needs a known volume


def _auto(urgency_bps: float, notional: float) -> tuple[float, float]:
    """USD the router sends as maker and as taker on one deep venue."""
    config = RoutingConfig(style="auto", maker=MODEL, urgency_bps=urgency_bps)
    stat = MarketStat(1e12, 0.03, 1e12 / 24)
    inst = market("a", maker=0.0002, taker=0.0005)
    quotes = [quote(inst, stat, config, s, math.inf) for s in ("maker", "taker")]
    legs = route(quotes, notional).notional_usd
    return legs[0], legs[1]


def test_patient_order_rests_as_maker_and_urgent_one_takes() -> None:
    # taker: 5 + 1 bps; maker: 0.5·2 + 0.5·5 fee, 0.5·1 spread + 0.5·1 adverse, + urgency
    # = 4.5 bps + urgency: maker below 1.5 bps of urgency, taker above (impact negligible)
    assert _auto(1.0, 1e4) == pytest.approx((1e4, 0.0))
    assert _auto(2.0, 1e4) == pytest.approx((0.0, 1e4))


def test_maker_and_taker_options_share_their_venue_capacity() -> None:
    # venue a: maker 3 bps, taker 5 bps, both 1.5·b = 1e-5, capped at 500 USD; venue c: 9 bps
    # flat. a fills to its cap: sqrt(x_m) = sqrt(x_t) + 20, x_m + x_t = 500
    # → sqrt(x_t) = (−20 + sqrt(600)) / 2
    b = 1e-5 / 1.5
    quotes = [
        VenueQuote("a", 0.0003, 0.0, b, 0.0, 0.0, 0.0, 500.0, "maker"),
        VenueQuote("a", 0.0005, 0.0, b, 0.0, 0.0, 0.0, 500.0, "taker"),
        VenueQuote("c", 0.0009, 0.0, 0.0, 0.0, 0.0, 0.0, math.inf, "taker"),
    ]
    taker = ((-20 + math.sqrt(600)) / 2) ** 2
    split = route(quotes, 1000.0)
    assert split.notional_usd == pytest.approx((500.0 - taker, taker, 500.0), rel=1e-9)
    assert split.styles == ("maker", "taker", "taker")


def test_single_venue_baseline_gets_the_same_style_options() -> None:
    # one venue: maker 3 bps and taker 5 bps, 1.5·b = 1e-5 each → 900 maker, 100 taker
    b = 1e-5 / 1.5
    maker = VenueQuote("a", 0.0003, 0.0, b, 0.0, 0.0, 0.0, math.inf, "maker")
    taker = VenueQuote("a", 0.0005, 0.0, b, 0.0, 0.0, 0.0, math.inf, "taker")
    best = maker.net(900.0) + taker.net(100.0)
    assert single_venue_cost([maker, taker], 1000.0) == pytest.approx(best, rel=1e-9)
    assert best < min(maker.net(1000.0), taker.net(1000.0))
    assert equal_split_cost([maker, taker], 1000.0) == pytest.approx(best, rel=1e-9)


option = st.builds(
    VenueQuote,
    st.sampled_from("abc"),
    st.floats(-0.0002, 0.001),
    st.floats(0.0, 0.0003),
    st.floats(0.0, 1e-4),
    st.floats(0.0, 0.0005),
    st.just(0.0),
    st.just(0.0),
    st.just(math.inf),
    st.sampled_from(["maker", "taker"]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(option, min_size=1, max_size=6), st.floats(10.0, 1e6))
def test_router_is_never_worse_than_either_baseline_with_the_same_styles(
    quotes: list[VenueQuote], total: float
) -> None:
    split = route(quotes, total)
    routed = split.cash_usd - split.rewards_usd
    assert sum(split.notional_usd) == pytest.approx(total, rel=1e-9)
    assert routed <= single_venue_cost(quotes, total) + 1e-9 * total
    assert routed <= equal_split_cost(quotes, total) + 1e-9 * total
