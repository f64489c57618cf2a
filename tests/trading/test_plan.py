"""The whole pipeline the live loop calls: targets → net → routed, rounded, gated orders."""

from __future__ import annotations

import math
from collections.abc import Mapping

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.trading.book import market, snapshot, stat, venue
from trading.execution.config import (
    FeeTiers,
    MakerModel,
    RoutingConfig,
    TwapConfig,
    VenueRewards,
)
from trading.execution.plan import plan_orders
from trading.execution.types import MarketStat, base_step
from trading.risk.config import RiskConfig, StateRule
from trading.venues.base import Instrument

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
# a maker order sure to fill at once, without adverse selection: it pays its maker fee only
SURE = MakerModel(fill_probability=1.0, adverse_selection_bps=0.0)
MAKER = RoutingConfig(style="maker", maker=SURE, urgency_bps=0.0)
TARGET_SCHEMA = {"strategy": pl.String, "instrument": pl.String, "weight": pl.Float64}


def _targets(rows: list[tuple[str, str, float | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=TARGET_SCHEMA, orient="row")


def _instruments(*markets: Instrument) -> dict[tuple[str, str], Instrument]:
    return {(m.venue, m.symbol): m for m in markets}


def test_net_target_routes_to_the_rebate_venue_up_to_its_cap() -> None:
    instruments = _instruments(market("a", maker=0.0002), market("b", maker=-0.0001))
    snap = snapshot(
        {"a": venue("a", gross=1000.0), "b": venue("b", cap=1000.0)},
        {("a", BTC): 100.0, ("b", BTC): 100.0},
        {("a", BTC): 10.0},
    )
    targets = _targets([("s1", BTC, 0.7), ("s2", BTC, -0.2)])
    plan = plan_orders(
        targets, {"s1": 10_000.0, "s2": 10_000.0}, snap, instruments, {}, RiskConfig(), MAKER
    )
    # net 5000 USD = 50 BTC; holding 10 → buy 40: b takes its 1000 USD cap, a the rest
    assert [(o.venue, o.side, o.amount) for o in plan.orders] == [
        ("a", "buy", 30.0),
        ("b", "buy", 10.0),
    ]
    assert plan.denials == ()
    assert plan.dropped == ()
    assert plan.parents["routed_cost_usd"].to_list() == pytest.approx([30 * 100 * 0.0002 - 0.1])
    attribution = plan.attribution.sort("strategy")
    assert attribution["notional_usd"].to_list() == [7000.0, -2000.0]
    # s1 caused 7000 of the 9000 USD of change, s2 2000
    cost = 0.6 - 0.1
    assert attribution["cost_usd"].to_list() == pytest.approx([cost * 7 / 9, cost * 2 / 9])


def test_same_decision_same_client_order_ids() -> None:
    instruments = _instruments(market("a"), market("b"))
    snap = snapshot({"a": venue("a"), "b": venue("b")}, {("a", BTC): 100.0, ("b", BTC): 100.0})
    stats = {("a", BTC): stat(adv=1e7, bar=1e6), ("b", BTC): stat(adv=4e6, bar=1e6)}
    args = (
        _targets([("s", BTC, 1.0)]),
        {"s": 1e5},
        snap,
        instruments,
        stats,
        RiskConfig(),
        RoutingConfig(),
    )
    one, two = plan_orders(*args), plan_orders(*args)
    assert [o.client_order_id for o in one.orders] == [o.client_order_id for o in two.orders]
    assert len({o.client_order_id for o in one.orders}) == len(one.orders) > 2  # split + sliced


def test_halted_venue_and_denied_strategy_are_reported() -> None:
    instruments = _instruments(market("a"), market("b"))
    snap = snapshot(
        {"a": venue("a"), "b": venue("b", healthy=False)}, {("a", BTC): 100.0, ("b", BTC): 100.0}
    )
    limits = RiskConfig(
        max_strategy_gross_usd=5000.0,
        states=(StateRule(scope="strategy", name="h", state="HALTED"),),
    )
    targets = _targets([("big", BTC, 1.0), ("h", BTC, 1.0), ("ok", BTC, 0.3)])
    plan = plan_orders(
        targets, {"big": 1e4, "h": 1e4, "ok": 1e4}, snap, instruments, {}, limits, MAKER
    )
    assert {(d.reason, d.name) for d in plan.denials} == {
        ("strategy_gross", "big"),
        ("halted", "h"),
    }
    assert [(o.venue, o.amount) for o in plan.orders] == [("a", 30.0)]


def test_large_taker_leg_is_sliced_and_every_slice_is_gated() -> None:
    instruments = _instruments(market("a"))
    snap = snapshot({"a": venue("a")}, {("a", BTC): 100.0})
    config = RoutingConfig(twap=TwapConfig(threshold=0.01, horizon_minutes=30, interval_minutes=10))
    plan = plan_orders(
        _targets([("s", BTC, 1.0)]),
        {"s": 3000.0},
        snap,
        instruments,
        {("a", BTC): stat(bar=1e5)},
        RiskConfig(max_order_notional_usd=1000.0),
        config,
    )
    assert [o.amount for o in plan.orders] == [10.0, 10.0, 10.0]
    tight = plan_orders(
        _targets([("s", BTC, 1.0)]),
        {"s": 3000.0},
        snap,
        instruments,
        {("a", BTC): stat(bar=1e5)},
        RiskConfig(max_order_notional_usd=999.0),
        config,
    )
    assert tight.orders == ()
    assert [d.reason for d in tight.denials] == ["order_notional"] * 3


STEPS = st.sampled_from([0.001, 0.01, 0.1, 1.0])


@settings(max_examples=60, deadline=None)
@given(
    steps=st.tuples(STEPS, STEPS, STEPS),
    min_notional=st.floats(0.0, 50.0),
    caps=st.tuples(*[st.one_of(st.none(), st.floats(0.0, 20_000.0))] * 3),
    healthy=st.tuples(st.booleans(), st.booleans(), st.just(True)),
    held=st.tuples(*[st.floats(-30.0, 30.0)] * 3),
    weights=st.tuples(*[st.one_of(st.none(), st.floats(-1.0, 1.0))] * 3),
    style=st.sampled_from(["maker", "taker", "auto"]),
)
def test_routes_respect_caps_steps_minimums_and_sum_to_the_parent(
    steps: tuple[float, float, float],
    min_notional: float,
    caps: tuple[float | None, ...],
    healthy: tuple[bool, ...],
    held: tuple[float, ...],
    weights: tuple[float | None, ...],
    style: str,
) -> None:
    names = ("a", "b", "c")
    price = 100.0
    instruments = _instruments(
        *[
            market(v, step=s, min_amount=s, min_notional=min_notional)
            for v, s in zip(names, steps, strict=True)
        ]
    )
    positions = {(v, BTC): h for v, h in zip(names, held, strict=True)}
    venues = {
        v: venue(v, gross=abs(h) * price, cap=c, healthy=ok)
        for v, h, c, ok in zip(names, held, caps, healthy, strict=True)
    }
    snap = snapshot(venues, {(v, BTC): price for v in names}, positions)
    stats: Mapping[tuple[str, str], MarketStat] = {
        (v, BTC): stat(adv=a, bar=1e9) for v, a in zip(names, (1e7, 3e6, 1e6), strict=True)
    }
    targets = _targets([(f"s{i}", BTC, w) for i, w in enumerate(weights)])
    capital = {"s0": 3000.0, "s1": 2000.0, "s2": 1500.0}
    plan = plan_orders(
        targets, capital, snap, instruments, stats, RiskConfig(), RoutingConfig(style=style)
    )  # type: ignore[arg-type]
    assert plan.denials == ()
    net = float(plan.attribution["notional_usd"].sum()) if plan.attribution.height else None
    delta = 0.0 if net is None else net / price - sum(held)
    sent = sum(o.signed_amount for o in plan.orders)
    lost = sum(d.amount for d in plan.dropped)
    # legs plus dropped remainders make the parent; rounding never goes beyond it
    assert abs(sent) + lost == pytest.approx(abs(delta), abs=1e-6)
    assert abs(sent) <= abs(delta) + 1e-9
    assert all(o.signed_amount * delta > 0 for o in plan.orders)
    gross = {v: abs(h) * price for v, h in zip(names, held, strict=True)}
    for o in plan.orders:
        step = base_step(instruments[(o.venue, BTC)])
        assert math.isclose(o.amount / step, round(o.amount / step), abs_tol=1e-6)
        assert o.amount >= step - 1e-12
        assert o.amount * price >= min_notional - 1e-9
        assert venues[o.venue].healthy
        pos = positions[(o.venue, BTC)]
        positions[(o.venue, BTC)] = pos + o.signed_amount
        gross[o.venue] += (abs(pos + o.signed_amount) - abs(pos)) * price
    for v, c in zip(names, caps, strict=True):
        if c is not None:
            assert gross[v] <= max(c, abs(held[names.index(v)]) * price) + 1e-6


def test_tier_progress_is_counted_once_across_parents() -> None:
    rewards = VenueRewards(tiers=FeeTiers(maker=((0.0, 0.0005), (1000.0, 0.0))), volume_30d_usd=0.0)
    config = MAKER.model_copy(update={"venues": {"b": rewards}, "rewards_budget_usd_per_day": 1e9})
    instruments = _instruments(
        market("a", maker=0.0004), market("b"), market("a", ETH, maker=0.0004), market("b", ETH)
    )
    marks = {(v, s): 100.0 for v in "ab" for s in (BTC, ETH)}
    snap = snapshot({"a": venue("a"), "b": venue("b")}, marks)
    targets = _targets([("s", BTC, 0.1), ("s", ETH, 0.1)])
    plan = plan_orders(targets, {"s": 10_000.0}, snap, instruments, {}, RiskConfig(), config)
    # the first parent fills b's tier gap (1000 USD at 0.0005, worth reaching); the second
    # then pays b's new tier fee (0) — cheaper than a — without a second tier reward
    assert [(o.instrument, o.venue, o.amount) for o in plan.orders] == [
        (BTC, "b", 10.0),
        (ETH, "b", 10.0),
    ]
    # the tier saves 0.0005 on 1000 USD a month (its threshold) = 0.5 USD, earned by the gap
    assert plan.routes["rewards_usd"].to_list() == pytest.approx([0.5, 0.0])


def test_spot_sell_goes_only_where_the_asset_is_held() -> None:
    spot = "BTC/USDT"
    instruments = _instruments(
        market("a", spot, kind="spot", maker=0.0), market("b", spot, kind="spot", maker=0.0002)
    )
    snap = snapshot(
        {"a": venue("a"), "b": venue("b")},
        {("a", spot): 100.0, ("b", spot): 100.0},
        {("b", spot): 3.0},
    )
    plan = plan_orders(
        _targets([("s", spot, -1.0)]), {"s": 1000.0}, snap, instruments, {}, RiskConfig(), MAKER
    )
    # target -10 BTC, holding 3: a is cheaper but holds nothing, so b sells its 3; the 10 short
    # a spot market cannot carry are dropped
    assert [(o.venue, o.side, o.amount) for o in plan.orders] == [("b", "sell", 3.0)]
    assert plan.denials == ()
    assert [(d.reason, d.amount) for d in plan.dropped] == [("no venue capacity", 10.0)]


def test_instrument_without_venue_or_price_is_dropped_in_usd() -> None:
    instruments = _instruments(market("a"))
    snap = snapshot({"a": venue("a")}, {})
    targets = _targets([("s", BTC, 0.5), ("s", ETH, -0.25)])
    plan = plan_orders(targets, {"s": 1000.0}, snap, instruments, {}, RiskConfig(), MAKER)
    assert plan.orders == ()
    assert [(d.instrument, d.amount, d.unit, d.reason) for d in plan.dropped] == [
        (BTC, 500.0, "usd", "no reference price"),
        (ETH, 250.0, "usd", "no venue lists it"),
    ]
