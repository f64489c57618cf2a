"""Stage moves: no skipping, gates enforced with the failing check and its gap, overrides
recorded with a small cap, automatic demotion, and what the trading run reads."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.ideas.gates import (
    Check,
    IdeasConfig,
    PaperEvidence,
    ResearchEvidence,
    paper_checks,
    research_checks,
)
from trading.ideas.pipeline import Idea, demotions, new_idea, promote, retire
from trading.ideas.stages import (
    ALLOWED,
    STAGES,
    Deployment,
    TransitionError,
    check_move,
    current_stages,
    path_to,
    sized_by_weights,
    strategies_in_stage,
)

AT = datetime(2026, 11, 1, tzinfo=UTC)
CONFIG = IdeasConfig()
GOOD = ResearchEvidence("run-1", 1.2, 3.0, -0.10, 0.2, 0.05)
GOOD_PAPER = PaperEvidence(days=20, parity_passed=True, shortfall_bps=8.0)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("idea", "paper"),
        ("idea", "live"),
        ("research", "live"),
        ("retired", "idea"),
        ("paper", "research"),
        ("research", "idea"),
    ],
)
def test_skipping_or_going_back_is_refused(current: str, target: str) -> None:
    with pytest.raises(TransitionError):
        check_move(current, target)


@pytest.mark.parametrize("stage", ["idea", "research", "paper", "live"])
def test_any_active_stage_may_retire(stage: str) -> None:
    check_move(stage, "retired")


def test_skip_error_names_the_allowed_moves() -> None:
    with pytest.raises(
        TransitionError,
        match=r"idea → live skips a stage; from idea move to "
        r"research or retired",
    ):
        check_move("idea", "live")


def test_path_to_paper_from_idea_passes_through_research() -> None:
    assert path_to("idea", "paper") == ["research", "paper"]
    assert path_to("paper", "research") == []


def test_promotion_to_paper_records_both_moves_with_evidence_and_cap() -> None:
    result = promote("trend", "idea", 1, "paper", AT, CONFIG, testable=True, research=GOOD)

    assert result.complete
    assert result.reached == "paper"
    assert [(m.from_stage, m.to_stage, m.seq) for m in result.moves] == [
        ("idea", "research", 1),
        ("research", "paper", 2),
    ]
    paper = result.moves[1]
    assert paper.capital == CONFIG.paper_capital
    assert paper.evidence["research_run"] == "run-1"
    assert paper.evidence["oos_sharpe"] == 1.2
    assert not paper.override


def test_a_failing_gate_stops_at_research_and_says_by_how_much() -> None:
    weak = ResearchEvidence("run-2", 0.31, 3.0, -0.40, 0.2, 0.05)

    result = promote("trend", "idea", 1, "paper", AT, CONFIG, testable=True, research=weak)

    assert result.reached == "research"
    assert [m.to_stage for m in result.moves] == ["research"]
    assert [c.describe() for c in result.blocked] == [
        "oos_sharpe 0.31 < 0.50 (short by 0.19)",
        "max_drawdown 0.40 > 0.25 (over by 0.15)",
    ]


def test_an_override_records_the_reason_the_failures_and_a_small_cap() -> None:
    weak = ResearchEvidence("run-2", 0.31, 3.0, -0.10, 0.2, 0.05)

    result = promote(
        "trend",
        "research",
        2,
        "paper",
        AT,
        CONFIG,
        testable=True,
        research=weak,
        override="speed beats perfection",
        capital=50_000.0,
    )

    move = result.moves[0]
    assert move.override
    assert move.capital == CONFIG.override_capital
    assert move.reason == (
        "override: speed beats perfection; failing: oos_sharpe 0.31 < 0.50 (short by 0.19)"
    )


def test_an_untestable_idea_stays_an_idea() -> None:
    result = promote("vague", "idea", 1, "paper", AT, CONFIG, testable=False, research=GOOD)

    assert result.moves == []
    assert result.reached == "idea"
    assert "no registered strategy" in result.missing


def test_live_needs_paper_evidence_then_its_gate() -> None:
    missing = promote("trend", "paper", 3, "live", AT, CONFIG, testable=True)
    short = promote(
        "trend",
        "paper",
        3,
        "live",
        AT,
        CONFIG,
        testable=True,
        paper=PaperEvidence(days=5, parity_passed=False, shortfall_bps=20.0),
    )
    passed = promote("trend", "paper", 3, "live", AT, CONFIG, testable=True, paper=GOOD_PAPER)

    assert missing.moves == []
    assert "paper-trading evidence" in missing.missing
    assert [c.name for c in short.blocked] == ["paper_days", "parity", "shortfall_bps"]
    assert passed.moves[0].to_stage == "live"
    assert passed.moves[0].capital == CONFIG.live_capital


def test_promoting_backwards_is_refused() -> None:
    with pytest.raises(TransitionError, match="not a promotion"):
        promote("trend", "live", 4, "paper", AT, CONFIG, testable=True)


def test_gate_checks_on_the_threshold_pass() -> None:
    gate = CONFIG.research_gate
    edge = ResearchEvidence(
        "r",
        gate.min_oos_sharpe,
        gate.min_oos_months,
        -gate.max_drawdown,
        gate.max_correlation,
        gate.min_bad_regime_excess,
    )
    paper = PaperEvidence(CONFIG.paper_gate.min_days, True, CONFIG.paper_gate.max_shortfall_bps)

    assert all(c.passed for c in research_checks(edge, gate))
    assert all(c.passed for c in paper_checks(paper, CONFIG.paper_gate))


def test_check_gap_is_zero_when_it_passes() -> None:
    assert Check("x", 2.0, 1.0, "min").gap == 0.0
    assert Check("x", 0.5, 1.0, "min").gap == 0.5


def test_live_strategies_past_their_limits_are_demoted_with_the_breach() -> None:
    live = {
        "calm": (5, PaperEvidence(30, True, 10.0, max_drawdown=-0.05)),
        "deep": (7, PaperEvidence(30, True, 10.0, max_drawdown=-0.35)),
        "costly": (2, PaperEvidence(30, True, 45.0)),
    }

    moves = demotions(live, CONFIG, AT)

    assert [(m.idea, m.seq, m.from_stage, m.to_stage) for m in moves] == [
        ("costly", 2, "live", "paper"),
        ("deep", 7, "live", "paper"),
    ]
    assert moves[1].reason == "demoted automatically: max_drawdown 0.35 > 0.20 (over by 0.15)"
    assert moves[0].capital == CONFIG.paper_capital


def test_new_idea_needs_a_clean_name_and_a_hypothesis() -> None:
    with pytest.raises(ValueError, match="lowercase"):
        new_idea(Idea("Bad Name", "x"), AT)
    with pytest.raises(ValueError, match="hypothesis"):
        new_idea(Idea("ok", "  "), AT)
    idea, move = new_idea(Idea("ok", " carry pays ", tags=("carry", " ")), AT)
    assert idea.strategy == "ok"
    assert idea.tags == ("carry",)
    assert idea.hypothesis == "carry pays"
    assert (move.from_stage, move.to_stage, move.seq) == ("new", "idea", 0)


def test_retire_needs_a_reason_and_a_retired_idea_stays_retired() -> None:
    with pytest.raises(TransitionError, match="why"):
        retire("x", "paper", 3, AT, " ")
    with pytest.raises(TransitionError, match="stays retired"):
        retire("x", "retired", 3, AT, "again")
    assert retire("x", "paper", 3, AT, "decayed").to_stage == "retired"


def _history() -> tuple[pl.DataFrame, pl.DataFrame]:
    ideas = pl.DataFrame({"name": ["a", "b", "c"], "strategy": ["trend", "carry", "basis"]})
    moves = []
    for name, path, cap in [
        ("a", ["idea", "research", "paper"], 5000.0),
        ("b", ["idea", "research", "paper", "live"], 20000.0),
        ("c", ["idea", "research"], None),
    ]:
        previous = "new"
        for seq, stage in enumerate(path):
            last = seq == len(path) - 1
            moves.append(
                {
                    "idea": name,
                    "seq": seq,
                    "at": AT,
                    "from_stage": previous,
                    "to_stage": stage,
                    "capital": cap if last else None,
                    "override": False,
                }
            )
            previous = stage
    return ideas, pl.DataFrame(moves)


def test_stage_is_the_latest_move_and_the_run_reads_paper_and_live() -> None:
    ideas, transitions = _history()

    stages = current_stages(transitions.sample(fraction=1.0, shuffle=True, seed=1))
    deployed = strategies_in_stage(ideas, transitions)

    assert dict(zip(stages["idea"], stages["stage"], strict=True)) == {
        "a": "paper",
        "b": "live",
        "c": "research",
    }
    assert [(d.strategy, d.stage, d.capital) for d in deployed] == [
        ("trend", "paper", 5000.0),
        ("carry", "live", 20000.0),
    ]
    assert [d.strategy for d in strategies_in_stage(ideas, transitions, ["live"])] == ["carry"]


def test_stages_are_in_pipeline_order() -> None:
    assert STAGES == ("idea", "research", "paper", "live", "retired")


@settings(max_examples=60, deadline=None)
@given(targets=st.lists(st.sampled_from(STAGES), max_size=12))
def test_any_sequence_of_requests_moves_one_step_at_a_time(targets: list[str]) -> None:
    stage, seq, applied = "idea", 1, [("new", "idea")]
    for target in targets:
        try:
            if target == "retired":
                moves = [retire("x", stage, seq, AT, "done")]
            else:
                moves = promote(
                    "x",
                    stage,
                    seq,
                    target,
                    AT,
                    CONFIG,
                    testable=True,
                    research=GOOD,
                    paper=GOOD_PAPER,
                ).moves
        except TransitionError:
            continue
        for move in moves:
            assert move.to_stage in ALLOWED[move.from_stage]
            assert move.from_stage == stage
            applied.append((move.from_stage, move.to_stage))
            stage, seq = move.to_stage, seq + 1

    frame = pl.DataFrame(
        {
            "idea": "x",
            "seq": list(range(len(applied))),
            "at": AT,
            "to_stage": [b for _, b in applied],
            "capital": None,
            "override": False,
        }
    )
    assert current_stages(frame)["stage"][0] == stage


def test_portfolio_weights_size_deployments_new_ones_keep_their_cap() -> None:
    deployed = [
        Deployment("a", "paper", 10_000.0),
        Deployment("b", "live", 50_000.0),
        Deployment("new", "paper", 1_000.0),
        Deployment("dropped", "paper", 5_000.0),
    ]

    sized = sized_by_weights(deployed, {"a": 0.25, "b": 0.25, "dropped": 0.0}, 100_000.0)

    assert sized == [
        Deployment("a", "paper", 10_000.0),  # cap below 0.25 × 100k
        Deployment("b", "live", 25_000.0),  # 0.25 × 100k below the cap
        Deployment("new", "paper", 1_000.0),  # not weighed yet
    ]
