"""Netting: opposite wishes cancel, no signal keeps what was held, attribution adds up, and the
result does not depend on the order of strategies or rows."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from trading.portfolio.netting import attribute_costs, net_targets

BTC, ETH, SOL = "BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"
SCHEMA = {"strategy": pl.String, "instrument": pl.String, "weight": pl.Float64}


def _targets(rows: list[tuple[str, str, float | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def test_opposite_wishes_net_out_and_no_signal_keeps_the_previous_holding() -> None:
    targets = _targets(
        [("a", BTC, 0.5), ("b", BTC, -1.0), ("a", ETH, None), ("b", ETH, 0.2), ("b", SOL, None)]
    )
    previous = pl.DataFrame({"strategy": ["a"], "instrument": [ETH], "notional_usd": [300.0]})
    out = net_targets(targets, {"a": 1000.0, "b": 500.0}, previous)
    assert out.net.rows() == [(BTC, 0.0), (ETH, 400.0)]  # SOL: nobody has a signal
    assert out.attribution.rows() == [
        ("a", BTC, 500.0, None),
        ("b", BTC, -500.0, None),
        ("a", ETH, 300.0, 0.75),
        ("b", ETH, 100.0, 0.25),
    ]


def test_no_signal_without_previous_contributes_nothing() -> None:
    out = net_targets(_targets([("a", BTC, None), ("b", BTC, 0.1)]), {"a": 1e3, "b": 1e3})
    assert out.net.rows() == [(BTC, 100.0)]


def test_zero_weight_is_a_target_of_zero() -> None:
    out = net_targets(_targets([("a", BTC, 0.0)]), {"a": 1e3})
    assert out.net.rows() == [(BTC, 0.0)]


@pytest.mark.parametrize(
    ("rows", "capital", "message"),
    [
        ([("x", BTC, 0.1)], {"a": 1.0}, "no capital for strategies"),
        ([("a", BTC, 1.5)], {"a": 1.0}, "outside"),
        ([("a", BTC, 0.1), ("a", BTC, 0.2)], {"a": 1.0}, "twice"),
        ([("a", BTC, 0.1)], {"a": -1.0}, "negative"),
    ],
)
def test_bad_targets_raise_naming_the_fix(
    rows: list[tuple[str, str, float | None]], capital: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        net_targets(_targets(rows), capital)


def test_costs_follow_each_strategys_change() -> None:
    attribution = pl.DataFrame(
        {"strategy": ["a", "b"], "instrument": [BTC, BTC], "notional_usd": [300.0, 100.0]}
    )
    previous = pl.DataFrame({"strategy": ["a"], "instrument": [BTC], "notional_usd": [0.0]})
    costs = pl.DataFrame({"instrument": [BTC], "cost_usd": [8.0]})
    out = attribute_costs(attribution, costs, previous)
    assert out.rows() == [("a", BTC, 6.0), ("b", BTC, 2.0)]


rows = st.lists(
    st.tuples(
        st.sampled_from(["s1", "s2", "s3", "s4"]),
        st.sampled_from([BTC, ETH, SOL]),
        st.one_of(st.none(), st.floats(-1.0, 1.0)),
    ),
    max_size=12,
    unique_by=lambda r: (r[0], r[1]),
)


@settings(max_examples=60, deadline=None)
@given(rows, st.randoms(use_true_random=False))
def test_netting_is_independent_of_strategy_order(
    data: list[tuple[str, str, float | None]], rnd: object
) -> None:
    capital = {"s1": 1e4, "s2": 2.5e3, "s3": 7e5, "s4": 1.0}
    shuffled = list(data)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    reversed_capital = dict(reversed(list(capital.items())))
    one = net_targets(_targets(data), capital)
    two = net_targets(_targets(shuffled), reversed_capital)
    assert_frame_equal(one.net, two.net)
    assert_frame_equal(one.attribution, two.attribution)
    totals = one.attribution.group_by("instrument").agg(pl.col("notional_usd").sum())
    joined = one.net.join(totals, on="instrument", suffix="_sum")
    assert (joined["notional_usd"] - joined["notional_usd_sum"]).abs().max() in (None, 0.0)
