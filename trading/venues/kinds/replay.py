"""Venue kind ``replay``: recorded candles from a parquet or feather file; no account."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from trading.configbase import VenueConfigBase
from trading.venues.base import Capabilities, Venue
from trading.venues.kinds.spec import Clock, VenueKind

if TYPE_CHECKING:
    from trading.config import KeelConfig


class ReplayVenueConfig(VenueConfigBase):
    """A venue that serves recorded candles from a parquet or feather file."""

    kind: Literal["replay"]
    path: str
    maker_fee: float = Field(default=0.0002, ge=-0.001, le=0.01)
    taker_fee: float = Field(default=0.0005, ge=0, le=0.01)


CAPABILITIES = Capabilities(market_data=True)


def _capabilities(venue: ReplayVenueConfig) -> Capabilities:
    return CAPABILITIES


def _build(
    venue: ReplayVenueConfig, config: KeelConfig, state_dir: Path | None, clock: Clock
) -> Venue:
    from trading.venues.replay import ReplayVenue

    return ReplayVenue(
        venue.name,
        Path(venue.path),
        venue.instruments,
        maker_fee=venue.maker_fee,
        taker_fee=venue.taker_fee,
        clock=clock,
    )


def _listed(venue: ReplayVenueConfig, config: KeelConfig) -> set[str]:
    from trading.venues.replay import ReplayVenue

    return ReplayVenue(venue.name, Path(venue.path), venue.instruments).listed_symbols()


KIND = VenueKind("replay", "recorded candles from a file", _capabilities, _build, _listed)
