"""Stages of an idea and the moves between them: no skipping, every move recorded.

The history of moves is the source of truth: an idea's stage is the destination of its latest
move (``current_stages``), so recording a move is one append and a crash between two writes
cannot leave a stage that disagrees with its history.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import polars as pl

Stage = Literal["idea", "research", "paper", "live", "retired"]
STAGES: tuple[Stage, ...] = ("idea", "research", "paper", "live", "retired")
TRADING_STAGES: tuple[Stage, ...] = ("paper", "live")
NEW = "new"  # the ``from_stage`` of an idea's first move

# Forward one step at a time; live may fall back to paper (demotion); any stage may retire.
ALLOWED: Mapping[str, frozenset[str]] = {
    NEW: frozenset({"idea"}),
    "idea": frozenset({"research", "retired"}),
    "research": frozenset({"paper", "retired"}),
    "paper": frozenset({"live", "retired"}),
    "live": frozenset({"paper", "retired"}),
    "retired": frozenset(),
}


class TransitionError(ValueError):
    """A move the pipeline does not allow; the message says which moves are allowed."""


def check_move(current: str, target: str) -> None:
    """Refuse a move that skips a stage, leaves ``retired`` or names an unknown stage."""
    if target not in STAGES:
        raise TransitionError(f"unknown stage {target!r}; use one of {', '.join(STAGES)}")
    allowed = ALLOWED.get(current, frozenset())
    if target in allowed:
        return
    if current == "retired":
        raise TransitionError("a retired idea stays retired; add it again under a new name")
    if target == current:
        raise TransitionError(f"already in {current}")
    nexts = " or ".join(sorted(allowed)) or "nothing"
    raise TransitionError(f"{current} → {target} skips a stage; from {current} move to {nexts}")


def path_to(current: str, target: str) -> list[str]:
    """The stages to pass through, one move each, to reach ``target`` going forward (e.g.
    idea → paper is [research, paper]); empty when it is not ahead."""
    order = ["idea", "research", "paper", "live"]
    if current not in order or target not in order:
        return []
    i, j = order.index(current), order.index(target)
    return order[i + 1 : j + 1] if j > i else []


@dataclass(frozen=True, slots=True)
class Move:
    """One recorded move: when, from where to where, why, on what evidence, with what capital
    cap (paper and live) and whether a failing gate was overridden."""

    idea: str
    seq: int
    at: datetime
    from_stage: str
    to_stage: str
    reason: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    capital: float | None = None
    override: bool = False

    def row(self) -> dict[str, Any]:
        """The move as a row of ``ideas/transitions``."""
        return {
            "idea": self.idea,
            "seq": self.seq,
            "at": self.at,
            "from_stage": self.from_stage,
            "to_stage": self.to_stage,
            "reason": self.reason,
            "evidence": json.dumps(dict(self.evidence), sort_keys=True, default=str),
            "capital": self.capital,
            "override": self.override,
        }


def current_stages(transitions: pl.DataFrame) -> pl.DataFrame:
    """Per idea: its stage (the latest move's destination), since when, the capital cap of
    that move and how many moves it made."""
    return (
        transitions.sort("idea", "seq")
        .group_by("idea", maintain_order=True)
        .agg(
            stage=pl.col("to_stage").last(),
            since=pl.col("at").last(),
            capital=pl.col("capital").last(),
            override=pl.col("override").last(),
            moves=pl.len(),
        )
    )


@dataclass(frozen=True, slots=True)
class Deployment:
    """A strategy the trading run should trade: its stage and the capital it may use. Fields
    match the live loop's ``Deployment(strategy, stage, capital)``."""

    strategy: str
    stage: str
    capital: float


def strategies_in_stage(
    ideas: pl.DataFrame,
    transitions: pl.DataFrame,
    stages: Sequence[str] = TRADING_STAGES,
    default_capital: float = 10_000.0,
) -> list[Deployment]:
    """The strategies of ideas now in ``stages`` (paper and live by default), with the capital
    cap of the move that put them there (``default_capital`` when the move set none): what
    the trading run reads to know what to trade on paper and live."""
    now = current_stages(transitions).filter(pl.col("stage").is_in(list(stages)))
    joined = now.join(ideas.select("name", "strategy"), left_on="idea", right_on="name")
    return [
        Deployment(r["strategy"], r["stage"], r["capital"] or default_capital)
        for r in joined.sort("idea").iter_rows(named=True)
    ]


def sized_by_weights(
    deployed: Sequence[Deployment], weights: Mapping[str, float], capital: float
) -> list[Deployment]:
    """Each deployment's capital sized by the portfolio: ``min(stage cap, weight × capital)``;
    a strategy the portfolio has not weighed yet (promoted since the last rebalance) keeps its
    stage cap, so the next trading run trades it; one weighed at zero is left out."""
    out = []
    for d in deployed:
        if d.strategy not in weights:
            out.append(d)
        elif weights[d.strategy] > 0:
            out.append(
                Deployment(d.strategy, d.stage, min(d.capital, weights[d.strategy] * capital))
            )
    return out


def stage_counts(pipeline: pl.DataFrame) -> pl.DataFrame:
    """Ideas per stage, in pipeline order (stages with none included)."""
    counts = pipeline.group_by("stage").len()
    order = pl.DataFrame({"stage": list(STAGES)})
    return (
        order.join(counts, on="stage", how="left")
        .with_columns(pl.col("len").fill_null(0).alias("ideas"))
        .select("stage", "ideas")
    )
