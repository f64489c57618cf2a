"""Net → route → risk for one account: research weights in, gated orders and denials out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from trading.execution.config import RoutingConfig
from trading.execution.types import Mark, MarketStat
from trading.live.route import Books, Contribution, Plan, plan_account, state_rules
from trading.live.states import STATE_LAYOUT, TradingStates, change
from trading.risk.config import RiskConfig, StateRule
from trading.venues.base import Instrument

BAR = datetime(2024, 3, 1, 5, tzinfo=UTC)
NOW = BAR + timedelta(hours=1, seconds=1)
SWAP = "BTC/USDT:USDT"
INSTRUMENTS = {
    (v, SWAP): Instrument(
        v, SWAP, "BTC", "USDT", "USDT", "swap", 1.0, 0.1, 0.001, 0.001, 5.0, 0.0002, 0.0005
    )
    for v in ("a", "b")
}
MARKS = {(v, SWAP): Mark(100.0, BAR + timedelta(hours=1)) for v in ("a", "b")}
MARKET = {(v, SWAP): MarketStat(1e9, 0.03, 4e7) for v in ("a", "b")}
NO_PREVIOUS = pl.DataFrame(
    schema={"strategy": pl.String, "instrument": pl.String, "notional_usd": pl.Float64}
)


def _books(
    refused: frozenset[tuple[str, str]] = frozenset(),
    enabled: bool = True,
    known: frozenset[tuple[str, str]] = frozenset(),
) -> Books:
    return Books({}, {}, refused, {"a": enabled, "b": enabled}, known)


def _c(
    strategy: str, venue: str | None, weight: float | None, account: str = "paper"
) -> Contribution:
    return Contribution(strategy, account, venue, SWAP, weight, 10_000.0, 100.0)


def _plan(
    contributions: list[Contribution],
    books: Books,
    risk: RiskConfig | None = None,
    account: str = "paper",
) -> Plan:
    return plan_account(
        account, contributions, books, NO_PREVIOUS, INSTRUMENTS, MARKET, MARKS,
        risk or RiskConfig(), RoutingConfig(), NOW, BAR,
    )  # fmt: skip


def test_venue_neutral_weights_net_across_strategies_into_routed_orders() -> None:
    plan = _plan([_c("s1", None, 0.5), _c("s2", None, -0.1)], _books())
    assert sum(o.amount if o.side == "buy" else -o.amount for o in plan.orders) == 40.0
    assert {o.strategy for o in plan.orders} == {"s1,s2"}
    assert {o.client_order_id[:4] for o in plan.orders} == {"keel"}
    rows = {r["strategy"]: r for r in plan.net_targets}
    assert (rows["s1"]["venue"], rows["s1"]["weight"], rows["s1"]["contribution"]) == (
        "*",
        0.5,
        50.0,
    )
    assert (rows["s2"]["contribution"], rows["s2"]["net_target"]) == (-10.0, 40.0)


def test_pinned_legs_trade_only_on_their_venue_even_when_they_net_to_zero() -> None:
    plan = _plan([_c("basis", "a", 0.3), _c("basis", "b", -0.3)], _books())
    got = sorted((o.venue, o.side, o.amount, o.strategy) for o in plan.orders)
    assert got == [("a", "buy", 30.0, "basis"), ("b", "sell", 30.0, "basis")]
    assert [(r["venue"], r["net_target"]) for r in plan.net_targets] == [("a", 30.0), ("b", -30.0)]


def test_pinned_and_neutral_parents_on_one_venue_get_distinct_deterministic_ids() -> None:
    wishes = [_c("basis", "a", 0.3), _c("trend", None, 0.2)]
    one, two = _plan(wishes, _books()), _plan(list(reversed(wishes)), _books())
    ids = [o.client_order_id for o in one.orders]
    assert len(set(ids)) == len(ids)
    assert ids == [o.client_order_id for o in two.orders]
    pinned = [o for o in one.orders if o.strategy == "basis"]
    assert [(o.venue, o.amount) for o in pinned] == [("a", 30.0)]
    assert sum(o.amount for o in one.orders if o.strategy == "trend") == 20.0


def test_no_signal_keeps_the_strategys_previous_holding() -> None:
    previous = pl.DataFrame(
        {"strategy": ["s1"], "instrument": [SWAP], "venue": [None], "notional_usd": [3000.0]},
        schema={"strategy": pl.String, "instrument": pl.String, "venue": pl.String,
                "notional_usd": pl.Float64},
    )  # fmt: skip
    held = Books({("paper", "a", SWAP): 30.0}, {}, frozenset(), {"a": True, "b": True}, frozenset())
    plan = plan_account(
        "paper", [_c("s1", None, None)], held, previous, INSTRUMENTS, MARKET, MARKS,
        RiskConfig(), RoutingConfig(), NOW, BAR,
    )  # fmt: skip
    assert plan.orders == []  # a zero weight would have sold the 30
    assert [(r["weight"], r["contribution"]) for r in plan.net_targets] == [(None, 30.0)]
    flat = plan_account(
        "paper", [_c("s1", None, 0.0)], held, previous, INSTRUMENTS, MARKET, MARKS,
        RiskConfig(), RoutingConfig(), NOW, BAR,
    )  # fmt: skip
    assert {o.side for o in flat.orders} == {"sell"}
    assert sum(o.amount for o in flat.orders) == 30.0


def test_a_refused_venue_gets_no_order_and_the_denial_says_why() -> None:
    plan = _plan([_c("s1", None, 0.5)], _books(refused=frozenset({("paper", "a")})))
    assert {o.venue for o in plan.orders} == {"b"}
    assert [d["reason"] for d in plan.denials] == ["unreconciled"]


def test_live_orders_need_trading_enabled() -> None:
    plan = _plan([_c("s1", None, 0.5, "live")], _books(enabled=False), account="live")
    assert plan.orders == []
    assert "trading_disabled" in {d["reason"] for d in plan.denials}


def test_orders_already_in_the_journal_are_not_planned_again() -> None:
    first = _plan([_c("s1", None, 0.5)], _books())
    known = frozenset(("paper", o.client_order_id) for o in first.orders)
    assert first.orders
    assert _plan([_c("s1", None, 0.5)], _books(known=known)).orders == []
    # The same ids on another account are that account's own orders, not these.
    live = _plan([_c("s1", None, 0.5, "live")], _books(known=known), account="live")
    assert [o.client_order_id for o in live.orders] == [o.client_order_id for o in first.orders]


def test_journal_states_override_configured_ones_and_reach_the_gate() -> None:
    log = pl.DataFrame(
        [
            change("HALTED", BAR, "incident", "cli", "venue", "a").row(),
            change("ACTIVE", BAR, "over", "cli").row(),
        ],
        schema=STATE_LAYOUT,
    )
    configured = RiskConfig(states=(StateRule(scope="all", state="REDUCING"),))
    risk = state_rules(configured, TradingStates.from_log(log))
    assert {(r.scope, r.name, r.state) for r in risk.states} == {
        ("all", "", "ACTIVE"),
        ("venue", "a", "HALTED"),
    }
    plan = _plan([_c("s1", "a", 0.5), _c("s1", "b", 0.5)], _books(), risk)
    assert plan.orders
    assert {o.venue for o in plan.orders} == {"b"}
