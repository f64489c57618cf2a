"""Venue kind ``sim``: a simulated exchange over the seeded synthetic market, with a simulated
account (margin, fees, partial fills, resting orders, funding, faults)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator, model_validator

from trading.configbase import SimAccountFields, VenueConfigBase, _Frozen
from trading.venues.base import Capabilities, Venue
from trading.venues.kinds.spec import Clock, VenueKind

if TYPE_CHECKING:
    from trading.config import KeelConfig
    from trading.venues.sim.market import SyntheticMarket


def _as_utc(value: datetime) -> datetime:
    """Times in the config without a zone mean UTC, like every time in Keel."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class GapFault(_Frozen):
    """Bars of one symbol the simulated exchange leaves out, ``start <= ts < end``."""

    symbol: str
    start: datetime
    end: datetime

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _as_utc(value)

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> GapFault:
        if self.end <= self.start:
            raise ValueError(
                f"gap of {self.symbol} ends ({self.end}) before it starts ({self.start}); "
                "swap start and end"
            )
        return self


class BarFault(_Frozen):
    """One bar the simulated exchange corrupts: ``spike`` multiplies its prices by ``factor``
    (plausible-looking but wrong), ``broken`` puts its low above its high."""

    symbol: str
    ts: datetime
    kind: Literal["spike", "broken"] = "spike"
    factor: float = Field(default=10.0, gt=0)

    @field_validator("ts")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _as_utc(value)


class FaultConfig(_Frozen):
    """Market-data faults a simulated venue injects, to test data-quality gates end to end."""

    gaps: tuple[GapFault, ...] = ()
    bars: tuple[BarFault, ...] = ()
    duplicates: bool = Field(default=False, description="repeat the last bars of every fetch")
    out_of_order: bool = Field(default=False, description="return every fetch shuffled")


class SimVenueConfig(VenueConfigBase, SimAccountFields):
    """A simulated exchange over the seeded synthetic market."""

    kind: Literal["sim"]
    liquidity: float = Field(default=1.0, gt=0, description="relative depth: scales volume")
    basis_bps: float = Field(default=5.0, ge=0, description="std of the price basis vs the market")
    maker_fee: float = Field(default=0.0002, ge=-0.001, le=0.01)
    taker_fee: float = Field(default=0.0005, ge=0, le=0.01)
    faults: FaultConfig = FaultConfig()

    @model_validator(mode="after")
    def _faults_name_listed_symbols(self) -> SimVenueConfig:
        listed = set(self.instruments)
        faults: list[GapFault | BarFault] = [*self.faults.gaps, *self.faults.bars]
        for fault in faults:
            if fault.symbol not in listed:
                raise ValueError(
                    f"a fault names {fault.symbol!r}, which {self.name} does not list; "
                    f"use one of: {', '.join(self.instruments)}"
                )
        return self


CAPABILITIES = Capabilities(
    simulated=True,
    market_data=True,
    funding_history=True,
    account=True,
    trading=True,
    post_only=True,
    reduce_only=True,
    time_in_force=frozenset({"GTC", "IOC", "FOK"}),
)


@lru_cache(maxsize=8)
def synthetic_market(seed: int) -> SyntheticMarket:
    """One synthetic market per seed per process: every simulated venue quotes around it."""
    from trading.venues.sim.market import SyntheticMarket

    return SyntheticMarket(seed)


def _capabilities(venue: SimVenueConfig) -> Capabilities:
    return CAPABILITIES


def _build(
    venue: SimVenueConfig, config: KeelConfig, state_dir: Path | None, clock: Clock
) -> Venue:
    from trading.venues.sim.venue import SimVenue

    return SimVenue(
        venue.name,
        synthetic_market(config.simulation.seed),
        venue.instruments,
        liquidity=venue.liquidity,
        basis_bps=venue.basis_bps,
        maker_fee=venue.maker_fee,
        taker_fee=venue.taker_fee,
        account=venue,
        state_dir=state_dir,
        clock=clock,
        faults=venue.faults,
    )


def _listed(venue: SimVenueConfig, config: KeelConfig) -> set[str]:
    from trading.venues.sim.venue import sim_symbols

    return set(sim_symbols())


KIND = VenueKind("sim", "a simulated exchange", _capabilities, _build, _listed)
