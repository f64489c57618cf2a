"""The seam between the ideas pipeline and the trading run: strategies promoted to paper or
live (``keel idea promote``) are traded by the next run, beside those the config lists, and
every strategy is sized by the newest portfolio weights once the portfolio has any."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

import polars as pl

from lake.ideas import IdeaBook
from lake.store import Lake
from trading.ideas.stages import Deployment as Sized
from trading.ideas.stages import sized_by_weights
from trading.live.config import Deployment


def promoted(
    lake: Lake,
    stages: Sequence[str],
    configured: Collection[str],
    portfolio_capital: float | None = None,
) -> list[Deployment]:
    """The ideas book's strategies in ``stages`` with their capital caps (sized by the
    portfolio's weights given its capital), leaving out those the config already deploys (the
    config wins) and those no registered model names any more (a deleted model file must not
    stop every other strategy's run)."""
    from trading.models.registry import strategy_names

    known = set(strategy_names())
    return [
        Deployment(strategy=d.strategy, stage=d.stage, capital=d.capital)  # type: ignore[arg-type]
        for d in IdeaBook(lake).deployments(stages, portfolio_capital=portfolio_capital)
        if d.strategy not in configured and d.strategy in known and d.capital > 0
    ]


def newest_weights(lake: Lake) -> tuple[datetime | None, dict[str, float]]:
    """The newest rebalance's time and weights (None and empty before the first)."""
    from lake import catalog

    weights = lake.scan(catalog.portfolio_weights()).collect()
    if weights.is_empty():
        return None, {}
    newest = weights.filter(pl.col("ts") == pl.col("ts").max())
    ts = newest["ts"][0]
    return ts, dict(zip(newest["strategy"].to_list(), newest["weight"].to_list(), strict=True))


def sized(
    deployed: Sequence[Deployment], weights: dict[str, float], capital: float
) -> list[Deployment]:
    """Configured deployments sized like the ideas book's: min(cap, weight × capital)."""
    out = sized_by_weights(
        [Sized(d.strategy, d.stage, d.capital) for d in deployed], weights, capital
    )
    return [Deployment(strategy=d.strategy, stage=d.stage, capital=d.capital) for d in out]  # type: ignore[arg-type]


def capital_source(ts: datetime | None, capital: float) -> str:
    """What sized the run's strategies, in words for the run's metadata."""
    if ts is None:
        return "config caps (no portfolio weights yet)"
    return f"portfolio weights of {ts:%Y-%m-%d %H:%M} × capital {capital:,.0f}, capped by stage"
