"""The base of every config class: frozen, typed, and refusing unknown keys, so a typo never
silently falls back to a default. Its own module so venue kinds can define their configs
without importing the whole config file."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)


class CapsConfig(_Frozen):
    """Per-venue caps: how much may sit on one exchange, so a blow-up or hack there costs a
    bounded amount. Each is optional; the point of control reports use against each one and a
    blocking check fails when a venue is over."""

    max_equity_usd: float | None = Field(default=None, gt=0, description="most equity, in USD")
    max_equity_share: float | None = Field(
        default=None, gt=0, le=1, description="most equity as a share of the total, 0..1"
    )
    max_gross_exposure_usd: float | None = Field(
        default=None, gt=0, description="most gross exposure (sum of |position value|), in USD"
    )


class VenueConfigBase(_Frozen):
    """What every venue kind has: a name, its instruments and optional caps."""

    name: str
    instruments: tuple[str, ...] = Field(min_length=1)
    caps: CapsConfig | None = None


class AccountFaults(_Frozen):
    """Faults a simulated account injects on request (counts: the next N calls), for the live
    trading tests: a lost acknowledgement (the order is accepted, the caller hears nothing),
    a fill reported twice, an order rejected, an outage (every account call fails)."""

    lost_ack: int = Field(default=0, ge=0)
    duplicate_fill: int = Field(default=0, ge=0)
    reject: int = Field(default=0, ge=0)
    outage: int = Field(default=0, ge=0)


class SimAccountFields(_Frozen):
    """The simulated account's settings, shared by sim and paper venues."""

    starting_balances: dict[str, float] = Field(default_factory=lambda: {"USDT": 100_000.0})
    max_leverage: float = Field(default=5.0, gt=0, le=125, description="on perpetual swaps")
    participation: float = Field(
        default=0.1, gt=0, le=1, description="most of one bar's traded volume an order can take"
    )
    account_faults: AccountFaults = AccountFaults()

    @model_validator(mode="after")
    def _balances_are_not_negative(self) -> SimAccountFields:
        for asset, amount in self.starting_balances.items():
            if not amount >= 0:
                raise ValueError(f"starting_balances[{asset!r}] must be >= 0, got {amount}")
        return self
