"""The router on hand-worked cases, and against a brute-force search of every split."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.trading.book import market, snapshot, stat, venue
from trading.costs import Style
from trading.execution.config import FeeTiers, RoutingConfig, VenueRewards
from trading.execution.quotes import Capacity, quote
from trading.execution.rewards import fee_rate, next_tier, tier_fee, tier_reward
from trading.execution.router import VenueQuote, equal_split_cost, route, single_venue_cost

BTC = "BTC/USDT:USDT"


def q(
    name: str,
    fee: float = 0.0005,
    *,
    b: float = 0.0,
    cap: float = math.inf,
    points: float = 0.0,
    tier: float = 0.0,
    gap: float = 0.0,
    style: Style = "taker",
) -> VenueQuote:
    return VenueQuote(name, fee, 0.0, b, points, tier, gap, cap, style)


def test_linear_venues_send_everything_to_the_rebate() -> None:
    split = route([q("a", 0.0002), q("b", -0.0001)], 1000.0)
    assert split.notional_usd == pytest.approx((0.0, 1000.0))
    assert split.cash_usd == pytest.approx(-0.1)


def test_binding_cap_spills_the_rest_to_the_next_cheapest() -> None:
    split = route([q("a", 0.0002), q("b", -0.0001, cap=300.0)], 1000.0)
    assert split.notional_usd == pytest.approx((700.0, 300.0))


def test_total_above_every_cap_reports_the_unrouted_rest() -> None:
    split = route([q("a", cap=200.0), q("b", cap=300.0)], 1000.0)
    assert split.notional_usd == pytest.approx((200.0, 300.0))
    assert split.unrouted_usd == pytest.approx(500.0)


def test_halted_venue_gets_nothing() -> None:
    snap = snapshot({"a": venue("a"), "b": venue("b", healthy=False)}, {})
    capacity = Capacity.of(snap)
    quotes = [
        quote(market(v), stat(), RoutingConfig(), "taker", capacity.usd(v, BTC, 1.0, 100.0))
        for v in ("a", "b")
    ]
    split = route(quotes, 1e6)
    assert split.notional_usd[1] == 0.0
    assert split.notional_usd[0] == pytest.approx(1e6)


def test_deeper_venue_takes_more_in_proportion_to_depth_squared() -> None:
    # same fees; b_a = 2 b_b: equal marginal 1.5 b sqrt(x) → x_a = x_b / 4
    split = route([q("a", b=2e-5), q("b", b=1e-5)], 1000.0)
    assert split.notional_usd == pytest.approx((200.0, 800.0), rel=1e-9)


def test_size_that_must_be_split_equalizes_marginal_cost() -> None:
    # 1.5 b = 1e-5: 0.0005 + 1e-5 sqrt(x_a) = 0.0007 + 1e-5 sqrt(x_b), x_a + x_b = 1000
    # → sqrt(x_a) = sqrt(x_b) + 20 → x_b = 100, x_a = 900
    b = 1e-5 / 1.5
    split = route([q("a", 0.0005, b=b), q("b", 0.0007, b=b)], 1000.0)
    assert split.notional_usd == pytest.approx((900.0, 100.0), rel=1e-9)


def test_identical_linear_venues_share_the_volume() -> None:
    split = route([q("a"), q("b")], 1000.0)
    assert split.notional_usd == pytest.approx((500.0, 500.0))


def test_points_steer_volume_until_the_budget_binds() -> None:
    quotes = [q("a", 0.0005), q("b", 0.0006, points=0.0002)]
    free = route(quotes, 1000.0, budget_usd=math.inf)
    assert free.notional_usd == pytest.approx((0.0, 1000.0))
    assert free.extra_cash_usd == pytest.approx(0.1)
    assert free.rewards_usd == pytest.approx(0.2)
    none = route(quotes, 1000.0, budget_usd=0.0)
    assert none.notional_usd == pytest.approx((1000.0, 0.0))
    assert none.extra_cash_usd == 0.0


def test_zero_rewards_weight_ignores_points() -> None:
    split = route([q("a", 0.0005), q("b", 0.0006, points=0.0002)], 1000.0, rewards_weight=0.0)
    assert split.notional_usd == pytest.approx((1000.0, 0.0))


def test_tier_reward_stops_at_the_tier_gap() -> None:
    # the tier pays 0.0003 per USD for the first 400 USD on b; beyond it b is dearer than a
    split = route([q("a", 0.0005), q("b", 0.0006, tier=0.0003, gap=400.0)], 1000.0)
    assert split.notional_usd == pytest.approx((600.0, 400.0))


def test_unknown_volume_venue_takes_no_taker_leg() -> None:
    quotes = [
        quote(market(v), s, RoutingConfig(), "taker", math.inf)
        for v, s in (("a", stat()), ("b", None))
    ]
    assert quotes[1].impact_b == math.inf
    assert route(quotes, 5000.0).notional_usd[1] == 0.0


def test_fee_tiers_in_ccxt_shape() -> None:
    tiers = ((0.0, 0.001), (1e6, 0.0008), (5e6, 0.0006))
    assert tier_fee(tiers, 0.0) == 0.001
    assert tier_fee(tiers, 1e6) == 0.0008
    assert next_tier(tiers, 2e6) == (5e6, 0.0006)
    assert next_tier(tiers, 6e6) is None
    rewards = VenueRewards(tiers=FeeTiers(taker=tiers), volume_30d_usd=3e6)
    assert fee_rate(market("a"), rewards, "taker") == 0.0008
    assert fee_rate(market("a"), rewards, "maker") == 0.0002  # no maker tiers: instrument fee
    # next tier saves 0.0002 on 5e6 a month; 2e6 of volume is missing
    rate, gap = tier_reward(rewards, "taker", 30.0)
    assert gap == 2e6
    assert rate == pytest.approx(0.0002 * 5e6 / 2e6)


def test_unsorted_tiers_are_rejected() -> None:
    with pytest.raises(ValueError, match="sorted"):
        FeeTiers(taker=((0.0, 0.001), (5e6, 0.0006), (1e6, 0.0008)))


def test_router_beats_or_matches_both_baselines() -> None:
    quotes = [q("a", 0.0004, b=1e-6), q("b", 0.0005, b=2e-6), q("c", -0.0001, b=8e-6)]
    split = route(quotes, 2e5)
    routed = split.cash_usd - split.rewards_usd
    assert routed <= single_venue_cost(quotes, 2e5) + 1e-9
    assert routed <= equal_split_cost(quotes, 2e5) + 1e-9


def _capacity(quotes: list[VenueQuote]) -> dict[str, float]:
    """Each venue's capacity, shared by its options (the tightest one quoted)."""
    caps: dict[str, float] = {}
    for c in quotes:
        caps[c.venue] = min(caps.get(c.venue, math.inf), c.capacity_usd)
    return caps


def _brute_force(quotes: list[VenueQuote], total: float, steps: int = 400) -> float:
    """The least net cost over a grid of two- or three-option splits; options quoted under
    one venue name share its capacity."""
    caps = _capacity(quotes)
    best = math.inf
    grid = [total * i / steps for i in range(steps + 1)]
    for x0 in grid:
        rest = total - x0
        tails = [[rest]] if len(quotes) == 2 else [[y, rest - y] for y in grid if y <= rest]
        for tail in tails:
            legs = [x0, *tail]
            used = dict.fromkeys(caps, 0.0)
            for x, c in zip(legs, quotes, strict=True):
                used[c.venue] += x
            if any(used[v] > caps[v] + 1e-9 for v in caps):
                continue
            best = min(
                best,
                sum(c.cash(x) - c.rewards(x) for c, x in zip(quotes, legs, strict=True)),
            )
    return best


venue_quotes = st.builds(
    q,
    st.sampled_from("abc"),
    st.floats(-0.0002, 0.001),
    b=st.floats(0.0, 1e-4),
    cap=st.one_of(st.just(math.inf), st.floats(100.0, 2000.0)),
    points=st.floats(0.0, 0.0005),
    tier=st.floats(0.0, 0.0005),
    gap=st.floats(0.0, 1000.0),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(venue_quotes, min_size=2, max_size=3), st.floats(10.0, 1500.0))
def test_water_filling_is_no_worse_than_brute_force(quotes: list[VenueQuote], total: float) -> None:
    split = route(quotes, total)
    legs = split.notional_usd
    assert all(0.0 <= x <= c.capacity_usd + 1e-6 for x, c in zip(legs, quotes, strict=True))
    routable = min(total, sum(_capacity(quotes).values()))
    assert sum(legs) == pytest.approx(routable, rel=1e-9, abs=1e-6)
    if routable < total:
        return
    found = split.cash_usd - split.rewards_usd
    assert found <= _brute_force(quotes, total, 120 if len(quotes) == 3 else 400) + 1e-7


def test_routing_in_a_fresh_process_never_loads_numba() -> None:
    """A trading run is a fresh process per bar: loading numba's compiler there costs seconds."""
    code = (
        "import sys\n"
        "from trading.execution.router import VenueQuote, route\n"
        "quotes = [VenueQuote(v, 0.0005, 0.0001, 2e-5, 0.0, 0.0, 0.0, 1e6) for v in 'ab']\n"
        "split = route(quotes, 150_000.0)\n"
        "assert abs(sum(split.notional_usd) - 150_000.0) < 1e-6, split\n"
        "print(sorted(m for m in sys.modules if m == 'numba' or m.startswith('numba.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
