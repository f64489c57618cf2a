"""Ideas and their moves, as pure functions: adding an idea, promoting it through the gates
(or past them, with an explicit override and a small capital cap), retiring it, and demoting
live strategies that breach their limits. Writing the moves is the caller's job."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from trading.ideas.gates import (
    Check,
    IdeasConfig,
    PaperEvidence,
    ResearchEvidence,
    demotion_checks,
    failing,
    paper_checks,
    research_checks,
)
from trading.ideas.stages import NEW, Move, TransitionError, check_move, path_to

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")


@dataclass(frozen=True, slots=True)
class Idea:
    """A trade idea: the hypothesis in words, where it came from, tags, links, and the
    strategy (a registered model at some parameters) that makes it testable."""

    name: str
    hypothesis: str
    source: str = ""
    tags: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    strategy: str = ""  # defaults to the idea's name
    created: datetime | None = None

    def row(self) -> dict[str, Any]:
        """The idea as a row of ``ideas/ideas``."""
        return {
            "name": self.name,
            "hypothesis": self.hypothesis,
            "source": self.source,
            "tags": ",".join(self.tags),
            "links": " ".join(self.links),
            "strategy": self.strategy or self.name,
            "created": self.created,
        }


def new_idea(idea: Idea, at: datetime) -> tuple[Idea, Move]:
    """Validate a new idea and its first move (into ``idea``)."""
    if not _NAME.match(idea.name):
        raise ValueError(
            f"idea name {idea.name!r}: use lowercase letters, digits, '_', '-' or '.' "
            "(at most 100), starting with a letter or digit"
        )
    if not idea.hypothesis.strip():
        raise ValueError(f"idea {idea.name!r} needs a hypothesis: what should work, and why")
    added = Idea(
        idea.name,
        idea.hypothesis.strip(),
        idea.source,
        tuple(t.strip() for t in idea.tags if t.strip()),
        idea.links,
        idea.strategy or idea.name,
        at,
    )
    return added, Move(idea.name, 0, at, NEW, "idea", "added")


@dataclass(frozen=True, slots=True)
class Promotion:
    """What a promotion did: the moves to record (possibly fewer than asked for), the stage it
    stopped at, and the checks that stopped it."""

    moves: list[Move]
    reached: str
    blocked: list[Check] = field(default_factory=list)
    missing: str = ""  # evidence that is not there yet

    @property
    def complete(self) -> bool:
        """Whether the target stage was reached."""
        return not self.blocked and not self.missing


def promote(
    name: str,
    current: str,
    next_seq: int,
    target: str,
    at: datetime,
    config: IdeasConfig,
    *,
    testable: bool,
    research: ResearchEvidence | None = None,
    paper: PaperEvidence | None = None,
    override: str | None = None,
    capital: float | None = None,
) -> Promotion:
    """Move an idea forward to ``target`` one stage at a time, each move judged by its gate.
    A failing gate stops the promotion where it is, unless ``override`` gives a reason: then
    the move is recorded as overridden, with the failing checks and a capital cap no larger
    than ``config.override_capital``."""
    steps = path_to(current, target)
    if not steps:
        check_move(current, target)  # explains a skip, a step back or an unknown stage
        raise TransitionError(
            f"{current} → {target} is not a promotion: retire with `keel idea retire`; a live "
            "strategy returns to paper by demotion"
        )
    moves: list[Move] = []
    stage = current
    for step in steps:
        checks: list[Check] = []
        evidence: dict[str, Any] = {}
        cap: float | None = None
        if step == "research":
            if not testable:
                return Promotion(moves, stage, missing="no registered strategy names this idea")
        elif step == "paper":
            if research is None:
                return Promotion(moves, stage, missing="no research result for this strategy")
            checks = research_checks(research, config.research_gate)
            evidence = {"research_run": research.run_id, **_figures(checks)}
            cap = capital or config.paper_capital
        elif step == "live":
            if paper is None:
                return Promotion(
                    moves, stage, missing="no paper-trading evidence (parity, shortfall) yet"
                )
            checks = paper_checks(paper, config.paper_gate)
            evidence = {**_figures(checks), "paper_days": paper.days}
            cap = capital or config.live_capital
        failed = failing(checks)
        overridden = bool(failed) and override is not None
        if failed and not overridden:
            return Promotion(moves, stage, blocked=failed)
        if overridden:
            cap = min(cap or config.override_capital, config.override_capital)
            reason = f"override: {override}; failing: " + "; ".join(c.describe() for c in failed)
        else:
            reason = "gate passed" if checks else "testable: a strategy names it"
        moves.append(
            Move(name, next_seq + len(moves), at, stage, step, reason, evidence, cap, overridden)
        )
        stage = step
    return Promotion(moves, stage)


def retire(name: str, current: str, next_seq: int, at: datetime, reason: str) -> Move:
    """The move that retires an idea from any stage."""
    check_move(current, "retired")
    if not reason.strip():
        raise TransitionError("say why the idea is retired (--reason)")
    return Move(name, next_seq, at, current, "retired", reason.strip())


def demotions(
    live: Mapping[str, tuple[int, PaperEvidence]],
    config: IdeasConfig,
    at: datetime,
) -> list[Move]:
    """Moves back to paper of every live idea (name → (next seq, its live evidence)) past its
    drawdown or shortfall limit, with the breach as the reason and the paper capital cap."""
    moves = []
    for name, (seq, evidence) in sorted(live.items()):
        failed = failing(demotion_checks(evidence, config.demotion))
        if failed:
            reason = "demoted automatically: " + "; ".join(c.describe() for c in failed)
            figures = _figures(demotion_checks(evidence, config.demotion))
            moves.append(
                Move(name, seq, at, "live", "paper", reason, figures, config.paper_capital)
            )
    return moves


def _figures(checks: Sequence[Check]) -> dict[str, float]:
    return {c.name: round(c.value, 6) for c in checks}
