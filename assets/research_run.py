"""One research run: load features and market from the lake, backtest the chosen strategies in
batches, score them honestly (Sharpe interval, deflated Sharpe, walk-forward out-of-sample),
write results as history, and build each strategy's report. No Dagster here: the asset wraps
it, so the benchmark runs the same code path."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from assets.live_costs import CostSource
from lake import catalog
from lake.research_trades import trade_lists
from lake.store import Lake
from trading.backtest.engine import Market, Result
from trading.config import KeelConfig

# Strategies backtested, then written, at a time: each strategy's per-bar equity and trades are
# written with its chunk and dropped, so memory holds one chunk's frames (and reports), not the
# whole sweep's (224 strategies x 120 days of hourly bars held 3.4 GB until a single write).
CHUNK_STRATEGIES = 32


@dataclass
class RunOutcome:
    """What a research run produced: metric rows, failures, walk-forward picks, reports."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    walk_forward: list[dict[str, Any]] = field(default_factory=list)
    reports: dict[str, tuple[str, Path]] = field(default_factory=dict)  # markdown, html path
    features_version: int = 0
    window: tuple[datetime, datetime] | None = None


def load_market(
    lake: Lake, config: KeelConfig, costs: CostSource | None = None
) -> tuple[pl.DataFrame, int, Market]:
    """The feature table (at its current version) and the market over its window, priced
    with ``costs`` (default: ``research_costs``, calibrated from fills when present)."""
    from assets.live_costs import research_costs
    from trading.backtest.setup import research_market
    from trading.features.registry import registered_features
    from trading.timeframes import timeframe_minutes

    timeframe = config.data.research_timeframe
    spec = catalog.features(timeframe, list(registered_features()))
    version = lake.version(spec)
    if version is None:
        raise RuntimeError(
            f"{spec.name} does not exist yet; materialize the features asset (e.g. make demo) "
            "before research"
        )
    features = lake.scan(spec, version=version).collect().sort("venue", "symbol", "ts")
    start, end = features["ts"].min(), features["ts"].max()
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        raise RuntimeError(f"{spec.name} is empty; materialize features first")
    candles = (
        lake.scan(catalog.candles(timeframe))
        .filter(pl.col("ts") >= start, pl.col("ts") <= end)
        .collect()
    )
    funding = (
        lake.scan(catalog.funding_rates())
        .filter(pl.col("ts") > start, pl.col("ts") <= end + timedelta(hours=24))
        .collect()
    )
    instruments = lake.scan(catalog.instruments()).collect()
    costs = costs if costs is not None else research_costs(lake, config)
    market = research_market(
        config, candles, funding, instruments, timeframe_minutes(timeframe), costs.calibrated
    )
    return features, version, market


def run_research(
    lake: Lake,
    config: KeelConfig,
    names: Sequence[str],
    run_id: str,
    reports: Path | None,
    problems: dict[str, str] | None = None,
) -> RunOutcome:
    """Backtest ``names`` and write their results; a strategy that fails is recorded with its
    reason and the others complete."""
    from assets.live_costs import research_costs
    from trading.backtest.batch import StrategyError, backtest_many
    from trading.backtest.markets import aligned_weights, plan_targets, row_index
    from trading.backtest.metrics import metrics
    from trading.backtest.report import build_report
    from trading.backtest.setup import bad_regimes, benchmark, settings
    from trading.backtest.stats import deflated_sharpe
    from trading.backtest.walkforward import folds, out_of_sample
    from trading.models.registry import ModelError, strategy

    costs = research_costs(lake, config)
    cost_params = costs.params(config)
    features, version, market = load_market(lake, config, costs)
    r = config.research
    trade = settings(config)
    bench = benchmark(market, config)
    regime = bad_regimes(market, config).astype(np.float64)
    chosen_folds = folds(
        market.ts, r.walk_forward.in_sample_days, r.walk_forward.out_of_sample_days
    )
    oos = out_of_sample(len(market.ts), chosen_folds)
    ts_utc = pl.Series(market.ts).dt.replace_time_zone("UTC").dt.cast_time_unit("us")
    oos_start = ts_utc[int(np.argmax(oos))] if oos.any() else ts_utc[-1]
    problems = problems or {}
    out = RunOutcome(features_version=version, window=(ts_utc[0], ts_utc[-1]))
    strategies = []
    for name in dict.fromkeys(names):  # each strategy once: result keys unique by construction
        try:
            strategies.append(strategy(name))
        except KeyError as exc:
            out.failures[name] = str(exc)
    now = datetime.now(tz=UTC)

    index = row_index(market, features)

    def weights_of(s: Any) -> Any:
        def build() -> Any:
            if s.model.name in problems:
                raise ModelError(problems[s.model.name])
            targets = s.targets(features)
            if targets["venue"].null_count() == 0:  # venue-pinned rows, aligned: a scatter
                return aligned_weights(market, index, features, targets)
            return plan_targets(market, targets)  # venue-neutral: one exposure per instrument

        return build

    def reduce(
        i: int, result: Result
    ) -> tuple[dict[str, Any], np.ndarray, tuple[pl.DataFrame, pl.DataFrame], Any]:
        s = strategies[i]
        m = metrics(result, bench, market.bars_per_year, regime)
        held_out = result.net[oos]
        spread = float(np.std(held_out, ddof=1)) if held_out.size > 1 else 0.0
        row = {
            "strategy": s.name,
            "model": s.model.name,
            "params": json.dumps(s.params.model_dump(), sort_keys=True),
            "params_hash": s.params_hash(),
            "code_version": s.model.code_version(),
            "features_version": version,
            "window_start": ts_utc[0],
            "window_end": ts_utc[-1],
            "run_id": run_id,
            "recorded_at": now,
            "oos_start": oos_start,
            "capital": trade.capital,
            "style": trade.style,
            "execution_delay_bars": trade.delay,
            "cost_calibration": costs.version,
            "cost_params": cost_params,
            "execution_fill": trade.fill,
            "oos_sharpe": float(held_out.mean()) / spread * math.sqrt(market.bars_per_year)
            if spread > 0
            else 0.0,
            "oos_total_return": float(np.prod(1.0 + held_out) - 1.0) if held_out.size else 0.0,
            **m,
        }
        report = None
        if reports is not None:
            meta = {
                "run_id": run_id,
                "features_version": version,
                "capital": trade.capital,
                "account": r.account_currency,
                "style": trade.style,
                "delay": trade.delay,
                "fill": trade.fill,
            }
            report = build_report(s.name, market, result, row, bench, meta)
        return row, result.net.copy(), _frames(s.name, run_id, market, result, ts_utc), report

    nets: dict[str, np.ndarray] = {}
    for lo in range(0, len(strategies), CHUNK_STRATEGIES):
        chunk = strategies[lo : lo + CHUNK_STRATEGIES]

        def reduce_chunk(i: int, result: Result, lo: int = lo) -> Any:
            return reduce(lo + i, result)

        outcomes = backtest_many(market, [weights_of(s) for s in chunk], reduce_chunk, trade)
        equity_frames: list[pl.DataFrame] = []
        trade_frames: list[pl.DataFrame] = []
        for s, outcome in zip(chunk, outcomes, strict=True):
            if isinstance(outcome, StrategyError):
                out.failures[s.name] = outcome.reason
                continue
            row, net, (equity, trades), report = outcome
            out.rows.append(row)
            nets[s.name] = net
            equity_frames.append(equity)
            trade_frames.append(trades)
            if report is not None and reports is not None:
                folder = reports / run_id
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / f"{s.name}.html"
                path.write_text(report.html)
                out.reports[s.name] = (report.markdown, path)
        del outcomes
        _write_curves(lake, equity_frames, trade_frames)
    # Deflate every Sharpe for the number of strategies tried in this run.
    per_bar = [row["sharpe"] / math.sqrt(market.bars_per_year) for row in out.rows]
    variance = float(np.var(per_bar, ddof=1)) if len(per_bar) > 1 else 0.0
    for row, sr in zip(out.rows, per_bar, strict=True):
        row["trials"] = float(len(out.rows))
        row["deflated_sharpe"] = deflated_sharpe(
            sr, int(row["bars"]), row["skew"], row["kurtosis"], len(out.rows), variance
        )
    out.walk_forward = _walk_forward(strategies, nets, chosen_folds, ts_utc, run_id, market)
    _write(lake, out, run_id, now)
    return out


def _frames(
    key: str, run_id: str, market: Market, result: Result, ts: pl.Series
) -> tuple[pl.DataFrame, pl.DataFrame]:
    peak = np.maximum.accumulate(np.maximum(result.equity, 1.0))
    equity = pl.DataFrame(
        {
            "strategy": key,
            "ts": ts,
            "net_return": result.net,
            "equity": result.equity,
            "drawdown": result.equity / peak - 1.0,
            "gross_exposure": result.exposure,
        }
    )
    # One row per instrument with its traded bars as lists (the stored form, see
    # lake.research_trades): typed, so a strategy that never trades still stacks.
    trades = trade_lists(key, market.instruments, ts, result.trades, result.positions)
    return equity, trades


def _walk_forward(
    strategies: Sequence[Any],
    nets: dict[str, np.ndarray],
    chosen_folds: Sequence[Any],
    ts: pl.Series,
    run_id: str,
    market: Market,
) -> list[dict[str, Any]]:
    from trading.backtest.walkforward import walk_forward

    by_model: dict[str, list[str]] = {}
    for s in strategies:
        if s.name in nets:
            by_model.setdefault(s.model.name, []).append(s.name)
    rows: list[dict[str, Any]] = []
    for model, names in sorted(by_model.items()):
        matrix = np.stack([nets[n] for n in names], axis=1)
        picks, _ = walk_forward(matrix, list(chosen_folds))
        for fold, pick in zip(chosen_folds, picks, strict=True):
            ins = matrix[fold.in_start : fold.in_end, pick]
            std = float(np.std(ins, ddof=1)) if ins.size > 1 else 0.0
            held = matrix[fold.out_start : fold.out_end, pick]
            rows.append(
                {
                    "model": model,
                    "run_id": run_id,
                    "fold": fold.index,
                    "in_start": ts[fold.in_start],
                    "out_start": ts[fold.out_start],
                    "out_end": ts[fold.out_end - 1],
                    "chosen": names[pick],
                    "in_sample_sharpe": float(ins.mean()) / std * math.sqrt(market.bars_per_year)
                    if std > 0
                    else 0.0,
                    "out_of_sample_return": float(np.prod(1.0 + held) - 1.0),
                }
            )
    return rows


def _write_curves(
    lake: Lake, equity_frames: list[pl.DataFrame], trade_frames: list[pl.DataFrame]
) -> None:
    """One chunk's per-bar equity and trades, replacing those strategies' earlier ones. One row
    per strategy and bar, one per strategy and instrument (``_frames``, strategies
    deduplicated): unique by construction, so no key scan over millions of rows."""
    if equity_frames:
        equity, trades = pl.concat(equity_frames), pl.concat(trade_frames)
        lake.replace(catalog.research_equity(), equity, "strategy", keys_unique=True)
        lake.replace(catalog.research_trade_lists(), trades, "strategy", keys_unique=True)


def _write(lake: Lake, out: RunOutcome, run_id: str, now: datetime) -> None:
    if out.rows:
        spec = catalog.research_metrics()
        lake.upsert(spec, pl.DataFrame(out.rows, schema=dict(spec.layout)))
    if out.walk_forward:
        spec = catalog.research_walk_forward()
        lake.upsert(spec, pl.DataFrame(out.walk_forward, schema=dict(spec.layout)))
    if out.failures:
        spec = catalog.research_failures()
        failed = [
            {"strategy": k, "run_id": run_id, "recorded_at": now, "reason": v}
            for k, v in sorted(out.failures.items())
        ]
        lake.upsert(spec, pl.DataFrame(failed, schema=dict(spec.layout)))


def leaderboard_frame(lake: Lake, names: Sequence[str]) -> pl.DataFrame:
    """The latest result of every named strategy, best out-of-sample Sharpe first (then the
    full-window Sharpe)."""
    return (
        lake.scan(catalog.research_metrics())
        .filter(pl.col("strategy").is_in(list(names)))
        .sort("recorded_at", nulls_last=False)
        .group_by("strategy")
        .last()
        .sort(["oos_sharpe", "sharpe"], descending=True, nulls_last=True)
        .collect()
    )
