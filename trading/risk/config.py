"""The ``[risk]`` config: every limit of the pre-trade gate, frozen, unknown keys rejected.

A limit left unset (``None``) is not checked; every other one is checked on every order. Limits
in USD are notional at the reference price; quantities are base-asset units. Per-venue caps are
not here: they are each venue's ``caps`` in the venue config (``trading.configbase.CapsConfig``),
read by the ledger, the router and the gate alike.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from trading.configbase import _Frozen

TradingState = Literal["ACTIVE", "REDUCING", "HALTED"]
Scope = Literal["all", "venue", "strategy", "instrument"]


class StateRule(_Frozen):
    """A trading state for one scope: ``all`` (``name`` empty), a venue, a strategy or an
    instrument. REDUCING lets only orders that shrink exposure pass; HALTED only cancels."""

    scope: Scope
    name: str = ""
    state: TradingState

    @model_validator(mode="after")
    def _name_matches_scope(self) -> StateRule:
        if self.scope == "all" and self.name:
            raise ValueError("scope 'all' takes no name; remove name or pick another scope")
        if self.scope != "all" and not self.name:
            raise ValueError(f"scope {self.scope!r} needs the name of the {self.scope}")
        return self


class RiskConfig(_Frozen):
    """Limits of the pre-trade gate (``[risk]`` in keel.toml)."""

    max_order_notional_usd: float | None = Field(default=None, gt=0)
    max_order_amount: dict[str, float] = Field(
        default_factory=dict, description="per canonical instrument, base units"
    )
    max_position_usd: float | None = Field(default=None, gt=0, description="per instrument")
    max_gross_exposure_usd: float | None = Field(default=None, gt=0)
    max_net_exposure_usd: float | None = Field(default=None, gt=0)
    max_strategy_gross_usd: float | None = Field(default=None, gt=0)
    max_strategy_net_usd: float | None = Field(default=None, gt=0)
    price_collar_bps: float | None = Field(default=None, gt=0)
    max_price_age_seconds: float = Field(default=120.0, gt=0)
    max_data_age_bars: int = Field(default=1, ge=0)
    max_orders_per_minute: int | None = Field(default=None, gt=0, description="per venue")
    max_daily_loss_usd: float | None = Field(default=None, gt=0)
    states: tuple[StateRule, ...] = ()

    @model_validator(mode="after")
    def _one_state_per_scope(self) -> RiskConfig:
        seen: set[tuple[str, str]] = set()
        for rule in self.states:
            key = (rule.scope, rule.name)
            if key in seen:
                raise ValueError(f"trading state for {rule.scope} {rule.name!r} is set twice")
            seen.add(key)
        return self
