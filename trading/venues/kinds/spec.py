"""What a venue kind registers: its config class, its capabilities and how to build it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trading.venues.base import Capabilities, Venue

if TYPE_CHECKING:
    from trading.config import KeelConfig

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class VenueKind:
    """One venue kind. ``capabilities`` answers from the config alone (no network, no build),
    so assets and checks can ask it while the definitions load."""

    name: str
    summary: str
    capabilities: Callable[[Any], Capabilities]
    build: Callable[[Any, KeelConfig, Path | None, Clock], Venue]
    listed_symbols: Callable[[Any, KeelConfig], set[str] | None]
