"""Trading states by scope. The strictest state that covers an order wins: HALTED over
REDUCING over ACTIVE, from any of: everything, the order's venue, its instrument, a strategy."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from trading.risk.config import Scope, StateRule, TradingState

_RANK: dict[TradingState, int] = {"ACTIVE": 0, "REDUCING": 1, "HALTED": 2}


@dataclass(frozen=True, slots=True)
class Denial:
    """Why an order (or a strategy's targets) did not pass: a value, never an exception.
    ``client_order_id`` is empty for a strategy-level denial."""

    reason: str
    scope: Scope
    name: str
    detail: str
    client_order_id: str = ""


class States:
    """The configured (and runtime-added) states, looked up by scope and name."""

    def __init__(self, rules: Iterable[StateRule]) -> None:
        self._by: dict[tuple[str, str], TradingState] = {(r.scope, r.name): r.state for r in rules}

    def of(self, scope: Scope, name: str = "") -> TradingState:
        """The state set for exactly this scope (ACTIVE when none)."""
        return self._by.get((scope, name), "ACTIVE")

    def strictest(self, **names: str) -> tuple[TradingState, Scope, str]:
        """The strictest state among ``all`` and the given scopes, e.g.
        ``strictest(venue="x", instrument="BTC/USDT:USDT")``, with the scope that set it."""
        best: tuple[TradingState, Scope, str] = (self.of("all"), "all", "")
        for scope, name in names.items():
            state = self.of(scope, name)  # type: ignore[arg-type]
            if _RANK[state] > _RANK[best[0]]:
                best = (state, scope, name)  # type: ignore[assignment]
        return best
