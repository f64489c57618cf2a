"""Every venue kind, registered: a new kind is one module (config class, capabilities,
builder) plus one line in ``KINDS`` and one in ``VenueConfig`` here."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import Field

from trading.venues.base import Capabilities
from trading.venues.kinds import ccxt, paper, replay, sim
from trading.venues.kinds.ccxt import CcxtVenueConfig
from trading.venues.kinds.paper import PaperVenueConfig
from trading.venues.kinds.replay import ReplayVenueConfig
from trading.venues.kinds.sim import SimVenueConfig
from trading.venues.kinds.spec import VenueKind

KINDS: dict[str, VenueKind] = {k.name: k for k in (sim.KIND, replay.KIND, ccxt.KIND, paper.KIND)}

VenueConfig = Annotated[
    SimVenueConfig | ReplayVenueConfig | CcxtVenueConfig | PaperVenueConfig,
    Field(discriminator="kind"),
]


def kind_of(venue: Any) -> VenueKind:
    """The registered kind of a venue config."""
    return KINDS[str(venue.kind)]


def capabilities_of(venue: object) -> Capabilities:
    """What a configured venue can do, from its config alone (no build, no network)."""
    return kind_of(venue).capabilities(venue)


def describe_kinds() -> str:
    """Every kind with a one-line summary, for config errors."""
    return ", ".join(f"{name} ({k.summary})" for name, k in KINDS.items())


def market_venues(venues: Iterable[Any]) -> list[Any]:
    """The configured venues that have market data of their own (paper venues quote from
    another venue's, so they store none)."""
    return [v for v in venues if capabilities_of(v).market_data]


def account_venues(venues: Iterable[Any]) -> list[Any]:
    """The configured venues with an account to sync."""
    return [v for v in venues if capabilities_of(v).account]
