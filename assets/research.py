"""Research: every registered strategy backtested on the feature table, as versioned results.

The research asset is partitioned by strategy (static partitions from the model registry), so
the graph stays one node however many models exist, each strategy has its own materialization
history, and re-running all of them after a feature change is one backfill of all partitions,
executed as a single run that loads features and prices once. Each result records the model,
its parameter hash, the model file's code version, the feature table's Delta version and the
window, so it can be reproduced with time travel; results are kept per run (history).

Every run also materializes ``research/leaderboard``, so the ranking is where the trader looks.
"""

from typing import Any

from dagster import (
    AllPartitionMapping,
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetsDefinition,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    StaticPartitionsDefinition,
    asset,
)

from assets.features import features_key
from assets.paths import reports_dir
from assets.resources import KeelResource
from trading.config import KeelConfig

RESEARCH_GROUP = "research"
BACKTESTS = AssetKey([RESEARCH_GROUP, "backtests"])
LEADERBOARD = AssetKey([RESEARCH_GROUP, "leaderboard"])

LEADERBOARD_COLUMNS = (
    "strategy",
    "oos_sharpe",
    "sharpe",
    "sharpe_ci_low",
    "sharpe_ci_high",
    "deflated_sharpe",
    "annual_return",
    "max_drawdown",
    "beta",
    "excess_return_bad_regimes",
    "turnover",
    "costs_bps",
)


def strategy_partitions() -> StaticPartitionsDefinition:
    """One partition per registered strategy (model × parameter point)."""
    from trading.models.registry import strategy_names

    return StaticPartitionsDefinition(list(strategy_names()))


def research_assets(config: KeelConfig) -> list[AssetsDefinition]:
    """The backtests asset and the leaderboard that ranks them. Models that declare features
    the registry lacks are found here, when definitions load: their strategies fail alone."""
    from trading.features.registry import registered_features
    from trading.models.registry import model_problems

    problems = model_problems(set(registered_features()))
    broken = "".join(f"\n\nBroken: {reason}" for reason in problems.values())

    @asset(
        key=BACKTESTS,
        group_name=RESEARCH_GROUP,
        deps=[AssetDep(features_key(config), partition_mapping=AllPartitionMapping())],
        partitions_def=strategy_partitions(),
        backfill_policy=BackfillPolicy.single_run(),
        pool="lake_research",
        kinds={"polars", "numpy", "deltalake"},
        description="Backtest of each strategy on the feature table: metrics (one row per run), "
        "equity, trades and walk-forward picks in research/*; each partition shows its own "
        "metrics and report." + broken,
    )
    def backtests(context: AssetExecutionContext, keel: KeelResource) -> MaterializeResult[None]:
        from assets.research_run import run_research

        lake = keel.lake()
        names = list(context.partition_keys)
        out = run_research(lake, config, names, context.run.run_id, reports_dir(), problems)
        if not out.rows:
            raise RuntimeError(
                "every strategy failed: "
                + "; ".join(f"{k}: {v}" for k, v in sorted(out.failures.items()))
            )
        for row in out.rows:
            key = row["strategy"]
            markdown, path = out.reports[key]
            context.add_asset_metadata(
                {
                    "status": "ok",
                    "report": MetadataValue.md(markdown),
                    "report_file": MetadataValue.path(str(path)),
                    "metrics": MetadataValue.md(_metrics_table([row])),
                    "sharpe": row["sharpe"],
                    "oos_sharpe": row["oos_sharpe"],
                    "deflated_sharpe": row["deflated_sharpe"],
                    "total_return": row["total_return"],
                    "code_version": row["code_version"],
                },
                partition_key=key,
            )
        for key, reason in sorted(out.failures.items()):
            context.log.error(f"strategy {key} failed: {reason}")
            context.add_asset_metadata(
                {"status": "failed", "error": MetadataValue.text(reason)}, partition_key=key
            )
        _log_leaderboard(context, keel)
        window = out.window
        return MaterializeResult(
            metadata={
                "run_strategies": len(out.rows),
                "run_failed": len(out.failures),
                "features_version": out.features_version,
                "window": f"{window[0]} → {window[1]}" if window else "",
            }
        )

    @asset(
        key=LEADERBOARD,
        group_name=RESEARCH_GROUP,
        deps=[AssetDep(BACKTESTS, partition_mapping=AllPartitionMapping())],
        kinds={"polars"},
        description="Strategies ranked by out-of-sample Sharpe (walk-forward), with the Sharpe "
        "interval, deflated Sharpe and excess return over BTC in bad regimes. Materialized by "
        "every research run.",
    )
    def leaderboard(keel: KeelResource) -> MaterializeResult[None]:
        return MaterializeResult(metadata=leaderboard_metadata(keel))

    return [backtests, leaderboard]


def leaderboard_metadata(keel: KeelResource) -> dict[str, Any]:
    """The ranking as metadata: a table, the best strategy, and the walk-forward picks."""
    import polars as pl

    from lake import catalog

    board = leaderboard_frame(keel)
    picks = keel.lake().scan(catalog.research_walk_forward()).collect()
    if picks.height:
        latest = picks.sort("out_start").group_by("model").agg(pl.col("run_id").last())
        picks = picks.join(latest, on=["model", "run_id"]).sort("model", "fold")
    pick_rows = [
        f"| {r['model']} | {r['fold']} | {str(r['out_start'])[:10]} | {r['chosen']} | "
        f"{r['in_sample_sharpe']:.2f} | {r['out_of_sample_return']:.2%} |"
        for r in picks.iter_rows(named=True)
    ]
    walk = "\n".join(
        [
            "| model | fold | out-of-sample from | chosen in sample | in-sample Sharpe | "
            "out-of-sample return |",
            "|---|---|---|---|---|---|",
            *pick_rows,
        ]
    )
    return {
        "strategies": board.height,
        "leaderboard": MetadataValue.md(
            "Ranked by out-of-sample Sharpe (annualized); `deflated_sharpe` is the probability "
            "the Sharpe beats the best of all strategies tried by luck; "
            "`excess_return_bad_regimes` is annualized; `costs_bps` per unit traded.\n\n"
            + _metrics_table(board.to_dicts())
        ),
        "walk_forward": MetadataValue.md(walk),
        "best": board["strategy"][0] if board.height else "none",
    }


def _log_leaderboard(context: AssetExecutionContext, keel: KeelResource) -> None:
    context.log_event(
        AssetMaterialization(asset_key=LEADERBOARD, metadata=leaderboard_metadata(keel))
    )


def leaderboard_frame(keel: KeelResource) -> Any:
    """The latest result of every registered strategy, best out-of-sample Sharpe first."""
    from assets.research_run import leaderboard_frame as frame
    from trading.models.registry import strategy_names

    return frame(keel.lake(), strategy_names())


def _metrics_table(rows: list[dict[str, Any]]) -> str:
    shown = LEADERBOARD_COLUMNS
    lines = ["| " + " | ".join(shown) + " |", "|" + "---|" * len(shown)]
    for row in rows:
        cells = [
            f"{row.get(c):.3f}" if isinstance(row.get(c), float) else str(row.get(c)) for c in shown
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
