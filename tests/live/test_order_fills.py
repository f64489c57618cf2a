"""Fills per order: a parent filled in pieces is one order at its VWAP and full size, for the
shortfall and the calibration alike (one helper), and splitting a fill changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.costs import VenueCosts
from trading.live.calibration import observations
from trading.live.order_fills import per_order
from trading.live.shortfall import shortfall

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def _fills(rows: list[tuple[str, float, float, float, str]], origin: str = "keel") -> pl.DataFrame:
    """(client order id, amount, price, fee, liquidity) fills of buys on sim_a BTC/USDT."""
    return pl.DataFrame(
        {
            "run_id": ["r1"] * len(rows),
            "account": ["live"] * len(rows),
            "venue": ["sim_a"] * len(rows),
            "symbol": ["BTC/USDT"] * len(rows),
            "client_order_id": [r[0] for r in rows],
            "side": ["buy"] * len(rows),
            "amount": [r[1] for r in rows],
            "price": [r[2] for r in rows],
            "fee": [r[3] for r in rows],
            "liquidity": [r[4] for r in rows],
            "ts": [T0 + timedelta(seconds=i) for i in range(len(rows))],
            "origin": [origin] * len(rows),
        }
    )


ORDERS = pl.DataFrame(
    {
        "run_id": ["r1", "r1"],
        "account": ["live", "live"],
        "venue": ["sim_a", "sim_a"],
        "client_order_id": ["k1", "k2"],
        "price": [100.0, 200.0],
    }
)


def test_an_order_filled_in_pieces_is_one_order_at_its_vwap() -> None:
    fills = _fills(
        [
            ("k1", 1.0, 100.0, 0.05, "taker"),
            ("k1", 3.0, 100.4, 0.15, "taker"),
            ("k2", 2.0, 201.0, 0.2, "taker"),
            ("k2", 2.0, 199.0, 0.0, "maker"),
        ]
    )
    got = per_order(fills, ORDERS)
    assert got["client_order_id"].to_list() == ["k1", "k2"]
    k1 = got.row(0, named=True)
    assert k1["fills"] == 2
    assert k1["amount"] == 4.0
    assert k1["price"] == pytest.approx((100.0 + 3 * 100.4) / 4)
    assert k1["notional"] == pytest.approx(401.2)
    assert k1["fee"] == pytest.approx(0.2)
    assert (k1["decision"], k1["style"], k1["ts"]) == (100.0, "taker", T0)
    assert got["style"][1] == "mixed"  # taker and maker fills: left out of the fit

    obs = observations(got.with_columns(adv=pl.lit(1e6), daily_vol=pl.lit(0.02)))
    assert obs.height == 2  # one observation per order, not per fill
    assert obs["slippage_bps"][0] == pytest.approx((401.2 / 4 - 100.0) / 100.0 * 1e4)
    assert obs["impact_x"][0] == pytest.approx(0.02 * (401.2 / 1e6) ** 0.5)  # full size


def test_fills_not_by_keel_or_without_a_decision_price_are_left_out() -> None:
    fills = pl.concat(
        [
            _fills([("k1", 1.0, 100.0, 0.0, "taker")], origin="adopted"),
            _fills([("k9", 1.0, 100.0, 0.0, "taker"), ("k2", 0.0, 200.0, 0.0, "taker")]),
        ]
    )
    assert per_order(fills, ORDERS).is_empty()


@settings(max_examples=40, deadline=None)
@given(
    pieces=st.lists(
        st.tuples(st.floats(0.01, 10.0), st.floats(90.0, 110.0)), min_size=1, max_size=8
    )
)
def test_splitting_an_order_into_fills_keeps_its_size_and_average_price(
    pieces: list[tuple[float, float]],
) -> None:
    split = _fills([("k1", a, p, a * p * 5e-4, "taker") for a, p in pieces])
    amount = sum(a for a, _ in pieces)
    vwap = sum(a * p for a, p in pieces) / amount
    whole = _fills([("k1", amount, vwap, amount * vwap * 5e-4, "taker")])
    a, b = per_order(split, ORDERS), per_order(whole, ORDERS)
    for c in ("amount", "price", "fee", "notional"):
        assert a[c][0] == pytest.approx(b[c][0], rel=1e-9)
    assert a["fills"][0] == len(pieces)


def test_the_shortfall_of_an_order_is_its_slippage_plus_its_fee() -> None:
    fills = _fills([("k1", 1.0, 100.0, 0.05, "taker"), ("k1", 3.0, 100.4, 0.15, "taker")])
    filled = per_order(fills, ORDERS).with_columns(adv=pl.lit(1e6), daily_vol=pl.lit(0.02))
    net = pl.DataFrame(
        {
            "run_id": ["r1", "r1"],
            "account": ["live", "live"],
            "symbol": ["BTC/USDT", "BTC/USDT"],
            "strategy": ["a", "b"],
            "contribution": [0.3, -0.1],
        }
    )
    costs = {"sim_a": VenueCosts(0.0002, 0.0005, half_spread_bps=1.0, impact_k=0.5)}
    rows = shortfall(filled, costs, net).sort("strategy")
    slip = observations(filled)["slippage_bps"][0]
    fee_bps = 0.2 / 401.2 * 1e4
    assert rows["realized_bps"].to_list() == pytest.approx([slip + fee_bps] * 2)
    # the model prices the whole order: 5 bps fee + 1 bps spread + 0.5 · σ · sqrt(N / ADV)
    model = (0.0005 + 1e-4 + 0.5 * 0.02 * (401.2 / 1e6) ** 0.5) * 1e4
    assert rows["model_bps"].to_list() == pytest.approx([model] * 2)
    assert rows["notional"].to_list() == pytest.approx([401.2 * 0.75, 401.2 * 0.25])
    assert rows["fills"].to_list() == [2, 2]
