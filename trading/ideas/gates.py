"""Gates between stages, as config, and the evidence they judge.

research → paper: out-of-sample Sharpe, length of the out-of-sample window, drawdown,
correlation to the current portfolio and excess return over BTC in bad regimes.
paper → live: days of paper trading, the parity check passing, implementation shortfall.
live → paper (automatic demotion): a live strategy past its drawdown or shortfall limit.

Every check reports the value, the threshold and by how much it fails, so ``keel idea promote``
can say which gate fails and by how much.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from trading.configbase import _Frozen


class ResearchGate(_Frozen):
    """What a researched idea must show before it trades on paper."""

    min_oos_sharpe: float = 0.5
    min_oos_months: float = Field(default=1.0, ge=0)
    max_drawdown: float = Field(default=0.25, gt=0, le=1, description="as a positive fraction")
    max_correlation: float = Field(default=0.7, ge=-1, le=1)
    min_bad_regime_excess: float = 0.0
    oos_fraction: float = Field(
        default=0.3,
        gt=0,
        lt=1,
        description="share of the backtest window, at its end, judged as out-of-sample until "
        "research reports walk-forward windows",
    )


class PaperGate(_Frozen):
    """What a paper strategy must show before it trades live."""

    min_days: float = Field(default=14.0, ge=0)
    parity_required: bool = True
    max_shortfall_bps: float = Field(default=15.0, ge=0)


class DemotionLimits(_Frozen):
    """A live strategy beyond either limit goes back to paper, automatically."""

    max_drawdown: float = Field(default=0.2, gt=0, le=1)
    max_shortfall_bps: float = Field(default=30.0, ge=0)


class IdeasConfig(_Frozen):
    """The gates, and the capital caps of each trading stage."""

    research_gate: ResearchGate = ResearchGate()
    paper_gate: PaperGate = PaperGate()
    demotion: DemotionLimits = DemotionLimits()
    paper_capital: float = Field(default=10_000.0, gt=0, description="cap on paper")
    live_capital: float = Field(default=10_000.0, gt=0, description="cap when first live")
    override_capital: float = Field(
        default=1_000.0, gt=0, description="cap when a failing gate is overridden"
    )


@dataclass(frozen=True, slots=True)
class ResearchEvidence:
    """A research run's figures, as the research → paper gate reads them."""

    run_id: str
    oos_sharpe: float
    oos_months: float
    max_drawdown: float  # negative or zero, as research reports it
    correlation: float  # to the current portfolio's returns; 0 when the portfolio is empty
    bad_regime_excess: float  # annualized, over BTC


@dataclass(frozen=True, slots=True)
class PaperEvidence:
    """A paper (or live) period's figures, as the paper → live gate and demotion read them.
    Produced by the trading run (parity check, implementation shortfall)."""

    days: float
    parity_passed: bool
    shortfall_bps: float
    max_drawdown: float = 0.0  # negative or zero


@dataclass(frozen=True, slots=True)
class Check:
    """One gate condition: its value against its threshold."""

    name: str
    value: float
    threshold: float
    kind: Literal["min", "max"]

    @property
    def passed(self) -> bool:
        """Whether the value is on the right side of the threshold."""
        return self.value >= self.threshold if self.kind == "min" else self.value <= self.threshold

    @property
    def gap(self) -> float:
        """By how much it fails (0 when it passes)."""
        return 0.0 if self.passed else abs(self.value - self.threshold)

    def describe(self) -> str:
        """E.g. ``oos_sharpe 0.31 < 0.50 (short by 0.19)``."""
        signs = {("min", True): ">=", ("min", False): "<", ("max", True): "<=", ("max", False): ">"}
        sign = signs[(self.kind, self.passed)]
        text = f"{self.name} {self.value:.2f} {sign} {self.threshold:.2f}"
        if self.passed:
            return text
        return f"{text} ({'short' if self.kind == 'min' else 'over'} by {self.gap:.2f})"


def research_checks(evidence: ResearchEvidence, gate: ResearchGate) -> list[Check]:
    """The research → paper gate's checks (drawdown compared as a positive fraction)."""
    return [
        Check("oos_sharpe", evidence.oos_sharpe, gate.min_oos_sharpe, "min"),
        Check("oos_months", evidence.oos_months, gate.min_oos_months, "min"),
        Check("max_drawdown", abs(evidence.max_drawdown), gate.max_drawdown, "max"),
        Check("correlation", evidence.correlation, gate.max_correlation, "max"),
        Check("bad_regime_excess", evidence.bad_regime_excess, gate.min_bad_regime_excess, "min"),
    ]


def paper_checks(evidence: PaperEvidence, gate: PaperGate) -> list[Check]:
    """The paper → live gate's checks."""
    checks = [Check("paper_days", evidence.days, gate.min_days, "min")]
    if gate.parity_required:
        checks.append(Check("parity", float(evidence.parity_passed), 1.0, "min"))
    checks.append(Check("shortfall_bps", evidence.shortfall_bps, gate.max_shortfall_bps, "max"))
    return checks


def demotion_checks(evidence: PaperEvidence, limits: DemotionLimits) -> list[Check]:
    """The limits a live strategy must stay within; a failing one demotes it to paper."""
    return [
        Check("max_drawdown", abs(evidence.max_drawdown), limits.max_drawdown, "max"),
        Check("shortfall_bps", evidence.shortfall_bps, limits.max_shortfall_bps, "max"),
    ]


def failing(checks: Sequence[Check]) -> list[Check]:
    """The checks that fail."""
    return [c for c in checks if not c.passed]
