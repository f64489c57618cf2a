"""The table catalog: every Delta table's name, key, partition columns and write-time rules.

Delta partitions are sized for delta-rs, not copied from Dagster's daily partitions: every
write and read pays per file in the table (measured: a MERGE of one day into 5 years of hourly
candles partitioned by venue and day took 3x as long as into 1 year, see docs/performance.md).
So tables of hourly or slower bars are partitioned by venue and month (a file holds a month of
a venue), minute bars by venue and day. The lake derives the ``month`` column on write.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

import polars as pl

from trading import frames
from trading.timeframes import timeframe_minutes

if TYPE_CHECKING:
    from pandera.polars import DataFrameSchema

    from lake.schemas import Rule

# Columns the lake derives from ``date`` when a table partitions by them.
DERIVED_PARTITIONS: Mapping[str, pl.Expr] = {"month": pl.col("date").dt.truncate("1mo")}


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A Delta table: where it lives under the lake root and what a valid row is."""

    name: str  # path under the lake root, e.g. "market/candles_1h"
    layout: Mapping[str, pl.DataType]
    key: tuple[str, ...]
    partition_by: tuple[str, ...]
    rules_factory: Callable[[], Sequence[Rule]] = field(repr=False, compare=False)
    nullable: frozenset[str] = frozenset()
    evolve_schema: bool = False  # new columns (e.g. a new feature) are added on write

    def rules(self) -> Sequence[Rule]:
        """The row rules, built fresh (some read the clock)."""
        return self.rules_factory()

    def schema(self) -> DataFrameSchema:
        """The equivalent pandera schema, for failure reports and documentation."""
        from lake.schemas import pandera_schema

        return pandera_schema(self.name, self.layout, self.rules(), self.key, self.nullable)

    def derived_columns(self) -> list[pl.Expr]:
        """Partition columns the lake adds on write (not part of the layout)."""
        return [DERIVED_PARTITIONS[c].alias(c) for c in self.partition_by if c not in self.layout]


@cache
def candles(timeframe: str) -> TableSpec:
    """Candles of one timeframe, all venues and instruments."""
    from lake import schemas

    minutes = timeframe_minutes(timeframe)
    return TableSpec(
        name=f"market/candles_{timeframe}",
        layout=frames.CANDLES,
        key=frames.CANDLES_KEY,
        partition_by=("venue", "date") if minutes < 60 else ("venue", "month"),
        rules_factory=lambda: schemas.candles_rules(timeframe, minutes),
    )


@cache
def funding_rates() -> TableSpec:
    """Funding settlements of perpetual swaps (three a day), partitioned by venue and month."""
    from lake import schemas

    return TableSpec(
        name="market/funding_rates",
        layout=frames.FUNDING_RATES,
        key=frames.FUNDING_RATES_KEY,
        partition_by=("venue", "month"),
        rules_factory=schemas.funding_rates_rules,
        nullable=frozenset({"mark_price"}),
    )


@cache
def instruments() -> TableSpec:
    """Every configured market of every venue: precision, limits, contract size, fees."""
    from lake import schemas

    return TableSpec(
        name="market/instruments",
        layout=frames.INSTRUMENTS,
        key=frames.INSTRUMENTS_KEY,
        partition_by=("venue",),
        rules_factory=schemas.instruments_rules,
    )


def features(timeframe: str, names: Sequence[str]) -> TableSpec:
    """The feature table of one timeframe: one column per registered feature (nullable during
    warm-up), new features added as new columns."""
    from lake import schemas

    layout: dict[str, pl.DataType] = {
        "venue": pl.String(),
        "symbol": pl.String(),
        "ts": frames.UTC_TS,
        "date": pl.Date(),
        **{name: pl.Float64() for name in names},
    }
    return TableSpec(
        name=f"features/features_{timeframe}",
        layout=layout,
        key=("venue", "symbol", "ts"),
        partition_by=("venue", "month"),
        rules_factory=lambda: schemas.feature_rules(names),
        nullable=frozenset(names),
        evolve_schema=True,
    )


RESEARCH_METRICS: Mapping[str, pl.DataType] = {
    "strategy": pl.String(),
    "model": pl.String(),
    "params": pl.String(),  # JSON
    "params_hash": pl.String(),
    "code_version": pl.String(),  # hash of the model file
    "features_version": pl.Int64(),  # Delta version of the feature table read
    "window_start": frames.UTC_TS,
    "window_end": frames.UTC_TS,
    "run_id": pl.String(),
    "recorded_at": frames.UTC_TS,  # when the run wrote the result (history: one row per run)
    "oos_start": frames.UTC_TS,  # first out-of-sample bar (walk-forward), window_end if none
    "capital": pl.Float64(),  # account currency
    "style": pl.String(),  # taker | maker
    "execution_delay_bars": pl.Int64(),
    **{
        m: pl.Float64()
        for m in (
            "total_return",
            "annual_return",
            "volatility",
            "sharpe",
            "sharpe_ci_low",
            "sharpe_ci_high",
            "deflated_sharpe",  # probability the Sharpe beats the best of `trials` by luck
            "trials",
            "oos_sharpe",  # over the walk-forward out-of-sample bars only
            "oos_total_return",
            "skew",
            "kurtosis",
            "bars",
            "sortino",
            "max_drawdown",
            "turnover",
            "hit_rate",
            "exposure",
            "alpha",
            "beta",
            "fees",
            "slippage",
            "funding",
            "borrow",
            "costs_bps",
            # annualized: mean per-bar (strategy − BTC) over bars where BTC's trailing return
            # is negative, × bars per year
            "excess_return_bad_regimes",
        )
    },
}

RESEARCH_EQUITY: Mapping[str, pl.DataType] = {
    "strategy": pl.String(),
    "ts": frames.UTC_TS,
    "net_return": pl.Float64(),
    "equity": pl.Float64(),
    "drawdown": pl.Float64(),
    "gross_exposure": pl.Float64(),
}

RESEARCH_TRADES: Mapping[str, pl.DataType] = {
    "strategy": pl.String(),
    "venue": pl.String(),
    "symbol": pl.String(),
    "ts": frames.UTC_TS,
    "trade": pl.Float64(),  # change of position, fraction of equity
    "position": pl.Float64(),
}


RESEARCH_WALK_FORWARD: Mapping[str, pl.DataType] = {
    "model": pl.String(),
    "run_id": pl.String(),
    "fold": pl.Int64(),
    "in_start": frames.UTC_TS,
    "out_start": frames.UTC_TS,
    "out_end": frames.UTC_TS,
    "chosen": pl.String(),  # the strategy with the best in-sample Sharpe
    "in_sample_sharpe": pl.Float64(),  # annualized
    "out_of_sample_return": pl.Float64(),  # compounded over the fold's out-of-sample bars
}

RESEARCH_FAILURES: Mapping[str, pl.DataType] = {
    "strategy": pl.String(),
    "run_id": pl.String(),
    "recorded_at": frames.UTC_TS,
    "reason": pl.String(),
}


def _no_rules() -> list[Rule]:
    return []


@cache
def research_metrics() -> TableSpec:
    """One row per strategy and run (the history of results), with its window and everything
    needed to reproduce it."""
    return TableSpec(
        "research/metrics",
        RESEARCH_METRICS,
        ("strategy", "run_id"),
        (),
        _no_rules,
        nullable=frozenset(RESEARCH_METRICS) - {"strategy", "run_id"},
        evolve_schema=True,  # lakes written before a column existed take it on write
    )


@cache
def research_walk_forward() -> TableSpec:
    """Per model, run and fold: the strategy chosen in sample and its out-of-sample result."""
    return TableSpec(
        "research/walk_forward", RESEARCH_WALK_FORWARD, ("model", "run_id", "fold"), (), _no_rules
    )


@cache
def research_failures() -> TableSpec:
    """Strategies that failed in a run, with the reason."""
    return TableSpec("research/failures", RESEARCH_FAILURES, ("strategy", "run_id"), (), _no_rules)


@cache
def research_equity() -> TableSpec:
    """Per-bar net return, equity and drawdown of each strategy's latest backtest (earlier
    runs keep their metrics in research/metrics)."""
    return TableSpec(
        "research/equity",
        RESEARCH_EQUITY,
        ("strategy", "ts"),
        ("strategy",),
        _no_rules,
        evolve_schema=True,
    )


@cache
def research_trades() -> TableSpec:
    """Every position change of each strategy's latest backtest."""
    return TableSpec(
        "research/trades",
        RESEARCH_TRADES,
        ("strategy", "venue", "symbol", "ts"),
        ("strategy",),
        _no_rules,
    )


@cache
def execution_rewards_daily() -> TableSpec:
    """Per venue and day: volume, fees, rebates, points, 30-day volume against the next fee
    tier; the ``all`` row holds what routing saved against the single cheapest venue."""
    from lake import schemas
    from trading.execution.report import NULLABLE, REWARDS_DAILY

    return TableSpec(
        "execution/rewards_daily",
        REWARDS_DAILY,
        ("venue", "date"),
        (),
        schemas.rewards_rules,
        nullable=NULLABLE,
    )


# ---------------------------------------------------------------------------- account tables

ACCOUNT_BALANCES: Mapping[str, pl.DataType] = {**frames.BALANCES, "synced_at": frames.UTC_TS}
ACCOUNT_POSITIONS: Mapping[str, pl.DataType] = {**frames.POSITIONS, "synced_at": frames.UTC_TS}
ACCOUNT_EQUITY: Mapping[str, pl.DataType] = {
    "venue": pl.String(),
    "ts": frames.UTC_TS,
    "currency": pl.String(),
    "equity": pl.Float64(),  # balances net of debt at their marks + unrealized P&L
    "debt": pl.Float64(),
    "gross_exposure": pl.Float64(),
    "net_exposure": pl.Float64(),
    "unpriced": pl.Int64(),  # assets left out for want of a price
}


@cache
def account_balances() -> TableSpec:
    """Each venue's balances as of its last sync (rows of assets gone since are deleted)."""
    from lake import account_rules

    return TableSpec(
        "account/balances",
        ACCOUNT_BALANCES,
        ("venue", "asset"),
        ("venue",),
        account_rules.balances_rules,
    )


@cache
def account_positions() -> TableSpec:
    """Each venue's open derivative positions as of its last sync, sizes in base units."""
    from lake import account_rules

    return TableSpec(
        "account/positions",
        ACCOUNT_POSITIONS,
        ("venue", "symbol"),
        ("venue",),
        account_rules.positions_rules,
        nullable=frozenset({"mark_price"}),
    )


@cache
def account_orders() -> TableSpec:
    """Each venue's open orders as of its last sync."""
    from lake import account_rules

    return TableSpec(
        "account/orders",
        frames.ORDERS,
        ("venue", "order_id"),
        ("venue",),
        account_rules.orders_rules,
        nullable=frozenset({"price", "client_order_id"}),
    )


@cache
def account_fills() -> TableSpec:
    """Every own fill of every venue, keyed by venue and fill id: re-syncing is idempotent."""
    from lake import account_rules

    return TableSpec(
        "account/fills",
        frames.FILLS,
        ("venue", "fill_id"),
        ("venue",),
        account_rules.fills_rules,
        nullable=frozenset({"order_id", "client_order_id", "fee", "fee_asset", "liquidity"}),
    )


@cache
def account_equity() -> TableSpec:
    """Equity snapshots per venue (the equity curve), one per ledger build."""
    from lake import account_rules

    return TableSpec(
        "account/equity",
        ACCOUNT_EQUITY,
        ("venue", "ts"),
        ("venue",),
        account_rules.equity_rules,
    )


# ---------------------------------------------------------------- ideas, portfolio, regimes

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
    return TableSpec("ideas/ideas", IDEAS, ("name",), (), _no_rules, frozenset({"created"}))


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
    return TableSpec("portfolio/equity", PORTFOLIO_EQUITY, ("ts", "series"), (), _no_rules)


@cache
def regime_labels() -> TableSpec:
    """The market regime of every bar, from BTC, without look-ahead."""
    return TableSpec(
        "regimes/labels", REGIME_LABELS, ("ts",), (), _no_rules, frozenset({"trend", "volatility"})
    )


@cache
def regime_report() -> TableSpec:
    """Return, excess return over BTC and Sharpe of every strategy and the portfolio in every
    regime, with confidence intervals."""
    nullable = frozenset(c for c in REGIME_REPORT if c not in ("strategy", "regime", "bars"))
    return TableSpec(
        "regimes/report", REGIME_REPORT, ("strategy", "regime"), (), _no_rules, nullable
    )
