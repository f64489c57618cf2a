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


def _c(strategy: str, venue: str, weight: float, account: str = "paper") -> Contribution:
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


def test_weights_sum_over_venues_then_net_across_strategies_into_routed_orders() -> None:
    plan = _plan([_c("s1", "a", 0.3), _c("s1", "b", 0.2), _c("s2", "a", -0.1)], _books())
    assert sum(o.amount if o.side == "buy" else -o.amount for o in plan.orders) == 40.0
    assert {o.strategy for o in plan.orders} == {"s1,s2"}
    rows = {r["strategy"]: r for r in plan.net_targets}
    assert (rows["s1"]["weight"], rows["s1"]["contribution"]) == (0.5, 50.0)
    assert (rows["s2"]["contribution"], rows["s2"]["net_target"]) == (-10.0, 40.0)


def test_a_refused_venue_gets_no_order_and_the_denial_says_why() -> None:
    plan = _plan([_c("s1", "a", 0.5)], _books(refused=frozenset({("paper", "a")})))
    assert {o.venue for o in plan.orders} == {"b"}
    assert [d["reason"] for d in plan.denials] == ["unreconciled"]


def test_live_orders_need_trading_enabled() -> None:
    plan = _plan([_c("s1", "a", 0.5, "live")], _books(enabled=False), account="live")
    assert plan.orders == []
    assert "trading_disabled" in {d["reason"] for d in plan.denials}


def test_orders_already_in_the_journal_are_not_planned_again() -> None:
    first = _plan([_c("s1", "a", 0.5)], _books())
    known = frozenset(("paper", o.client_order_id) for o in first.orders)
    assert first.orders
    assert _plan([_c("s1", "a", 0.5)], _books(known=known)).orders == []
    # The same ids on another account are that account's own orders, not these.
    live = _plan([_c("s1", "a", 0.5, "live")], _books(known=known), account="live")
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
