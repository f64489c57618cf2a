"""The table catalog: every Delta table's name, key, partition columns and write-time rules.

Delta partitions are sized for delta-rs, not copied from Dagster's daily partitions: every
write and read pays per file in the table (measured: a MERGE of one day into 5 years of hourly
candles partitioned by venue and day took 3x as long as into 1 year, see docs/performance.md).
So tables of hourly or slower bars are partitioned by venue and month (a file holds a month of
a venue), minute bars by venue and day. The lake derives the ``month`` column on write.
Account tables are declared in ``catalog_account``, ideas/portfolio/regimes in ``catalog_ideas``;
all are reachable from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache

import polars as pl

from lake.catalog_account import ACCOUNT_BALANCES as ACCOUNT_BALANCES
from lake.catalog_account import ACCOUNT_EQUITY as ACCOUNT_EQUITY
from lake.catalog_account import ACCOUNT_POSITIONS as ACCOUNT_POSITIONS
from lake.catalog_account import account_balances as account_balances
from lake.catalog_account import account_equity as account_equity
from lake.catalog_account import account_fills as account_fills
from lake.catalog_account import account_orders as account_orders
from lake.catalog_account import account_positions as account_positions
from lake.catalog_ideas import IDEA_TRANSITIONS as IDEA_TRANSITIONS
from lake.catalog_ideas import IDEAS as IDEAS
from lake.catalog_ideas import PORTFOLIO_EQUITY as PORTFOLIO_EQUITY
from lake.catalog_ideas import PORTFOLIO_WEIGHTS as PORTFOLIO_WEIGHTS
from lake.catalog_ideas import REGIME_LABELS as REGIME_LABELS
from lake.catalog_ideas import REGIME_REPORT as REGIME_REPORT
from lake.catalog_ideas import idea_transitions as idea_transitions
from lake.catalog_ideas import ideas as ideas
from lake.catalog_ideas import portfolio_equity as portfolio_equity
from lake.catalog_ideas import portfolio_weights as portfolio_weights
from lake.catalog_ideas import regime_labels as regime_labels
from lake.catalog_ideas import regime_report as regime_report
from lake.tables import DERIVED_PARTITIONS as DERIVED_PARTITIONS
from lake.tables import TableSpec as TableSpec
from lake.tables import no_rules
from trading import frames
from trading.timeframes import timeframe_minutes


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
    "style": pl.String(),  # taker | maker | auto
    "execution_delay_bars": pl.Int64(),
    "cost_calibration": pl.Int64(),  # live/cost_calibration version priced with; null: config
    "cost_params": pl.String(),  # JSON: per venue, half spread and impact used, and source
    "execution_fill": pl.String(),  # close | open (null: written before the option existed)
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
            # annualized: mean per-bar (strategy − BTC) over bars judged in a bad regime
            # ([regimes], the regime report's definition), × bars per year
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

# The stored form of research trades (``research/trade_lists``): one row per strategy and
# instrument, its traded bars as lists. Same content as RESEARCH_TRADES (``lake.research_trades``
# converts), ~2.5x cheaper to write than one row per trade (31.8 M rows for a 200-strategy
# sweep of 2 years hourly), and no strategy/venue/symbol strings repeated per trade.
RESEARCH_TRADE_LISTS: Mapping[str, pl.DataType] = {
    "strategy": pl.String(),
    "venue": pl.String(),
    "symbol": pl.String(),
    "ts": pl.List(frames.UTC_TS),  # traded bars, ascending
    "trade": pl.List(pl.Float64()),  # change of position at each, fraction of equity
    "position": pl.List(pl.Float64()),  # position after each
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


@cache
def research_metrics() -> TableSpec:
    """One row per strategy and run (the history of results), with its window and everything
    needed to reproduce it."""
    return TableSpec(
        "research/metrics",
        RESEARCH_METRICS,
        ("strategy", "run_id"),
        (),
        no_rules,
        nullable=frozenset(RESEARCH_METRICS) - {"strategy", "run_id"},
        evolve_schema=True,  # lakes written before a column existed take it on write
    )


@cache
def research_walk_forward() -> TableSpec:
    """Per model, run and fold: the strategy chosen in sample and its out-of-sample result."""
    return TableSpec(
        "research/walk_forward", RESEARCH_WALK_FORWARD, ("model", "run_id", "fold"), (), no_rules
    )


@cache
def research_failures() -> TableSpec:
    """Strategies that failed in a run, with the reason."""
    return TableSpec("research/failures", RESEARCH_FAILURES, ("strategy", "run_id"), (), no_rules)


@cache
def research_equity() -> TableSpec:
    """Per-bar net return, equity and drawdown of each strategy's latest backtest (earlier
    runs keep their metrics in research/metrics)."""
    return TableSpec(
        "research/equity",
        RESEARCH_EQUITY,
        ("strategy", "ts"),
        ("strategy",),
        no_rules,
        evolve_schema=True,
    )


@cache
def research_trades() -> TableSpec:
    """Every position change of each strategy's latest backtest, one row per trade: the form
    written before ``research_trade_lists`` (read as a fallback for strategies absent there)."""
    return TableSpec(
        "research/trades",
        RESEARCH_TRADES,
        ("strategy", "venue", "symbol", "ts"),
        ("strategy",),
        no_rules,
    )


@cache
def research_trade_lists() -> TableSpec:
    """Every position change of each strategy's latest backtest, one row per strategy and
    instrument (read through ``lake.research_trades.read_trades``)."""
    return TableSpec(
        "research/trade_lists",
        RESEARCH_TRADE_LISTS,
        ("strategy", "venue", "symbol"),
        ("strategy",),
        no_rules,
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
