"""Build venues from the config through the kind registry (``trading.venues.kinds``): the only
place that turns a config entry into a venue object."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from trading.config import KeelConfig, VenueConfig
from trading.timeframes import utc_now
from trading.venues.base import Venue
from trading.venues.kinds import kind_of
from trading.venues.kinds.ccxt import build_ccxt_exchange, check_ccxt_config
from trading.venues.kinds.sim import synthetic_market

__all__ = [
    "build_ccxt_exchange",
    "build_venue",
    "check_ccxt_config",
    "listed_symbols",
    "synthetic_market",
]


def listed_symbols(venue: VenueConfig, config: KeelConfig) -> set[str] | None:
    """What the venue lists, so config validation can reject an unlisted symbol up front; None
    where that needs the network (a ccxt venue's markets are checked when first loaded)."""
    return kind_of(venue).listed_symbols(venue, config)


def build_venue(
    venue: VenueConfig | Any,
    config: KeelConfig,
    *,
    state_dir: Path | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Venue:
    """A ready venue for one config entry; ``state_dir`` holds simulated account state."""
    return kind_of(venue).build(venue, config, state_dir, clock)
