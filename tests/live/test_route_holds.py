"""The live netting path holds, owns and identifies orders the way research does.

No signal and no row both mean "hold the units" (as the backtest does: the position drifts with
the price, nothing trades); a pinned leg starts from what its own orders filled on its venue;
client order ids do not depend on the execution style; drops and costs of a pinned leg belong
to the pinned strategy.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from trading.execution.config import RoutingConfig
from trading.execution.types import Mark, MarketStat
from trading.live.journal import LAYOUTS
from trading.live.route import (
    Books,
    Contribution,
    Plan,
    pinned_holdings,
    plan_account,
    previous_holdings,
)
from trading.risk.config import RiskConfig
from trading.venues.base import Instrument

BAR = datetime(2024, 3, 1, 5, tzinfo=UTC)
SWAP = "BTC/USDT:USDT"
INSTRUMENTS = {
    (v, SWAP): Instrument(
        v, SWAP, "BTC", "USDT", "USDT", "swap", 1.0, 0.1, 0.001, 0.001, 5.0, 0.0002, 0.0005
    )
    for v in ("a", "b")
}
MARKET = {(v, SWAP): MarketStat(1e9, 0.03, 4e7) for v in ("a", "b")}
CAPITAL = {"s1": 10_000.0, "s2": 10_000.0, "basis": 10_000.0, "trend": 10_000.0}


def _marks(price: float, bar: datetime = BAR) -> dict[tuple[str, str], Mark]:
    return {(v, SWAP): Mark(price, bar + timedelta(hours=1)) for v in ("a", "b")}


def _c(strategy: str, venue: str | None, weight: float | None, price: float) -> Contribution:
    return Contribution(strategy, "paper", venue, SWAP, weight, CAPITAL[strategy], price)


def _books(
    positions: dict[tuple[str, str], float] | None = None,
    known: frozenset[tuple[str, str]] = frozenset(),
    pinned: dict[tuple[str, str], float] | None = None,
    refused: frozenset[tuple[str, str]] = frozenset(),
) -> Books:
    return Books(
        {("paper", v, s): q for (v, s), q in (positions or {}).items()},
        {},
        refused,
        {"a": True, "b": True},
        known,
        {("paper", v, s): q for (v, s), q in (pinned or {}).items()},
    )


def _journalled(plans: list[tuple[datetime, Plan]]) -> pl.DataFrame:
    """Net-target rows as the run journals them, one stamp per bar."""
    rows: list[dict[str, Any]] = []
    for bar, plan in plans:
        rows += [{"run_id": f"r{bar:%H}", "bar": bar, "at": bar, **r} for r in plan.net_targets]
    return pl.DataFrame(rows, schema=dict(LAYOUTS["net_targets"]))


def _plan(
    contributions: list[Contribution],
    books: Books,
    previous: pl.DataFrame,
    price: float,
    bar: datetime = BAR,
    routing: RoutingConfig | None = None,
    deployed: dict[str, float] | None = None,
) -> Plan:
    return plan_account(
        "paper", contributions, books, previous, INSTRUMENTS, MARKET, _marks(price, bar),
        RiskConfig(), routing or RoutingConfig(), bar + timedelta(hours=1, seconds=1), bar,
        deployed=deployed if deployed is not None else CAPITAL,
    )  # fmt: skip


def _bought(plan: Plan) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for o in plan.orders:
        key = (o.venue, o.strategy)
        out[key] = round(out.get(key, 0.0) + (o.amount if o.side == "buy" else -o.amount), 9)
    return out


def _positions(plan: Plan, before: dict[tuple[str, str], float]) -> dict[tuple[str, str], float]:
    after = dict(before)
    for o in plan.orders:
        after[(o.venue, SWAP)] = after.get((o.venue, SWAP), 0.0) + (
            o.amount if o.side == "buy" else -o.amount
        )
    return after


# ------------------------------------------------------- 1. no signal holds the units


def test_no_signal_after_a_target_holds_the_same_units_as_prices_move_and_places_no_order() -> None:
    first = _plan([_c("s1", None, 0.5, 100.0)], _books(), previous_holdings(_journalled([])), 100.0)
    assert sum(_bought(first).values()) == 50.0  # 5000 USD at 100
    held = _positions(first, {})
    history = [(BAR, first)]
    for hour, price in ((1, 110.0), (2, 90.0), (3, 125.0)):
        bar = BAR + timedelta(hours=hour)
        previous = previous_holdings(_journalled(history))
        plan = _plan([_c("s1", None, None, price)], _books(held), previous, price, bar)
        assert plan.orders == [], f"bar {hour}: a held position was rebalanced"
        assert [(r["weight"], r["contribution"]) for r in plan.net_targets] == [(None, 50.0)]
        history.append((bar, plan))


def test_previous_holdings_are_the_last_journalled_units_per_strategy_and_leg() -> None:
    first = _plan([_c("basis", "a", 0.3, 100.0), _c("s1", None, 0.5, 100.0)], _books(),
                  previous_holdings(_journalled([])), 100.0)  # fmt: skip
    got = previous_holdings(_journalled([(BAR, first)])).filter(account="paper").sort("strategy")
    assert got.select("strategy", "instrument", "venue", "quantity").rows() == [
        ("basis", SWAP, "a", 30.0),
        ("s1", SWAP, None, 50.0),
    ]


# ---------------------------------------------- 2. a missing row is no signal (hold)


def test_a_strategy_without_a_target_row_holds_while_another_trades_the_instrument() -> None:
    previous = pl.DataFrame(
        {"strategy": ["s1"], "account": ["paper"], "instrument": [SWAP], "venue": [None],
         "quantity": [30.0]},
        schema={"strategy": pl.String, "account": pl.String, "instrument": pl.String,
                "venue": pl.String, "quantity": pl.Float64},
    )  # fmt: skip
    books = _books({("a", SWAP): 30.0})
    plan = _plan([_c("s2", None, 0.2, 100.0)], books, previous, 100.0)
    assert sum(_bought(plan).values()) == 20.0  # s2 buys its 20; s1's 30 stay
    rows = {r["strategy"]: (r["weight"], r["contribution"]) for r in plan.net_targets}
    assert rows == {"s1": (None, 30.0), "s2": (0.2, 20.0)}
    alone = _plan([], books, previous, 120.0)
    assert alone.orders == []
    assert [(r["strategy"], r["contribution"]) for r in alone.net_targets] == [("s1", 30.0)]


def test_a_run_without_a_decision_trades_nothing_even_where_holds_are_off_target() -> None:
    previous = pl.DataFrame(
        {"strategy": ["s1"], "account": ["paper"], "instrument": [SWAP], "venue": [None],
         "quantity": [30.0]},
        schema={"strategy": pl.String, "account": pl.String, "instrument": pl.String,
                "venue": pl.String, "quantity": pl.Float64},
    )  # fmt: skip
    plan = _plan([], _books({("a", SWAP): 10.0}), previous, 100.0, deployed={})
    assert (plan.orders, plan.net_targets) == ([], [])
    decided = _plan([], _books({("a", SWAP): 10.0}), previous, 100.0)
    assert sum(_bought(decided).values()) == 20.0  # a decided bar brings the hold to its units


def test_a_strategy_no_longer_deployed_is_not_held() -> None:
    previous = pl.DataFrame(
        {"strategy": ["gone"], "account": ["paper"], "instrument": [SWAP], "venue": [None],
         "quantity": [30.0]},
        schema={"strategy": pl.String, "account": pl.String, "instrument": pl.String,
                "venue": pl.String, "quantity": pl.Float64},
    )  # fmt: skip
    plan = _plan([_c("s2", None, 0.2, 100.0)], _books({("a", SWAP): 30.0}), previous, 100.0)
    assert sum(_bought(plan).values()) == -10.0  # only s2's 20 are wanted
    assert {r["strategy"] for r in plan.net_targets} == {"s2"}


# ------------------------------ 3. a pinned leg starts from its own orders' fills


def _basis_and_trend_previous() -> pl.DataFrame:
    return pl.DataFrame(
        {"strategy": ["basis", "trend"], "account": ["paper", "paper"], "instrument": [SWAP, SWAP],
         "venue": ["a", None], "quantity": [30.0, 20.0]},
        schema={"strategy": pl.String, "account": pl.String, "instrument": pl.String,
                "venue": pl.String, "quantity": pl.Float64},
    )  # fmt: skip


def test_an_unfilled_pinned_leg_is_retried_on_its_venue_and_not_bought_elsewhere() -> None:
    # Last bar basis wanted 30 on a (denied, nothing filled); trend got its 20 on b.
    books = _books({("b", SWAP): 20.0}, pinned={})
    plan = _plan([_c("basis", "a", 0.3, 100.0), _c("trend", None, None, 100.0)], books,
                 _basis_and_trend_previous(), 100.0)  # fmt: skip
    assert _bought(plan) == {("a", "basis"): 30.0}
    assert all(o.client_order_id.startswith("keelp") for o in plan.orders)


def test_a_filled_pinned_leg_is_held_and_the_neutral_parent_owns_the_rest() -> None:
    books = _books({("a", SWAP): 30.0, ("b", SWAP): 20.0}, pinned={("a", SWAP): 30.0})
    plan = _plan([_c("basis", "a", 0.3, 100.0), _c("trend", None, None, 100.0)], books,
                 _basis_and_trend_previous(), 100.0)  # fmt: skip
    assert plan.orders == []


def test_pinned_holdings_sum_the_fills_of_pinned_orders_only() -> None:
    fills = pl.DataFrame(
        {
            "account": ["paper"] * 4,
            "venue": ["a", "a", "a", "b"],
            "symbol": [SWAP] * 4,
            "client_order_id": ["keelp" + "0" * 27, "keelp" + "1" * 27, "keeln" + "2" * 27,
                                "keelp" + "3" * 27],
            "side": ["buy", "sell", "buy", "sell"],
            "amount": [3.0, 1.0, 5.0, 2.0],
            "origin": ["keel", "adopted", "keel", "keel"],
        }
    )  # fmt: skip
    assert pinned_holdings(fills) == {("paper", "a", SWAP): 2.0, ("paper", "b", SWAP): -2.0}


# ------------------------------------------------ 4. ids do not depend on the style


def test_the_same_decision_with_taker_or_auto_style_yields_the_same_client_order_ids() -> None:
    wishes = [_c("s1", None, 1.0, 100.0), _c("s2", None, 1.0, 100.0), _c("basis", "a", 0.5, 100.0)]
    none = previous_holdings(_journalled([]))
    taker = _plan(wishes, _books(), none, 100.0, routing=RoutingConfig(style="taker"))
    auto = _plan(wishes, _books(), none, 100.0, routing=RoutingConfig(style="auto"))
    assert {o.venue for o in taker.orders} == {"a", "b"}

    def ids(plan: Plan) -> dict[tuple[str, bool], str]:
        out = {(o.venue, o.client_order_id.startswith("keelp")): o.client_order_id
               for o in plan.orders}  # fmt: skip
        assert len(out) == len(plan.orders), "two orders of one parent on one venue"
        return out

    one, two = ids(taker), ids(auto)
    assert {k: one[k] for k in two if k in one} == {k: two[k] for k in two if k in one}
    assert set(one) & set(two) == {("a", False), ("b", False), ("a", True)}


def test_a_retried_bar_after_a_partial_fill_places_no_second_order_on_the_same_venue() -> None:
    wishes = [_c("s1", None, 1.0, 100.0), _c("s2", None, 1.0, 100.0)]
    none = previous_holdings(_journalled([]))
    first = _plan(wishes, _books(), none, 100.0, routing=RoutingConfig(style="auto"))
    sent = {(o.venue, o.symbol) for o in first.orders}
    known = frozenset(("paper", o.client_order_id) for o in first.orders)
    half = {(o.venue, SWAP): o.amount / 2 for o in first.orders if o.side == "buy"}
    for style in ("auto", "taker", "maker"):
        retry = _plan(wishes, _books(half, known), none, 100.0,
                      routing=RoutingConfig(style=style))  # fmt: skip
        again = [(o.venue, o.symbol) for o in retry.orders if (o.venue, o.symbol) in sent]
        assert again == [], f"{style}: a second order on {again}"


# --------------------------------------- 5 and 6. pinned drops and costs are the pinned leg's


def test_a_dropped_neutral_leg_on_a_pinned_venue_is_owned_by_the_neutral_strategy() -> None:
    # b refused: trend's 3 USD (below the 5 USD minimum) can only go to a, where basis is pinned
    wishes = [_c("basis", "a", 0.3, 100.0), _c("trend", None, 0.0003, 100.0)]
    books = _books(refused=frozenset({("paper", "b")}))
    plan = _plan(wishes, books, previous_holdings(_journalled([])), 100.0)
    dropped = [(d["strategy"], d["venue"], d["detail"]) for d in plan.denials
               if d["reason"] == "dropped"]  # fmt: skip
    assert dropped == [("trend", "a", "below min_notional")]


def test_a_pinned_legs_cost_is_charged_to_the_pinned_strategy_only() -> None:
    from tests.trading.book import snapshot, venue
    from trading.execution.plan import plan_orders

    snap = snapshot({"a": venue("a"), "b": venue("b")}, {("a", SWAP): 100.0, ("b", SWAP): 100.0})
    targets = pl.DataFrame(
        {"strategy": ["basis", "trend"], "instrument": [SWAP, SWAP], "venue": ["a", None],
         "weight": [0.3, 0.2]},
        schema={"strategy": pl.String, "instrument": pl.String, "venue": pl.String,
                "weight": pl.Float64},
    )  # fmt: skip
    plan = plan_orders(targets, CAPITAL, snap, INSTRUMENTS, MARKET, RiskConfig(), RoutingConfig())
    cost = {"basis": 0.0, "trend": 0.0}
    for o in plan.orders:
        cost["basis" if o.pinned else "trend"] += o.expected_cost_usd - o.rewards_usd
    got = dict(plan.attribution.select("strategy", "cost_usd").iter_rows())
    assert got == pytest.approx(cost)
    assert cost["basis"] > 0.0
    assert cost["trend"] > 0.0


def test_a_pinned_order_is_attributed_to_the_pinned_strategy_and_a_neutral_one_to_the_others() -> (
    None
):
    from trading.live.shortfall import shortfall

    pinned, neutral = "keelp" + "0" * 27, "keeln" + "1" * 27
    filled = pl.DataFrame(
        {"account": ["paper"] * 2, "venue": ["a", "a"], "client_order_id": [pinned, neutral],
         "run_id": ["r"] * 2, "symbol": [SWAP] * 2, "side": ["buy", "buy"], "fills": [1, 1],
         "amount": [3.0, 2.0], "price": [100.0, 100.0], "fee": [0.0, 0.0],
         "notional": [300.0, 200.0], "decision": [100.0, 100.0], "adv": [1e9, 1e9],
         "daily_vol": [0.03, 0.03]}
    )  # fmt: skip
    net_targets = pl.DataFrame(
        {"run_id": ["r"] * 2, "account": ["paper"] * 2, "symbol": [SWAP] * 2,
         "venue": ["a", "*"], "strategy": ["basis", "trend"], "contribution": [30.0, 20.0]}
    )  # fmt: skip
    got = shortfall(filled, {}, net_targets)
    assert sorted(got.select("strategy", "notional").rows()) == [("basis", 300.0), ("trend", 200.0)]
