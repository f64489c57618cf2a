"""Strategies run on one feature tail share the view of their declared features and its venue
average (the decision step runs hundreds of them per bar). Sharing must never change a target:
each strategy's targets equal those computed on a frame of its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.models.registry import Strategy, registered_models

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SYMBOLS = ("BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT")


def _tail(values: list[float | None]) -> pl.DataFrame:
    rows = [
        (venue, symbol, T0 + timedelta(hours=h))
        for h in range(2)
        for venue in ("a", "b")
        for symbol in SYMBOLS
    ]
    n = len(rows)
    cycle = [values[i % len(values)] for i in range(2 * n)]
    return pl.DataFrame(
        {
            "venue": [r[0] for r in rows],
            "symbol": [r[1] for r in rows],
            "ts": [r[2] for r in rows],
            "ret_168": cycle[:n],
            "vol_168": [None if v is None else abs(v) + 0.01 for v in cycle[n:]],
            "zscore_48": cycle[n:],
        },
        schema_overrides={
            "ts": pl.Datetime("us", "UTC"),
            **dict.fromkeys(("ret_168", "vol_168", "zscore_48"), pl.Float64()),
        },
    )


def _strategies() -> list[Strategy]:
    models = registered_models()
    trend, reversion = models["trend"], models["mean_reversion"]
    out = [Strategy(trend, trend.params.model_validate({"scale": 0.1 * k})) for k in range(1, 6)]
    out += [
        Strategy(reversion, reversion.params.model_validate({"entry": 0.5 * k})) for k in (1, 2)
    ]
    return out


@settings(max_examples=30, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(-0.5, 0.5)), min_size=3, max_size=30))
def test_targets_on_a_shared_tail_equal_targets_on_a_frame_of_their_own(
    values: list[float | None],
) -> None:
    tail = _tail(values)
    for s in _strategies():
        shared = s.targets(tail).sort("symbol", "ts")
        alone = s.targets(tail.clone()).sort("symbol", "ts")  # another frame: computed afresh
        assert shared.equals(alone), s.name


def test_a_new_frame_with_other_values_is_never_served_a_shared_view() -> None:
    trend = _strategies()[0]
    first = trend.targets(_tail([0.2, 0.3, -0.1]))
    second = trend.targets(_tail([-0.2, -0.3, 0.1]))

    assert first.sort("symbol", "ts")["weight"].to_list() == [
        -w for w in second.sort("symbol", "ts")["weight"].to_list()
    ]
