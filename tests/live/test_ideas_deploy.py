"""A strategy promoted to paper in the ideas book is traded by the next run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from assets.live_run import run_bar
from lake.ideas import IdeaBook
from lake.store import Lake
from tests.live.helpers import live_config, paper_setup, seed_lake
from trading.ideas.pipeline import Idea, new_idea
from trading.ideas.stages import Move

AT = datetime(2024, 2, 1, tzinfo=UTC)


def test_a_strategy_promoted_to_paper_trades_on_the_next_run(tmp_path: Path) -> None:
    config = live_config(tmp_path, strategies=[])  # the config deploys nothing
    lake = Lake(tmp_path / "lake")
    bars = seed_lake(config, lake, days=1)
    book = IdeaBook(lake)
    for name, strategy in [("tsmom", "trend"), ("gone", "deleted_model")]:
        book.add(*new_idea(Idea(name, "works", strategy=strategy), AT))
        book.record(
            [
                Move(name, 1, AT, "idea", "research", "testable"),
                Move(name, 2, AT, "research", "paper", "override", capital=1_000.0, override=True),
            ]
        )
    setup, _ = paper_setup(config, lake, tmp_path / "run", bars[-1])

    deployed = setup.deployments()
    report = run_bar(setup, "r1", bars[-1])

    assert [(d.strategy, d.stage, d.capital) for d in deployed] == [("trend", "paper", 1_000.0)]
    assert report.decided
    assert len(report.orders) > 0
