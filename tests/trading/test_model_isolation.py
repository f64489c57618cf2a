"""A model's answer is checked before it reaches the engine, and a model declaring a feature
the registry lacks is found when definitions load."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest

from trading.models import registry
from trading.models.registry import Model, ModelError, Params, Strategy, model_problems

T0 = datetime(2024, 1, 1, tzinfo=UTC)
FEATURES = pl.DataFrame(
    {"venue": ["v", "v"], "symbol": ["A", "B"], "ts": [T0, T0], "ret_1": [0.1, -0.1], "x": [1, 2]}
)


def _strategy(fn: Any, features: tuple[str, ...] = ("ret_1",)) -> Strategy:
    return Strategy(Model("probe", Params, fn, features, per_venue=True), Params())


def test_a_model_sees_only_the_features_it_declares() -> None:
    seen: list[list[str]] = []

    def probe(frame: pl.DataFrame, p: Params) -> pl.DataFrame:
        seen.append(frame.columns)
        return frame.select("venue", "symbol", "ts", weight=pl.col("ret_1"))

    out = _strategy(probe).targets(FEATURES)

    assert seen == [["venue", "symbol", "ts", "ret_1"]]
    assert out["weight"].to_list() == [0.1, -0.1]


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (lambda f, p: None, "returned NoneType, not a polars DataFrame"),
        (lambda f, p: f.select("venue", "ts", weight=pl.lit(1.0)), r"without \['symbol'\]"),
        (lambda f, p: f.select("venue", "symbol", "ts", weight=pl.lit("x")), "weights of type"),
        (
            lambda f, p: pl.concat([f, f]).select("venue", "symbol", "ts", weight=pl.lit(1.0)),
            "two weights for one instrument and bar",
        ),
    ],
)
def test_a_malformed_answer_names_the_model_and_the_fix(fn: Any, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        _strategy(fn).targets(FEATURES)


def test_a_missing_feature_names_the_strategy() -> None:
    with pytest.raises(ModelError, match=r"'probe' needs features \['zscore_99'\]"):
        _strategy(lambda f, p: f, ("zscore_99",)).targets(FEATURES)


def test_models_declaring_unregistered_features_are_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    models = registry.registered_models()
    broken = Model("broken", Params, models["trend"].fn, ("zscore_99",))
    monkeypatch.setattr(registry, "registered_models", lambda: {**models, "broken": broken})

    problems = model_problems({"ret_168", "vol_168", "zscore_48", "xs_momentum_rank"})

    assert "broken" in problems
    assert "['zscore_99'] that are not registered" in problems["broken"]
    assert "trend" not in problems


def test_venue_neutral_targets_are_one_per_instrument_and_no_signal_takes_no_share() -> None:
    from trading.models.registry import venue_neutral

    features = pl.DataFrame(
        {
            "venue": ["a", "b", "a", "a"],
            "symbol": ["BTC/USDT", "BTC/USDT", "ETH/USDT", "SOL/USDT"],
            "ts": [T0] * 4,
            "s": [0.4, 0.8, -1.0, None],
        }
    )

    model = Strategy(
        Model("n", Params, lambda f, p: venue_neutral(f, pl.col("s")), ("s",)), Params()
    )
    out = model.targets(features)

    # BTC: the mean over its venues (0.6); SOL has no signal: no budget share, and it stays
    # null (no signal: whatever is held is kept), not 0 (go flat).
    got = {r["symbol"]: r["weight"] for r in out.iter_rows(named=True)}
    assert got == {"BTC/USDT": pytest.approx(0.3), "ETH/USDT": -0.5, "SOL/USDT": None}
    assert out["venue"].null_count() == 3


def test_a_cross_sectional_signal_ranks_instruments_not_venue_rows() -> None:
    from trading.models.registry import venue_neutral

    features = pl.DataFrame(
        {
            "venue": ["a", "b", "c", "a"],
            "symbol": ["BTC/USDT", "BTC/USDT", "BTC/USDT", "ETH/USDT"],
            "ts": [T0] * 4,
            "s": [1.0, 2.0, 3.0, 5.0],
        }
    )
    rank = pl.col("s").rank().over("ts")  # features averaged first: BTC 2.0, ETH 5.0

    out = venue_neutral(features, rank)

    assert out.select("symbol", "weight").rows() == [("BTC/USDT", 0.5), ("ETH/USDT", 1.0)]


def test_null_and_nan_weights_stay_null_and_the_rest_is_clipped() -> None:
    features = pl.DataFrame(
        {"venue": ["v"] * 3, "symbol": ["A", "B", "C"], "ts": [T0] * 3, "x": [None, 1.0, 2.0]}
    )
    weights = pl.Series([None, float("nan"), 3.0])

    out = _strategy(lambda f, p: f.select("venue", "symbol", "ts", weight=weights), ("x",)).targets(
        features
    )

    assert out["weight"].to_list() == [None, None, 1.0]


def test_pinned_legs_from_a_model_not_declaring_per_venue_are_refused() -> None:
    fn = lambda f, p: f.select("venue", "symbol", "ts", weight=pl.lit(0.1))  # noqa: E731
    with pytest.raises(ModelError, match=r"pinned to venues.*per_venue=True"):
        Strategy(Model("undeclared", Params, fn, ("ret_1",)), Params()).targets(FEATURES)


def test_a_per_venue_model_must_give_every_leg_its_venue() -> None:
    fn = lambda f, p: f.select("symbol", "ts", weight=pl.lit(0.1))  # noqa: E731
    with pytest.raises(ModelError, match="declares per_venue=True but returned 2 targets"):
        _strategy(fn).targets(FEATURES)


def test_pinned_legs_share_the_budget_equally_per_instrument() -> None:
    from trading.models.registry import pinned_legs

    features = pl.DataFrame(
        {
            "venue": ["a", "b", "a", "a"],
            "symbol": ["BTC/USDT", "BTC/USDT", "ETH/USDT", "SOL/USDT"],
            "ts": [T0] * 4,
            "s": [1.0, -1.0, 0.5, None],
        }
    )

    out = pinned_legs(features, pl.col("s"))

    # Two instruments have a signal (SOL none): each gets half, both BTC legs within it.
    assert out.select("venue", "symbol", "weight").rows() == [
        ("a", "BTC/USDT", 0.5),
        ("b", "BTC/USDT", -0.5),
        ("a", "ETH/USDT", 0.25),
        ("a", "SOL/USDT", None),
    ]
