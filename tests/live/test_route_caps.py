"""Per-venue caps reach the live account's router and gate; paper accounts have none."""

from __future__ import annotations

from tests.live.test_route import BAR, INSTRUMENTS, MARKET, MARKS, NO_PREVIOUS, NOW
from trading.configbase import CapsConfig
from trading.execution.config import RoutingConfig
from trading.live.route import Books, Contribution, plan_account
from trading.risk.config import RiskConfig

SWAP = "BTC/USDT:USDT"
CAPS = {"a": CapsConfig(max_gross_exposure_usd=1000.0), "b": None}


def _sent(account: str) -> dict[str, float]:
    plan = plan_account(
        account, [Contribution("s1", account, None, SWAP, 0.5, 10_000.0, 100.0)],
        Books({}, {}, frozenset(), {"a": True, "b": True}, frozenset()), NO_PREVIOUS,
        INSTRUMENTS, MARKET, MARKS, RiskConfig(), RoutingConfig(), NOW, BAR, CAPS,
    )  # fmt: skip
    out: dict[str, float] = {}
    for o in plan.orders:
        out[o.venue] = out.get(o.venue, 0.0) + o.amount
    return out


def test_live_account_keeps_each_venue_under_its_gross_cap() -> None:
    # 5,000 USD to buy: venue a takes at most its 1,000 USD cap (10 BTC at 100), b the rest
    assert _sent("live") == {"a": 10.0, "b": 40.0}


def test_paper_account_is_not_bound_by_real_money_caps() -> None:
    assert _sent("paper")["a"] > 10.0
