"""Research: every registered strategy backtested on the feature table, as versioned results.

The research asset is partitioned by strategy (static partitions from the model registry), so
the graph stays one node however many models exist, each strategy has its own materialization
history, and re-running all of them after a feature change is one backfill of all partitions,
executed as a single run that loads features and prices once. Each result records the model,
its parameter hash, the model file's code version, the feature table's Delta version and the
window, so it can be reproduced with time travel.
"""

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from dagster import (
    AllPartitionMapping,
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetObservation,
    AssetsDefinition,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    StaticPartitionsDefinition,
    asset,
)

from assets.features import features_key
from orchestration.paths import reports_dir
from orchestration.resources import KeelResource
from trading.config import KeelConfig

RESEARCH_GROUP = "research"
BACKTESTS = AssetKey([RESEARCH_GROUP, "backtests"])
LEADERBOARD = AssetKey([RESEARCH_GROUP, "leaderboard"])
CAPITAL = 100_000.0
IMPACT = 0.1
BAD_REGIME_BARS = 720


def strategy_partitions() -> StaticPartitionsDefinition:
    """One partition per registered strategy (model × parameter point)."""
    from trading.models.registry import strategy_names

    return StaticPartitionsDefinition(list(strategy_names()))


def research_assets(config: KeelConfig) -> list[AssetsDefinition]:
    """The backtests asset and the leaderboard that ranks them."""
    timeframe = config.data.research_timeframe
    fees = {v.name: float(getattr(v, "taker_fee", None) or 0.0005) for v in config.venues}

    @asset(
        key=BACKTESTS,
        group_name=RESEARCH_GROUP,
        deps=[AssetDep(features_key(config), partition_mapping=AllPartitionMapping())],
        partitions_def=strategy_partitions(),
        backfill_policy=BackfillPolicy.single_run(),
        pool="lake_research",
        kinds={"polars", "numpy", "deltalake"},
        description="Backtest of each strategy on the feature table: metrics, equity and trades "
        "in research/metrics, research/equity, research/trades.",
    )
    def backtests(context: AssetExecutionContext, keel: KeelResource) -> MaterializeResult[None]:
        from lake import catalog
        from trading.backtest.batch import backtest_many
        from trading.backtest.engine import market_from_frames, weights_matrix
        from trading.backtest.metrics import metrics
        from trading.features.registry import registered_features
        from trading.models.registry import strategy
        from trading.timeframes import timeframe_minutes

        lake = keel.lake()
        spec = catalog.features(timeframe, list(registered_features()))
        version = lake.version(spec)
        if version is None:
            raise RuntimeError(
                f"{spec.name} does not exist yet; materialize "
                f"{features_key(config).to_user_string()} (e.g. make demo) before research"
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
            .filter(pl.col("ts") >= start, pl.col("ts") <= end + timedelta(hours=1))
            .collect()
        )
        market = market_from_frames(candles, funding, fees, timeframe_minutes(timeframe))
        benchmark = _benchmark(market)
        trailing = np.convolve(benchmark, np.ones(BAD_REGIME_BARS), mode="full")[: len(benchmark)]
        bad_regime = (trailing < 0.0).astype(np.float64)
        chosen = [strategy(key) for key in context.partition_keys]

        def weights_of(s: Any) -> Any:
            return lambda: weights_matrix(market, s.targets(features))

        def reduce(i: int, result: Any) -> tuple[dict[str, Any], pl.DataFrame, pl.DataFrame]:
            s, key = chosen[i], context.partition_keys[i]
            m = metrics(result, benchmark, market.bars_per_year, bad_regime)
            row = {
                "strategy": key,
                "model": s.model.name,
                "params": json.dumps(s.params.model_dump(), sort_keys=True),
                "params_hash": s.params_hash(),
                "code_version": s.model.code_version(),
                "features_version": version,
                "window_start": start,
                "window_end": end,
                "run_id": context.run.run_id,
                **m,
            }
            _write_report(key, market.ts, result, m)
            return row, _equity_frame(key, market.ts, result), _trades_frame(key, market, result)

        outcomes = backtest_many(
            market, [weights_of(s) for s in chosen], reduce, capital=CAPITAL, impact=IMPACT
        )
        rows = [row for row, _, _ in outcomes]
        equity_frames = [equity for _, equity, _ in outcomes]
        trade_frames = [trades for _, _, trades in outcomes]
        for row in rows:
            key = row["strategy"]
            report = reports_dir() / f"{key}.html"
            context.log_event(
                AssetObservation(
                    asset_key=BACKTESTS,
                    partition=key,
                    metadata={
                        "metrics": MetadataValue.md(_metrics_table([row])),
                        "report": MetadataValue.url(report.as_uri()),
                        "report_path": MetadataValue.path(str(report)),
                        "sharpe": row["sharpe"],
                        "features_version": version,
                        "code_version": row["code_version"],
                    },
                )
            )
        metrics_frame = pl.DataFrame(rows, schema=dict(catalog.research_metrics().layout))
        lake.upsert(catalog.research_metrics(), metrics_frame)
        lake.replace(catalog.research_equity(), pl.concat(equity_frames), "strategy")
        lake.replace(catalog.research_trades(), pl.concat(trade_frames), "strategy")
        return MaterializeResult(
            metadata={
                "strategies": len(rows),
                "features_version": version,
                "window_start": str(start),
                "window_end": str(end),
                "results": MetadataValue.md(_metrics_table(rows)),
            }
        )

    @asset(
        key=LEADERBOARD,
        group_name=RESEARCH_GROUP,
        deps=[AssetDep(BACKTESTS, partition_mapping=AllPartitionMapping())],
        kinds={"polars"},
        description="Strategies ranked by Sharpe, with excess return over BTC in bad regimes.",
    )
    def leaderboard(keel: KeelResource) -> MaterializeResult[None]:
        board = leaderboard_frame(keel)
        return MaterializeResult(
            metadata={
                "strategies": board.height,
                "leaderboard": MetadataValue.md(_metrics_table(board.to_dicts())),
                "best": board["strategy"][0] if board.height else "none",
            }
        )

    return [backtests, leaderboard]


def leaderboard_frame(keel: KeelResource) -> pl.DataFrame:
    """The latest result of every registered strategy, best Sharpe first."""
    from lake import catalog
    from trading.models.registry import strategy_names

    return (
        keel.lake()
        .scan(catalog.research_metrics())
        .filter(pl.col("strategy").is_in(list(strategy_names())))
        .sort("sharpe", descending=True)
        .collect()
    )


def _benchmark(market: Any) -> Any:
    """Per-bar returns of BTC buy-and-hold: BTC/USDT on the first venue that lists it."""
    for i, (_, symbol) in enumerate(market.instruments):
        if symbol.startswith("BTC/"):
            return market.returns[:, i]
    return np.zeros(len(market.ts))


def _equity_frame(key: str, ts: Any, result: Any) -> pl.DataFrame:
    peak = np.maximum.accumulate(np.maximum(result.equity, 1.0))
    return pl.DataFrame(
        {
            "strategy": key,
            "ts": pl.Series(ts).dt.replace_time_zone("UTC").dt.cast_time_unit("us"),
            "net_return": result.net,
            "equity": result.equity,
            "drawdown": result.equity / peak - 1.0,
            "gross_exposure": result.exposure,
        }
    )


def _trades_frame(key: str, market: Any, result: Any) -> pl.DataFrame:
    bar, inst = np.nonzero(np.abs(result.trades) > 1e-12)
    ts = pl.Series(market.ts[bar]).dt.replace_time_zone("UTC").dt.cast_time_unit("us")
    return pl.DataFrame(
        {
            "strategy": key,
            "venue": [market.instruments[i][0] for i in inst],
            "symbol": [market.instruments[i][1] for i in inst],
            "ts": ts,
            "trade": result.trades[bar, inst],
            "position": result.positions[bar, inst],
        },
        schema_overrides={"venue": pl.String, "symbol": pl.String},
    )


LEADERBOARD_COLUMNS = (
    "strategy",
    "sharpe",
    "annual_return",
    "max_drawdown",
    "alpha",
    "beta",
    "excess_return_bad_regimes",
    "turnover",
    "fees",
)


def _metrics_table(rows: list[dict[str, Any]]) -> str:
    shown = LEADERBOARD_COLUMNS
    lines = ["| " + " | ".join(shown) + " |", "|" + "---|" * len(shown)]
    for row in rows:
        cells = [f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c]) for c in shown]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _write_report(key: str, ts: Any, result: Any, m: dict[str, float]) -> Path:
    """A self-contained HTML page: metrics and an SVG equity and drawdown chart."""
    folder = reports_dir()
    folder.mkdir(parents=True, exist_ok=True)
    equity = result.equity
    drawdown = equity / np.maximum.accumulate(np.maximum(equity, 1.0)) - 1.0
    step = max(1, len(equity) // 800)

    def polyline(values: Any, top: float, height: float, color: str) -> str:
        v = values[::step]
        lo, hi = float(np.min(v)), float(np.max(v))
        span = hi - lo or 1.0
        points = " ".join(
            f"{i * 800 / max(1, len(v) - 1):.1f},{top + height - (x - lo) / span * height:.1f}"
            for i, x in enumerate(v)
        )
        return f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{points}"/>'

    rows = "".join(f"<tr><td>{k}</td><td>{v:.4f}</td></tr>" for k, v in m.items())
    html = (
        f"<html><head><meta charset='utf-8'><title>{key}</title></head><body>"
        f"<h2>{key}</h2><p>{str(ts[0])[:16]} → {str(ts[-1])[:16]}</p>"
        f"<svg width='820' height='340' style='border:1px solid #ccc'>"
        f"<text x='5' y='14'>equity</text>{polyline(equity, 20, 190, '#1f77b4')}"
        f"<text x='5' y='234'>drawdown</text>{polyline(drawdown, 240, 90, '#d62728')}</svg>"
        f"<table border='1' cellpadding='3'>{rows}</table></body></html>"
    )
    path = folder / f"{key}.html"
    path.write_text(html)
    return path
