"""The portfolio and the regime report in the UI, recomputed on a schedule: capital across the
paper and live strategies (estimated on past returns only), the portfolio's netted backtest
beside the sum of its parts, every strategy's return, excess over BTC and Sharpe per regime
with intervals (the headline: the portfolio's annual excess return in bad regimes), and the
diversity of the strategies."""

from __future__ import annotations

from collections.abc import Iterator

from dagster import (
    AllPartitionMapping,
    AssetDep,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    MaterializeResult,
    multi_asset,
)

from assets.ideas import PIPELINE
from assets.research import BACKTESTS
from assets.resources import KeelResource

PORTFOLIO_GROUP = "portfolio"
ALLOCATION = AssetKey([PORTFOLIO_GROUP, "allocation"])
REGIME_REPORT = AssetKey([PORTFOLIO_GROUP, "regime_report"])
DIVERSITY = AssetKey([PORTFOLIO_GROUP, "diversity"])


def portfolio_assets() -> list[AssetsDefinition]:
    """Allocation, regime report and diversity: one computation, three assets."""
    deps = [AssetDep(BACKTESTS, partition_mapping=AllPartitionMapping()), AssetDep(PIPELINE)]

    @multi_asset(
        specs=[
            AssetSpec(
                ALLOCATION,
                deps=deps,
                group_name=PORTFOLIO_GROUP,
                kinds={"numpy", "deltalake"},
                description="Weights of the paper and live strategies (portfolio/weights) and "
                "the netted backtest beside the sum of its parts (portfolio/equity).",
            ),
            AssetSpec(
                REGIME_REPORT,
                deps=deps,
                group_name=PORTFOLIO_GROUP,
                kinds={"numpy", "deltalake"},
                description="Return, excess over BTC and Sharpe per regime with intervals "
                "(regimes/report, regimes/labels).",
            ),
            AssetSpec(
                DIVERSITY,
                deps=deps,
                group_name=PORTFOLIO_GROUP,
                kinds={"numpy"},
                description="Correlation clusters and each candidate's marginal effect on the "
                "portfolio's bad-regime excess return and Sharpe.",
            ),
        ],
        pool="lake_research",
    )
    def portfolio_book(keel: KeelResource) -> Iterator[MaterializeResult[None]]:
        from assets.pipeline_inputs import load_book
        from assets.portfolio_metadata import allocation_md, diversity_md, regime_md, write_book

        config = keel.config()
        lake = keel.lake()
        book = load_book(lake, config)
        if book is None:
            note = "no research results yet: materialize research/backtests (keel research)"
            for key in (ALLOCATION, REGIME_REPORT, DIVERSITY):
                yield MaterializeResult(asset_key=key, metadata={"note": note})
            return
        page = write_book(lake, config, book)
        yield MaterializeResult(asset_key=ALLOCATION, metadata=allocation_md(book, config, page))
        yield MaterializeResult(asset_key=REGIME_REPORT, metadata=regime_md(book, page))
        yield MaterializeResult(asset_key=DIVERSITY, metadata=diversity_md(book))

    return [portfolio_book]
