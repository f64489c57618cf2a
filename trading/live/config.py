"""What trades where: each strategy's stage and capital, and the trading run's limits.

Until the ideas pipeline owns stages, they come from ``[live]`` in the config; the one seam is
``deployments``, which the run calls to learn the strategies of a stage.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from trading.configbase import _Frozen

Stage = Literal["research", "paper", "live", "retired"]
TRADING_STAGES: tuple[Stage, ...] = ("paper", "live")


class Deployment(_Frozen):
    """One strategy's stage and the capital (account currency) its weights are fractions of."""

    strategy: str
    stage: Stage = "paper"
    capital: float = Field(default=10_000.0, gt=0)


class LiveConfig(_Frozen):
    """The trading run: which strategies trade, how stale data may be, how hard to look up an
    order whose outcome is unknown."""

    strategies: tuple[Deployment, ...] = ()
    stale_bars: int = Field(
        default=2, ge=0, description="no decision when the bar closed more than this many bars ago"
    )
    lookups: int = Field(
        default=3, ge=1, description="look-ups of an unanswered create before the venue reduces"
    )
    paper_starting_balance: float = Field(default=100_000.0, gt=0)

    @field_validator("strategies")
    @classmethod
    def _each_strategy_once(cls, value: tuple[Deployment, ...]) -> tuple[Deployment, ...]:
        names = [d.strategy for d in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"strategies {twice} are listed twice; list each strategy once")
        return value


def deployments(live: LiveConfig, stages: tuple[Stage, ...] = TRADING_STAGES) -> list[Deployment]:
    """The strategies in the given stages (the seam the ideas pipeline will take over)."""
    return [d for d in live.strategies if d.stage in stages]
