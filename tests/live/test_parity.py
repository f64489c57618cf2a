"""Parity: a decision equals research only with the same weight, and "no signal" (null) is a
different decision from "go flat" (0)."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from trading.live.parity import differences

BAR = datetime(2024, 3, 1, 5, tzinfo=UTC)
SCHEMA: dict[str, pl.DataType] = {
    "strategy": pl.String(),
    "bar": pl.Datetime("us", "UTC"),
    "venue": pl.String(),
    "symbol": pl.String(),
    "weight": pl.Float64(),
}


def _frame(rows: list[tuple[str | None, str, float | None]]) -> pl.DataFrame:
    return pl.DataFrame([("s", BAR, *r) for r in rows], schema=SCHEMA, orient="row")


def test_equal_decisions_with_null_venues_and_null_weights_pass() -> None:
    rows: list[tuple[str | None, str, float | None]] = [
        (None, "BTC", 0.25), (None, "ETH", None), ("a", "SOL", -0.5),
    ]  # fmt: skip
    assert differences(_frame(rows), _frame(rows)).is_empty()


def test_null_against_zero_is_a_difference_both_ways() -> None:
    live = _frame([(None, "BTC", None), (None, "ETH", 0.0)])
    research = _frame([(None, "BTC", 0.0), (None, "ETH", None)])

    out = differences(live, research)

    assert out.select("symbol", "live", "research").rows() == [
        ("BTC", None, 0.0),
        ("ETH", 0.0, None),
    ]


def test_a_decision_research_lacks_or_a_weight_apart_is_a_difference() -> None:
    live = _frame([(None, "BTC", 0.25), (None, "ETH", 0.1), ("a", "BTC", 0.1)])
    research = _frame([(None, "BTC", 0.25 + 1e-9), (None, "ETH", 0.1)])

    out = differences(live, research)

    assert out.select("venue", "symbol").rows() == [(None, "BTC"), ("a", "BTC")]
