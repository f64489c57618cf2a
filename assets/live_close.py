"""What a trading run does after its orders: record each strategy's parity in ``live/parity``
and demote live strategies past their drawdown or shortfall limit to paper (the seams between
the trading run and the ideas pipeline)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from lake.ideas import IdeaBook
from lake.paper_evidence import stage_evidence
from trading.ideas.gates import PaperEvidence
from trading.ideas.stages import Move, current_stages


@dataclass(frozen=True, slots=True)
class Closing:
    """What the end of a run recorded: parity rows, the differences behind them, and the
    live ideas it demoted."""

    parity: list[dict[str, Any]]
    differences: pl.DataFrame
    checked: int
    demoted: list[Move]
    notes: list[str]

    def demotion_lines(self) -> list[str]:
        """One line per demotion, for the run's metadata."""
        return [f"{m.idea}: live → paper, {m.reason}" for m in self.demoted] + self.notes


def parity_rows(
    run_id: str, decisions: pl.DataFrame, diffs: pl.DataFrame, at: datetime
) -> list[dict[str, Any]]:
    """One ``live/parity`` row per strategy the run decided for: decisions compared,
    differences found, passed when there were none."""
    if decisions.is_empty():
        return []
    found = dict(diffs.group_by("strategy").len().iter_rows()) if diffs.height else {}
    per = decisions.group_by("strategy").agg(
        bar=pl.col("bar").first(),
        version=pl.col("features_version").first(),
        decisions=pl.len(),
    )
    return [
        {
            "run_id": run_id,
            "bar": r["bar"],
            "strategy": r["strategy"],
            "features_version": r["version"],
            "decisions": r["decisions"],
            "differences": int(found.get(r["strategy"], 0)),
            "passed": not found.get(r["strategy"], 0),
            "at": at,
        }
        for r in per.sort("strategy").iter_rows(named=True)
    ]


def live_evidence(
    setup: Any, now: datetime, shortfall: pl.DataFrame | None = None
) -> dict[str, PaperEvidence]:
    """Strategy → its evidence since it went live, for every idea now live; the shortfall is
    computed afresh from the journal (this run's fills included) unless given."""
    from assets.live import shortfall_table

    book = IdeaBook(setup.lake)
    live = current_stages(book.transitions()).filter(pl.col("stage") == "live")
    if live.is_empty():
        return {}
    if shortfall is None:
        shortfall = shortfall_table(setup.config, setup.lake, setup.journal_lake)
    strategies = dict(book.ideas().select("name", "strategy").iter_rows())
    out = {}
    for idea in live["idea"].to_list():
        found = stage_evidence(setup.lake, setup.journal_lake, idea, "live", now, shortfall)
        if found is not None:
            out[strategies[idea]] = found[0]
    return out


def close_run(setup: Any, run_id: str, shortfall: pl.DataFrame | None = None) -> Closing:
    """Record the run's parity, then demote live ideas past their limits (with the evidence).
    ``shortfall`` is the run's fresh shortfall summary (default: computed here)."""
    from assets.live import parity_differences
    from lake.live import live_table

    config = setup.config
    now = setup.clock()
    diffs, checked = parity_differences(
        setup.journal_lake, setup.lake, config.data.research_timeframe, run_id
    )
    decisions = (
        setup.journal_lake.scan(live_table("decisions"))
        .filter(pl.col("run_id") == run_id)
        .collect()
    )
    rows = parity_rows(run_id, decisions, diffs, now)
    setup.the_journal().append("parity", rows)
    evidence = live_evidence(setup, now, shortfall)
    demoted: Sequence[Move] = []
    notes: list[str] = []
    try:
        demoted = IdeaBook(setup.lake).demote_breaches(evidence, config.ideas, now)
    except ValueError as error:  # an idea moved meanwhile: the next run judges it again
        notes.append(f"demotion not recorded: {error}")
    return Closing(rows, diffs, checked, list(demoted), notes)
