"""Trading states, the kill switch: ACTIVE, REDUCING (only orders that shrink a position) and
HALTED (no new orders; open ones are cancelled), scoped to everything, a venue, a strategy or an
instrument. The most restrictive state of every scope that covers an order applies.

States are an append-only log of changes (who, when, why); the latest change per scope wins, so
``keel resume --venue x`` undoes ``keel halt --venue x`` without touching other scopes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import polars as pl

State = Literal["ACTIVE", "REDUCING", "HALTED"]
Scope = Literal["all", "venue", "strategy", "instrument"]
STATES: tuple[State, ...] = ("ACTIVE", "REDUCING", "HALTED")
SCOPES: tuple[Scope, ...] = ("all", "venue", "strategy", "instrument")
_RANK = {"ACTIVE": 0, "REDUCING": 1, "HALTED": 2}

STATE_LAYOUT: dict[str, pl.DataType] = {
    "at": pl.Datetime("us", "UTC"),
    "scope": pl.String(),
    "target": pl.String(),  # "*" for scope "all"
    "state": pl.String(),
    "reason": pl.String(),
    "source": pl.String(),  # cli, run <id>, ...
}


@dataclass(frozen=True, slots=True)
class StateChange:
    """One change of a scope's trading state."""

    at: datetime
    scope: Scope
    target: str
    state: State
    reason: str
    source: str

    def row(self) -> dict[str, object]:
        """The change as a journal row."""
        return {
            "at": self.at,
            "scope": self.scope,
            "target": self.target,
            "state": self.state,
            "reason": self.reason,
            "source": self.source,
        }


def change(
    state: State, at: datetime, reason: str, source: str, scope: Scope = "all", target: str = "*"
) -> StateChange:
    """A validated change: scope ``all`` has target ``*``, every other scope names its target."""
    if state not in STATES:
        raise ValueError(f"unknown trading state {state!r}; use one of {', '.join(STATES)}")
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; use one of {', '.join(SCOPES)}")
    if (scope == "all") != (target == "*"):
        raise ValueError(f"scope {scope!r} needs {'no' if scope == 'all' else 'a'} target")
    if not reason.strip():
        raise ValueError("say why the trading state changes (--reason)")
    return StateChange(at, scope, target, state, reason, source)


@dataclass(frozen=True, slots=True)
class TradingStates:
    """The current state of every scope that was ever changed (absent means ACTIVE)."""

    current: dict[tuple[str, str], StateChange]

    @staticmethod
    def from_log(log: pl.DataFrame) -> TradingStates:
        """Fold the change log: the latest change per (scope, target) wins."""
        current: dict[tuple[str, str], StateChange] = {}
        for row in log.sort("at", maintain_order=True).iter_rows(named=True):
            current[(row["scope"], row["target"])] = StateChange(
                row["at"], row["scope"], row["target"], row["state"], row["reason"], row["source"]
            )
        return TradingStates(current)

    def of(
        self, *, venue: str | None = None, strategy: str | None = None, symbol: str | None = None
    ) -> State:
        """The most restrictive state covering an order on this venue/strategy/instrument."""
        keys = [("all", "*")]
        keys += [("venue", venue)] if venue else []
        keys += [("strategy", strategy)] if strategy else []
        keys += [("instrument", symbol)] if symbol else []
        worst: State = "ACTIVE"
        for key in keys:
            found = self.current.get(key)
            if found is not None and _RANK[found.state] > _RANK[worst]:
                worst = found.state
        return worst

    def why(
        self, *, venue: str | None = None, strategy: str | None = None, symbol: str | None = None
    ) -> str:
        """The reasons behind a non-active state, for denials and the run's report."""
        parts = []
        for (scope, target), c in sorted(self.current.items()):
            if c.state == "ACTIVE":
                continue
            if (
                scope == "all"
                or (scope == "venue" and target == venue)
                or (scope == "strategy" and target == strategy)
                or (scope == "instrument" and target == symbol)
            ):
                parts.append(f"{c.state} {scope} {target}: {c.reason} ({c.source}, {c.at:%H:%M})")
        return "; ".join(parts)

    def non_active(self) -> list[StateChange]:
        """Every scope not ACTIVE, for ``keel status``."""
        return [c for _, c in sorted(self.current.items()) if c.state != "ACTIVE"]
