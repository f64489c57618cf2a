"""The kill switch's cancels: HALTED cancels every resting order it covers, REDUCING the ones
that would grow a position."""

from __future__ import annotations

from trading.risk.cancels import Resting, required_cancels
from trading.risk.config import RiskConfig, StateRule

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
RESTING = [
    Resting("a", BTC, "k1", 1.0),
    Resting("b", BTC, "k2", -0.5),
    Resting("a", ETH, "k3", -2.0),
    Resting("b", ETH, "k4", 1.0),
]


def test_halt_all_cancels_every_resting_order() -> None:
    limits = RiskConfig(states=(StateRule(scope="all", state="HALTED"),))
    cancels = required_cancels(RESTING, {}, limits)
    assert [(c.client_order_id, c.reason) for c in cancels] == [
        ("k1", "all HALTED"),
        ("k2", "all HALTED"),
        ("k3", "all HALTED"),
        ("k4", "all HALTED"),
    ]


def test_halted_venue_cancels_only_its_orders() -> None:
    limits = RiskConfig(states=(StateRule(scope="venue", name="b", state="HALTED"),))
    assert [c.client_order_id for c in required_cancels(RESTING, {}, limits)] == ["k2", "k4"]


def test_reducing_instrument_cancels_orders_that_would_grow_it() -> None:
    limits = RiskConfig(states=(StateRule(scope="instrument", name=ETH, state="REDUCING"),))
    # long 3 ETH over venues: the sell reduces, the buy grows
    positions = {("a", ETH): 1.0, ("b", ETH): 2.0}
    cancels = required_cancels(RESTING, positions, limits)
    assert [(c.client_order_id, c.reason) for c in cancels] == [
        ("k4", f"instrument {ETH} REDUCING")
    ]


def test_active_cancels_nothing() -> None:
    assert required_cancels(RESTING, {}, RiskConfig()) == []
