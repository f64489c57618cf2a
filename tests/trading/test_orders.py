"""Orders from a venue leg: steps, minimums, TWAP slices and deterministic client order ids."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.trading.book import BAR, T0, market
from trading.execution.config import TwapConfig
from trading.execution.orders import (
    client_order_id,
    floor_to_step,
    is_pinned_order,
    leg_orders,
    price_to_step,
    slice_count,
)

BTC = "BTC/USDT:USDT"


def test_floor_to_step_survives_float_noise() -> None:
    assert floor_to_step(0.3, 0.1) == 0.3  # 0.3 / 0.1 = 2.9999999999999996
    assert floor_to_step(0.29999, 0.1) == 0.2
    assert floor_to_step(1.23456, 0.001) == 1.234


def test_limit_prices_round_to_the_passive_side() -> None:
    assert price_to_step(100.07, 0.1, "buy") == 100.0
    assert price_to_step(100.01, 0.1, "sell") == 100.1
    assert price_to_step(100.1, 0.1, "sell") == 100.1


def test_client_order_id_is_deterministic_and_valid_everywhere() -> None:
    one = client_order_id(BAR, BTC, "a", False, 0)
    assert one == client_order_id(BAR, BTC, "a", False, 0)
    assert one != client_order_id(BAR, BTC, "a", False, 1)
    assert one != client_order_id(BAR + timedelta(hours=1), BTC, "a", False, 0)
    # a pinned leg and the venue-neutral leg on one venue never share an id; the id says which
    pinned = client_order_id(BAR, BTC, "a", True, 0)
    assert pinned != one
    assert (is_pinned_order(pinned), is_pinned_order(one), is_pinned_order(None)) == (
        True,
        False,
        False,
    )
    # OKX: alphanumeric ≤ 32; Binance and Bybit accept a subset of that
    assert re.fullmatch(r"[A-Za-z0-9]{32}", one)
    assert re.fullmatch(r"[A-Za-z0-9]{32}", pinned)


def _leg(
    amount: float, slices: int = 1, min_amount: float = 0.001, min_notional: float = 5.0
) -> tuple[list[float], list[str]]:
    orders, dropped = leg_orders(
        bar=BAR,
        start=T0,
        instrument=market("a", min_amount=min_amount, min_notional=min_notional),
        side="buy",
        amount=amount,
        price=100.0,
        pinned=False,
        slices=slices,
        style="taker",
        interval=timedelta(minutes=5),
    )
    return [o.amount for o in orders], [d.reason for d in dropped]


def test_leg_rounds_down_and_reports_the_remainder() -> None:
    assert _leg(1.23456) == ([1.234], ["step remainder"])


def test_leg_below_min_notional_is_dropped() -> None:
    # 0.049 × 100 = 4.9 USD < 5 USD
    assert _leg(0.049) == ([], ["below min_notional"])
    assert _leg(0.05) == ([0.05], [])


def test_leg_below_min_amount_is_dropped() -> None:
    assert _leg(0.5, min_amount=1.0, min_notional=0.0) == ([], ["below min_amount"])


def test_slices_sum_to_the_rounded_leg_on_the_step_grid() -> None:
    amounts, _ = _leg(1.0, slices=3)
    assert amounts == [0.333, 0.333, 0.334]


def test_slices_are_spaced_by_the_interval_with_distinct_ids() -> None:
    orders, _ = leg_orders(
        bar=BAR,
        start=T0,
        instrument=market("a"),
        side="sell",
        amount=1.0,
        price=100.0,
        pinned=True,
        slices=3,
        style="maker",
        interval=timedelta(minutes=5),
    )
    assert [o.not_before - T0 for o in orders] == [timedelta(minutes=m) for m in (0, 5, 10)]
    assert len({o.client_order_id for o in orders}) == 3
    assert {o.style for o in orders} == {"maker"}


@pytest.mark.parametrize(
    ("amount", "bar_volume", "expected"),
    [
        (1.0, 1e4, 1),  # 100 USD = 1% of the bar: not sliced
        (1.01, 1e4, 12),  # just above: horizon / interval = 12 slices
        (0.1, 100.0, 2),  # big against the bar, but only two 5-USD slices fit the minimum
    ],
)
def test_slice_count_at_the_threshold(amount: float, bar_volume: float, expected: int) -> None:
    twap = TwapConfig(threshold=0.01, horizon_minutes=60, interval_minutes=5)
    assert slice_count(amount, 100.0, market("a"), bar_volume, twap) == expected


def test_swap_steps_are_already_base_units() -> None:
    # a 0.01-BTC contract: the venue layer gives its step and minimum in BTC
    inst = replace(market("a", step=0.01, min_amount=0.01), contract_size=0.01)
    orders, dropped = leg_orders(
        bar=BAR,
        start=T0,
        instrument=inst,
        side="buy",
        amount=0.057,
        price=100.0,
        pinned=False,
        slices=1,
        style="taker",
        interval=timedelta(minutes=5),
    )
    assert [o.amount for o in orders] == [0.05]
    assert [round(d.amount, 12) for d in dropped] == [0.007]


@settings(max_examples=150, deadline=None)
@given(
    amount=st.floats(0.0, 50.0),
    step=st.sampled_from([0.001, 0.003, 0.01, 0.03, 0.1, 1.0]),
    min_notional=st.floats(0.0, 200.0),
    price=st.floats(1.0, 500.0),
    bar_volume=st.floats(0.0, 1e5),
)
def test_slices_are_sendable_and_sum_to_the_leg_minus_what_is_reported(
    amount: float, step: float, min_notional: float, price: float, bar_volume: float
) -> None:
    inst = market("a", step=step, min_amount=step, min_notional=min_notional)
    twap = TwapConfig(threshold=0.01, horizon_minutes=60, interval_minutes=5)
    slices = slice_count(amount, price, inst, bar_volume, twap)
    orders, dropped = leg_orders(
        bar=BAR,
        start=T0,
        instrument=inst,
        side="buy",
        amount=amount,
        price=price,
        pinned=False,
        slices=slices,
        style="taker",
        interval=timedelta(minutes=5),
    )
    sent = sum(o.amount for o in orders)
    assert sent + sum(d.amount for d in dropped) == pytest.approx(amount, abs=1e-9)
    assert sent <= amount + 1e-12
    assert len(orders) <= slices
    for o in orders:
        assert o.amount / step == pytest.approx(round(o.amount / step), abs=1e-6)
        assert o.amount >= step - 1e-12
        assert o.amount * price >= min_notional - 1e-9
