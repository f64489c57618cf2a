"""The ideas book in the lake: ideas, their moves, and what the trading run should trade.

Moves are appended to ``ideas/transitions`` (key: idea, seq); an idea's stage is its latest
move's destination, so one write records a move and its stage together. A move whose
``(idea, seq)`` is already taken is refused: two promotions of one idea racing each other
cannot both land.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import polars as pl

from lake import catalog
from lake.store import Lake
from trading.ideas.gates import IdeasConfig, PaperEvidence
from trading.ideas.pipeline import Idea, demotions
from trading.ideas.stages import (
    TRADING_STAGES,
    Deployment,
    Move,
    current_stages,
    sized_by_weights,
    strategies_in_stage,
)


class IdeaBook:
    """Reads and writes of the ideas tables under one lake."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake

    def ideas(self) -> pl.DataFrame:
        """Every idea (one row each)."""
        return self.lake.scan(catalog.ideas()).collect()

    def transitions(self) -> pl.DataFrame:
        """Every move of every idea."""
        return self.lake.scan(catalog.idea_transitions()).collect()

    def pipeline(self) -> pl.DataFrame:
        """Every idea with its stage, since when, capital cap and number of moves."""
        stages = current_stages(self.transitions())
        return (
            self.ideas()
            .join(stages, left_on="name", right_on="idea", how="left")
            .with_columns(pl.col("stage").fill_null("idea"), pl.col("moves").fill_null(0))
            .sort("name")
        )

    def stage(self, name: str) -> tuple[str, int]:
        """An idea's stage and the seq its next move takes; an unknown name is an error that
        lists similar names."""
        ideas = self.ideas()
        if name not in ideas["name"]:
            close = [n for n in ideas["name"].to_list() if name[:3] in n][:5]
            hint = f"; similar: {', '.join(close)}" if close else ""
            raise KeyError(f"no idea named {name!r} (keel idea list shows them all){hint}")
        moves = self.transitions().filter(pl.col("idea") == name)
        if moves.is_empty():
            return "idea", 0
        last = moves.sort("seq").row(-1, named=True)
        return str(last["to_stage"]), int(last["seq"]) + 1

    def add(self, idea: Idea, first: Move) -> None:
        """Write a new idea and its first move; an existing name is refused."""
        if idea.name in self.ideas()["name"]:
            raise ValueError(f"idea {idea.name!r} exists already; pick another name")
        self.record([first])
        self.lake.upsert(catalog.ideas(), pl.DataFrame([idea.row()]))

    def add_many(self, items: Sequence[tuple[Idea, Move]]) -> None:
        """Write many new ideas in two commits (the seed and the benchmark use it)."""
        names = {i.name for i, _ in items}
        taken = names & set(self.ideas()["name"].to_list())
        if taken:
            raise ValueError(f"ideas {sorted(taken)} exist already; pick other names")
        self.record([m for _, m in items])
        self.lake.upsert(catalog.ideas(), pl.DataFrame([i.row() for i, _ in items]))

    def record(self, moves: Sequence[Move]) -> None:
        """Append moves in one commit; refused whole when any (idea, seq) is already taken."""
        if not moves:
            return
        frame = pl.DataFrame([m.row() for m in moves], schema=dict(catalog.IDEA_TRANSITIONS))
        taken = self.transitions().join(frame.select("idea", "seq"), on=["idea", "seq"])
        if not taken.is_empty():
            first = taken.row(0, named=True)
            raise ValueError(
                f"idea {first['idea']!r} moved meanwhile (move {first['seq']} exists); "
                "look at `keel idea show` and try again"
            )
        self.lake.upsert(catalog.idea_transitions(), frame)

    def deployments(
        self, stages: Sequence[str] = TRADING_STAGES, portfolio_capital: float | None = None
    ) -> list[Deployment]:
        """What the trading run trades: strategies of ideas in paper and live with their
        capital caps (the seam the live loop calls each run); given the portfolio's capital,
        each is also sized by the newest portfolio weights (``sized_by_weights``)."""
        deployed = strategies_in_stage(self.ideas(), self.transitions(), stages)
        if portfolio_capital is None:
            return deployed
        from lake.results import latest_weights

        return sized_by_weights(deployed, latest_weights(self.lake), portfolio_capital)

    def demote_breaches(
        self, evidence: Mapping[str, PaperEvidence], config: IdeasConfig, at: datetime
    ) -> list[Move]:
        """Demote to paper, and record, every live idea whose strategy's live evidence
        (strategy → its drawdown and implementation shortfall, from the trading run) breaches
        the demotion limits; returns the moves recorded."""
        stages = current_stages(self.transitions()).filter(pl.col("stage") == "live")
        live = stages.join(self.ideas().select("name", "strategy"), left_on="idea", right_on="name")
        judged = {
            r["idea"]: (int(r["moves"]), evidence[r["strategy"]])
            for r in live.iter_rows(named=True)
            if r["strategy"] in evidence
        }
        moves = demotions(judged, config, at)
        self.record(moves)
        return moves
