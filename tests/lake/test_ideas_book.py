"""The ideas book in the lake: ideas and moves round-trip, conflicts are refused whole."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from lake.ideas import IdeaBook
from lake.store import Lake
from trading.ideas.gates import IdeasConfig, PaperEvidence, ResearchEvidence
from trading.ideas.pipeline import Idea, new_idea, promote
from trading.ideas.stages import Move

AT = datetime(2026, 11, 1, tzinfo=UTC)


def test_an_idea_moves_to_paper_and_the_trading_run_sees_it(lake: Lake) -> None:
    book = IdeaBook(lake)
    book.add(*new_idea(Idea("trend", "momentum persists", source="paper", tags=("tsmom",)), AT))
    stage, seq = book.stage("trend")
    evidence = ResearchEvidence("run-9", 1.0, 2.0, -0.1, 0.1, 0.2)

    result = promote(
        "trend", stage, seq, "paper", AT, IdeasConfig(), testable=True, research=evidence
    )
    book.record(result.moves)

    assert book.stage("trend") == ("paper", 3)
    row = book.pipeline().row(0, named=True)
    assert (row["name"], row["stage"], row["moves"], row["tags"]) == ("trend", "paper", 3, "tsmom")
    deployed = book.deployments()
    assert [(d.strategy, d.stage, d.capital) for d in deployed] == [("trend", "paper", 10_000.0)]
    history = book.transitions().sort("seq")
    assert history["to_stage"].to_list() == ["idea", "research", "paper"]
    assert '"research_run": "run-9"' in history["evidence"][2]


def test_a_name_taken_is_refused(lake: Lake) -> None:
    book = IdeaBook(lake)
    book.add(*new_idea(Idea("carry", "funding pays"), AT))

    with pytest.raises(ValueError, match="exists already"):
        book.add(*new_idea(Idea("carry", "again"), AT))


def test_a_move_racing_another_is_refused_whole(lake: Lake) -> None:
    book = IdeaBook(lake)
    book.add(*new_idea(Idea("carry", "funding pays"), AT))
    first = Move("carry", 1, AT, "idea", "research", "testable")
    book.record([first])

    with pytest.raises(ValueError, match="moved meanwhile"):
        book.record([Move("carry", 1, AT, "idea", "retired", "late")])
    assert book.stage("carry") == ("research", 2)


def test_an_unknown_idea_is_named(lake: Lake) -> None:
    with pytest.raises(KeyError, match="no idea named 'nope'"):
        IdeaBook(lake).stage("nope")


def test_a_live_strategy_past_its_drawdown_goes_back_to_paper_recorded(lake: Lake) -> None:
    book = IdeaBook(lake)
    for name in ("steady", "broken"):
        book.add(*new_idea(Idea(name, "works", strategy=f"{name}_strategy"), AT))
        book.record(
            [
                Move(name, 1, AT, "idea", "research", "testable"),
                Move(name, 2, AT, "research", "paper", "gate passed", capital=5_000.0),
                Move(name, 3, AT, "paper", "live", "gate passed", capital=20_000.0),
            ]
        )
    evidence = {
        "steady_strategy": PaperEvidence(40, True, 12.0, max_drawdown=-0.08),
        "broken_strategy": PaperEvidence(40, True, 12.0, max_drawdown=-0.31),
    }

    moves = book.demote_breaches(evidence, IdeasConfig(), AT)

    assert [(m.idea, m.from_stage, m.to_stage) for m in moves] == [("broken", "live", "paper")]
    assert book.stage("broken") == ("paper", 5)
    assert book.stage("steady") == ("live", 4)
    reason = book.transitions().filter(pl.col("seq") == 4)["reason"][0]
    assert reason == "demoted automatically: max_drawdown 0.31 > 0.20 (over by 0.11)"
    assert [(d.strategy, d.stage) for d in book.deployments()] == [
        ("broken_strategy", "paper"),
        ("steady_strategy", "live"),
    ]


def test_deployments_are_sized_by_the_newest_portfolio_weights(lake: Lake) -> None:
    from lake import catalog
    from lake.results import latest_weights, overwrite

    book = IdeaBook(lake)
    book.add(*new_idea(Idea("trend", "works"), AT))
    book.record(
        [
            Move("trend", 1, AT, "idea", "research", "testable"),
            Move("trend", 2, AT, "research", "paper", "gate passed", capital=10_000.0),
        ]
    )
    later = datetime(2026, 11, 8, tzinfo=UTC)
    overwrite(
        lake,
        catalog.portfolio_weights(),
        pl.DataFrame(
            {
                "ts": [AT, later],
                "strategy": ["trend", "trend"],
                "weight": [0.5, 0.04],
                "method": "hrp",
            }
        ),
    )

    assert latest_weights(lake) == {"trend": 0.04}
    assert [d.capital for d in book.deployments(portfolio_capital=100_000.0)] == [4_000.0]
    assert [d.capital for d in book.deployments()] == [10_000.0]
