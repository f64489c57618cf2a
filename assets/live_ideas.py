"""The seam between the ideas pipeline and the trading run: strategies promoted to paper or
live (``keel idea promote``) are traded by the next run, beside those the config lists."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from lake.ideas import IdeaBook
from lake.store import Lake
from trading.live.config import Deployment


def promoted(lake: Lake, stages: Sequence[str], configured: Collection[str]) -> list[Deployment]:
    """The ideas book's strategies in ``stages`` with their capital caps, leaving out those
    the config already deploys (the config wins) and those no registered model names any more
    (a deleted model file must not stop every other strategy's run)."""
    from trading.models.registry import strategy_names

    known = set(strategy_names())
    return [
        Deployment(strategy=d.strategy, stage=d.stage, capital=d.capital)  # type: ignore[arg-type]
        for d in IdeaBook(lake).deployments(stages)
        if d.strategy not in configured and d.strategy in known and d.capital > 0
    ]
