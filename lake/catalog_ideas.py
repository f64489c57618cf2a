"""Ideas, portfolio and regime tables."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING

import polars as pl

from lake.tables import TableSpec, no_rules
from trading import frames

if TYPE_CHECKING:
    from lake.schemas import Rule

IDEAS: Mapping[str, pl.DataType] = {
    "name": pl.String(),
    "hypothesis": pl.String(),
    "source": pl.String(),
    "tags": pl.String(),  # comma-separated
    "links": pl.String(),  # space-separated
    "strategy": pl.String(),
    "created": frames.UTC_TS,
}

IDEA_TRANSITIONS: Mapping[str, pl.DataType] = {
    "idea": pl.String(),
    "seq": pl.Int64(),  # 0 for the move that added the idea
    "at": frames.UTC_TS,
    "from_stage": pl.String(),
    "to_stage": pl.String(),
    "reason": pl.String(),
    "evidence": pl.String(),  # JSON: research run, gate figures, paper period
    "capital": pl.Float64(),  # capital cap in paper and live; null otherwise
    "override": pl.Boolean(),
}

PORTFOLIO_WEIGHTS: Mapping[str, pl.DataType] = {
    "ts": frames.UTC_TS,  # a rebalance bar: weights hold from here to the next one
    "strategy": pl.String(),
    "weight": pl.Float64(),
    "method": pl.String(),
}

PORTFOLIO_EQUITY: Mapping[str, pl.DataType] = {
    "ts": frames.UTC_TS,
    "series": pl.String(),  # "portfolio" (netted) or "sum_of_parts"
    "net_return": pl.Float64(),
    "equity": pl.Float64(),
    "turnover": pl.Float64(),
    "regime": pl.String(),
}

REGIME_LABELS: Mapping[str, pl.DataType] = {
    "ts": frames.UTC_TS,
    "regime": pl.String(),
    "trend": pl.Float64(),
    "volatility": pl.Float64(),
}

REGIME_REPORT: Mapping[str, pl.DataType] = {
    "strategy": pl.String(),
    "regime": pl.String(),
    "bars": pl.Int64(),
    **{
        f"{stat}{suffix}": pl.Float64()
        for stat in ("annual_return", "excess_return", "sharpe")
        for suffix in ("", "_low", "_high")
    },
}


@cache
def ideas() -> TableSpec:
    """Every idea: hypothesis, source, tags, links and the strategy that tests it."""
    return TableSpec("ideas/ideas", IDEAS, ("name",), (), no_rules, frozenset({"created"}))


@cache
def idea_transitions() -> TableSpec:
    """Every move of every idea between stages, with its reason and evidence (the history;
    an idea's stage is its latest move's destination)."""
    return TableSpec(
        "ideas/transitions",
        IDEA_TRANSITIONS,
        ("idea", "seq"),
        (),
        _transition_rules,
        frozenset({"capital"}),
    )


def _transition_rules() -> list[Rule]:
    from lake.schemas import Rule
    from trading.ideas.stages import STAGES

    return [
        Rule("to_stage is a stage", pl.col("to_stage").is_in(list(STAGES))),
        Rule("seq >= 0", pl.col("seq") >= 0),
        Rule("capital > 0 when set", pl.col("capital").is_null() | (pl.col("capital") > 0)),
    ]


def _weight_rules() -> list[Rule]:
    from lake.schemas import Rule

    return [Rule("0 <= weight <= 1", pl.col("weight").is_between(0.0, 1.0))]


@cache
def portfolio_weights() -> TableSpec:
    """The portfolio's weights per strategy at each rebalance (estimated on past data only)."""
    return TableSpec("portfolio/weights", PORTFOLIO_WEIGHTS, ("ts", "strategy"), (), _weight_rules)


@cache
def portfolio_equity() -> TableSpec:
    """The portfolio's backtest, netted, beside the sum of its parts, with each bar's regime."""
    return TableSpec("portfolio/equity", PORTFOLIO_EQUITY, ("ts", "series"), (), no_rules)


@cache
def regime_labels() -> TableSpec:
    """The market regime of every bar, from BTC, without look-ahead."""
    return TableSpec(
        "regimes/labels", REGIME_LABELS, ("ts",), (), no_rules, frozenset({"trend", "volatility"})
    )


@cache
def regime_report() -> TableSpec:
    """Return, excess return over BTC and Sharpe of every strategy and the portfolio in every
    regime, with confidence intervals."""
    nullable = frozenset(c for c in REGIME_REPORT if c not in ("strategy", "regime", "bars"))
    return TableSpec(
        "regimes/report", REGIME_REPORT, ("strategy", "regime"), (), no_rules, nullable
    )
