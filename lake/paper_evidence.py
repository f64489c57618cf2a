"""A strategy's paper (or live) evidence, read from the lake: its stint from
``ideas/transitions``, parity from ``live/parity``, shortfall from ``live/shortfall`` and
drawdown from ``live/net_targets`` (``trading.ideas.paper`` says why each source)."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from lake import catalog
from lake.live import live_table, shortfall_table
from lake.store import Lake
from trading.ideas.gates import PaperEvidence
from trading.ideas.paper import stint_evidence


def entered(transitions: pl.DataFrame, idea: str, stage: str) -> datetime | None:
    """When the idea last moved into ``stage`` (None when it never did)."""
    moves = transitions.filter(pl.col("idea") == idea, pl.col("to_stage") == stage)
    if moves.is_empty():
        return None
    at = moves.sort("seq")["at"][-1]
    return at if isinstance(at, datetime) else None


def stage_evidence(
    lake: Lake,
    journal_lake: Lake,
    idea: str,
    stage: str,
    now: datetime,
    shortfall: pl.DataFrame | None = None,
) -> tuple[PaperEvidence, int] | None:
    """The idea's strategy's evidence since it last entered ``stage``, and the fills behind
    its shortfall; None when it never entered it. ``shortfall`` overrides ``live/shortfall``
    (the trading run passes the one it just computed)."""
    ideas = lake.scan(catalog.ideas()).filter(pl.col("name") == idea).collect()
    if ideas.is_empty():
        raise KeyError(f"no idea named {idea!r} (keel idea list shows them all)")
    since = entered(lake.scan(catalog.idea_transitions()).collect(), idea, stage)
    if since is None:
        return None
    strategy = str(ideas["strategy"][0])
    mine = pl.col("strategy") == strategy
    return stint_evidence(
        strategy,
        stage,
        since,
        now,
        journal_lake.scan(live_table("parity")).filter(mine).collect(),
        shortfall if shortfall is not None else journal_lake.scan(shortfall_table()).collect(),
        journal_lake.scan(live_table("net_targets")).filter(mine).collect(),
    )
