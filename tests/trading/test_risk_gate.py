"""The risk gate: every rule passes just inside its limit and denies just outside, with its
reason code; denials are values; a batch is checked against the book its approvals move."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.trading.book import order, snapshot, venue
from trading.execution.types import PlannedOrder, Snapshot
from trading.risk.config import RiskConfig, StateRule
from trading.risk.gate import REASONS, check

BTC = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"


def _snap(**kw: Any) -> Snapshot:
    venues = kw.pop("venues", {"a": venue("a")})
    marks = kw.pop("marks", {("a", BTC): 100.0, ("a", ETH): 100.0})
    positions = kw.pop("positions", None)
    return snapshot(venues, marks, positions, **kw)


def _reason(orders: list[PlannedOrder], snap: Snapshot, limits: RiskConfig) -> str | None:
    approved, denials = check(orders, snap, limits)
    assert len(approved) + len(denials) == len(orders)
    return denials[-1].reason if denials else None


CASES: list[tuple[str, dict[str, Any], dict[str, Any], PlannedOrder, PlannedOrder]] = [
    ("order_notional", {"max_order_notional_usd": 1000}, {}, order(amount=10), order(amount=10.01)),
    ("order_amount", {"max_order_amount": {BTC: 10}}, {}, order(amount=10), order(amount=10.001)),
    (
        "position_limit",
        {"max_position_usd": 2000},
        {"positions": {("a", BTC): 10.0}},
        order(amount=10),
        order(amount=10.01),
    ),
    (
        "gross_exposure",
        {"max_gross_exposure_usd": 5000},
        {"positions": {("a", ETH): -30.0}},
        order(amount=20),
        order(amount=20.01),
    ),
    (
        "net_exposure",
        {"max_net_exposure_usd": 5000},
        {"positions": {("a", ETH): 30.0}},
        order(amount=20),
        order(amount=20.01),
    ),
    ("price_collar", {"price_collar_bps": 50}, {}, order(price=100.5), order(price=100.51)),
    (
        "no_fresh_price",
        {"max_price_age_seconds": 120},
        {"mark_age": timedelta(seconds=120)},
        order(),
        order(),
    ),
    ("stale_data", {"max_data_age_bars": 1}, {"data_age_bars": 1}, order(), order()),
    ("order_rate", {"max_orders_per_minute": 5}, {"sent": {"a": 4}}, order(), order()),
    ("daily_loss", {"max_daily_loss_usd": 1000}, {"daily_pnl": -999.99}, order(), order()),
    (
        "venue_gross_cap",
        {},
        {"venues": {"a": venue("a", gross=500.0, pending=500.0, cap=2000.0)}},
        order(amount=10),
        order(amount=10.001),
    ),
    (
        "venue_equity_cap",
        {},
        {"venues": {"a": venue("a", equity=1000.0, equity_cap=1000.0)}},
        order(),
        order(),
    ),
    (
        "spot_short",
        {},
        {"positions": {("a", BTC): 1.0}},
        order(side="sell", amount=1.0, kind="spot"),
        order(side="sell", amount=1.001, kind="spot"),
    ),
]
# The "outside" variant of cases whose boundary is in the snapshot, not in the order.
OUTSIDE_SNAPSHOT: dict[str, dict[str, Any]] = {
    "no_fresh_price": {"mark_age": timedelta(seconds=121)},
    "stale_data": {"data_age_bars": 2},
    "order_rate": {"sent": {"a": 5}},
    "daily_loss": {"daily_pnl": -1000.0},
    "venue_equity_cap": {"venues": {"a": venue("a", equity=1000.01, equity_cap=1000.0)}},
}


@pytest.mark.parametrize(("reason", "limits", "snap", "inside", "outside"), CASES)
def test_rule_at_boundary_passes_inside_denies_outside(
    reason: str,
    limits: dict[str, Any],
    snap: dict[str, Any],
    inside: PlannedOrder,
    outside: PlannedOrder,
) -> None:
    config = RiskConfig(**limits)
    assert _reason([inside], _snap(**snap), config) is None
    outside_snap = {**snap, **OUTSIDE_SNAPSHOT.get(reason, {})}
    assert _reason([outside], _snap(**outside_snap), config) == reason
    assert reason in REASONS


def test_every_reason_code_is_tested_or_structural() -> None:
    tested = {c[0] for c in CASES} | {"halted", "reducing_only", "venue_unhealthy"}
    assert tested == set(REASONS)


def test_unhealthy_venue_denies_even_reducing_orders() -> None:
    snap = _snap(venues={"a": venue("a", healthy=False)}, positions={("a", BTC): 1.0})
    assert _reason([order(side="sell")], snap, RiskConfig()) == "venue_unhealthy"


def test_daily_loss_hit_still_lets_reducing_orders_pass() -> None:
    snap = _snap(daily_pnl=-5000.0, positions={("a", BTC): 2.0})
    limits = RiskConfig(max_daily_loss_usd=1000)
    assert _reason([order(side="sell", amount=2.0)], snap, limits) is None


def test_halted_all_denies_every_order() -> None:
    limits = RiskConfig(states=(StateRule(scope="all", state="HALTED"),))
    snap = _snap(positions={("a", BTC): 1.0})
    assert _reason([order(side="sell")], snap, limits) == "halted"


@pytest.mark.parametrize(
    ("position", "side", "amount", "reason"),
    [
        (2.0, "sell", 2.0, None),  # closes exactly
        (2.0, "sell", 2.001, "reducing_only"),  # would flip short
        (2.0, "buy", 0.001, "reducing_only"),  # grows
        (0.0, "sell", 1.0, "reducing_only"),  # opens
    ],
)
def test_reducing_instrument_passes_only_shrinking_orders(
    position: float, side: str, amount: float, reason: str | None
) -> None:
    limits = RiskConfig(states=(StateRule(scope="instrument", name=BTC, state="REDUCING"),))
    snap = _snap(positions={("a", BTC): position})
    assert _reason([order(side=side, amount=amount)], snap, limits) == reason  # type: ignore[arg-type]


def test_halted_venue_scope_spares_other_venues() -> None:
    limits = RiskConfig(states=(StateRule(scope="venue", name="b", state="HALTED"),))
    snap = _snap(
        venues={"a": venue("a"), "b": venue("b")}, marks={("a", BTC): 100.0, ("b", BTC): 100.0}
    )
    approved, denials = check([order("a", cid="x"), order("b", cid="y")], snap, limits)
    assert [o.client_order_id for o in approved] == ["x"]
    assert [(d.reason, d.scope, d.name, d.client_order_id) for d in denials] == [
        ("halted", "venue", "b", "y")
    ]


def test_batch_denies_the_order_that_breaches_together() -> None:
    limits = RiskConfig(max_gross_exposure_usd=1500)
    orders = [order(amount=10, cid="first"), order(amount=10, cid="second")]
    approved, denials = check(orders, _snap(), limits)
    assert [o.client_order_id for o in approved] == ["first"]
    assert [d.client_order_id for d in denials] == ["second"]


def test_twap_slices_later_than_a_minute_do_not_count_against_the_rate() -> None:
    limits = RiskConfig(max_orders_per_minute=1)
    orders = [order(cid="now"), order(cid="later", later=timedelta(minutes=5))]
    approved, _ = check(orders, _snap(), limits)
    assert [o.client_order_id for o in approved] == ["now", "later"]


def test_state_rule_without_name_for_venue_scope_is_rejected() -> None:
    with pytest.raises(ValueError, match="needs the name"):
        StateRule(scope="venue", state="HALTED")


def test_unknown_risk_key_is_rejected() -> None:
    with pytest.raises(ValueError, match="Extra inputs"):
        RiskConfig.model_validate({"max_order_usd": 5})


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("ab"), st.sampled_from(["buy", "sell"]), st.floats(0.01, 30.0)),
        max_size=12,
    ),
    st.floats(-20.0, 20.0),
)
def test_approved_batch_never_ends_beyond_a_limit_it_grew_into(
    batch: list[tuple[str, str, float]], held: float
) -> None:
    limits = RiskConfig(max_gross_exposure_usd=3000.0, max_position_usd=2500.0)
    venues = {"a": venue("a", gross=abs(held) * 100.0, cap=1500.0), "b": venue("b")}
    snap = _snap(
        venues=venues, marks={("a", BTC): 100.0, ("b", BTC): 100.0}, positions={("a", BTC): held}
    )
    orders = [
        order(v, side, amount, cid=f"o{i}")  # type: ignore[arg-type]
        for i, (v, side, amount) in enumerate(batch)
    ]
    approved, denials = check(orders, snap, limits)
    assert len(approved) + len(denials) == len(orders)
    book = {"a": held, "b": 0.0}
    for o in approved:
        before_gross = 100.0 * (abs(book["a"]) + abs(book["b"]))
        before_a, before_net = abs(book["a"]), abs(book["a"] + book["b"])
        book[o.venue] += o.signed_amount
        gross = 100.0 * (abs(book["a"]) + abs(book["b"]))
        assert gross <= 3000.0 + 1e-6 or gross <= before_gross + 1e-9
        net = abs(book["a"] + book["b"]) * 100.0
        assert net <= 2500.0 + 1e-6 or net <= before_net * 100.0 + 1e-9
        assert abs(book["a"]) * 100.0 <= 1500.0 * (1 + 1e-9) or abs(book["a"]) <= before_a
