from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from trading.live.plan import Contribution, Limits, client_order_id, plan_orders
from trading.live.states import STATE_LAYOUT, TradingStates, change
from trading.venues.base import Instrument, InstrumentKind

BAR = datetime(2024, 3, 1, 5, tzinfo=UTC)


def _instrument(symbol: str, kind: InstrumentKind = "swap") -> Instrument:
    return Instrument(
        "v", symbol, symbol[:3], "USDT", "USDT", kind, 1.0, 0.1, 0.001, 0.001, 5.0, 0.0002, 0.0005
    )  # type: ignore[arg-type]


INSTRUMENTS = {
    ("v", "BTC/USDT:USDT"): _instrument("BTC/USDT:USDT"),
    ("v", "BTC/USDT"): _instrument("BTC/USDT", "spot"),
}
ACTIVE = TradingStates({})
LIMITS = Limits(1e9, {"v": True})


def _states(*changes: tuple[str, str, str]) -> TradingStates:
    rows = [change(s, BAR, "why", "cli", scope, t).row() for s, scope, t in changes]  # type: ignore[arg-type]
    return TradingStates.from_log(pl.DataFrame(rows, schema=STATE_LAYOUT))


def _c(
    strategy: str, weight: float, symbol: str = "BTC/USDT:USDT", capital: float = 1000.0
) -> Contribution:
    return Contribution(strategy, "paper", "v", symbol, weight, capital, 100.0)


def test_strategies_net_into_one_order_per_instrument() -> None:
    plan = plan_orders([_c("a", 0.5), _c("b", -0.2)], {}, {}, INSTRUMENTS, ACTIVE, LIMITS, BAR)
    (order,) = plan.orders
    assert (order.side, order.amount, order.strategy) == ("buy", 3.0, "a,b")
    assert order.client_order_id == client_order_id("paper", "v", "BTC/USDT:USDT", BAR)
    assert [r["contribution"] for r in plan.net_targets] == [5.0, -2.0]
    assert {r["net_target"] for r in plan.net_targets} == {3.0}


def test_order_is_the_difference_to_the_position_rounded_down_to_the_step() -> None:
    key = ("paper", "v", "BTC/USDT:USDT")
    plan = plan_orders([_c("a", 0.5)], {key: 1.2345}, {}, INSTRUMENTS, ACTIVE, LIMITS, BAR)
    (order,) = plan.orders
    assert (order.side, order.amount) == ("buy", 3.765)


def test_halted_strategy_keeps_its_previous_contribution_and_reducing_only_shrinks() -> None:
    previous = {
        ("a", "paper", "v", "BTC/USDT:USDT"): 4.0,
        ("b", "paper", "v", "BTC/USDT:USDT"): 4.0,
    }
    states = _states(("HALTED", "strategy", "a"), ("REDUCING", "strategy", "b"))
    plan = plan_orders(
        [_c("a", -1.0), _c("b", 1.0)], {}, previous, INSTRUMENTS, states, LIMITS, BAR
    )
    assert [r["contribution"] for r in plan.net_targets] == [4.0, 4.0]


def test_halted_venue_denies_and_reducing_instrument_clamps() -> None:
    key = ("paper", "v", "BTC/USDT:USDT")
    halted = plan_orders(
        [_c("a", 0.5)], {}, {}, INSTRUMENTS, _states(("HALTED", "venue", "v")), LIMITS, BAR
    )
    assert halted.orders == []
    assert halted.denials[0]["reason"] == "halted"
    reducing = _states(("REDUCING", "instrument", "BTC/USDT:USDT"))
    grow = plan_orders([_c("a", 0.5)], {key: 2.0}, {}, INSTRUMENTS, reducing, LIMITS, BAR)
    assert grow.orders == []
    shrink = plan_orders([_c("a", 0.1)], {key: 2.0}, {}, INSTRUMENTS, reducing, LIMITS, BAR)
    (order,) = shrink.orders
    assert (order.side, order.amount, order.reduce_only) == ("sell", 1.0, True)


def test_spot_cannot_go_short_and_small_or_large_orders_are_denied() -> None:
    plan = plan_orders([_c("a", -0.5, "BTC/USDT")], {}, {}, INSTRUMENTS, ACTIVE, LIMITS, BAR)
    assert plan.orders == []
    assert [d["reason"] for d in plan.denials] == ["spot_short"]
    tiny = plan_orders([_c("a", 0.001)], {}, {}, INSTRUMENTS, ACTIVE, LIMITS, BAR)
    assert [d["reason"] for d in tiny.denials] == ["below_minimum"]
    big = plan_orders([_c("a", 1.0)], {}, {}, INSTRUMENTS, ACTIVE, Limits(500.0, {"v": True}), BAR)
    assert [d["reason"] for d in big.denials] == ["max_notional"]


def test_live_orders_need_trading_enabled_and_a_reconciled_venue() -> None:
    live = Contribution("a", "live", "v", "BTC/USDT:USDT", 0.5, 1000.0, 100.0)
    off = plan_orders([live], {}, {}, INSTRUMENTS, ACTIVE, Limits(1e9, {"v": False}), BAR)
    assert [d["reason"] for d in off.denials] == ["trading_disabled"]
    refused = Limits(1e9, {"v": True}, frozenset({("live", "v")}))
    assert [
        d["reason"] for d in plan_orders([live], {}, {}, INSTRUMENTS, ACTIVE, refused, BAR).denials
    ] == ["unreconciled"]


def test_an_order_already_in_the_journal_is_not_planned_again() -> None:
    cid = client_order_id("paper", "v", "BTC/USDT:USDT", BAR)
    plan = plan_orders([_c("a", 0.5)], {}, {}, INSTRUMENTS, ACTIVE, LIMITS, BAR, frozenset({cid}))
    assert plan.orders == []
    assert plan.denials == []
