"""The accounts a run trades: each venue itself for live strategies, a paper twin for paper ones.

A paper account is the venue's own market data with a simulated account (its state kept apart
from the live account's), so paper fills are priced by the same market the live venue quotes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from trading.config import KeelConfig, SimVenueConfig, VenueConfig
from trading.live.config import Stage
from trading.live.run import Account
from trading.venues.base import Venue


def paper_venue(
    venue: VenueConfig, config: KeelConfig, state_dir: Path, clock: Callable[[], datetime]
) -> Venue:
    """The paper twin of a venue: its market data, a simulated account under ``state_dir``."""
    from trading.venues.factory import build_venue

    if not isinstance(venue, SimVenueConfig):
        raise ValueError(
            f"paper trading on {venue.name} (kind {venue.kind}) needs the paper venue; "
            "only simulated venues have a paper twin in this build"
        )
    twin = venue.model_copy(
        update={"starting_balances": {"USDT": config.live.paper_starting_balance}}
    )
    return build_venue(twin, config, state_dir=state_dir / "paper", clock=clock)


def live_trading_enabled(venue: VenueConfig) -> bool:
    """Live orders are refused unless the venue opts in; a simulated venue is its own
    simulator (no real money), so it always may."""
    return isinstance(venue, SimVenueConfig) or bool(getattr(venue, "trading_enabled", False))


def build_accounts(
    config: KeelConfig,
    state_dir: Path,
    clock: Callable[[], datetime],
    live_venue: Callable[[str], Venue],
    stages: tuple[Stage, ...],
) -> dict[tuple[str, str], Account]:
    """One account per venue and trading stage (the stages that have strategies deployed)."""
    used = set(stages)
    out: dict[tuple[str, str], Account] = {}
    for v in config.venues:
        if v.kind == "replay":
            continue  # recorded data only: nothing to trade
        for stage in sorted(used):
            venue = (
                paper_venue(v, config, state_dir, clock) if stage == "paper" else live_venue(v.name)
            )
            listed = [i for i in venue.instruments() if i.symbol in v.instruments]
            enabled = True if stage == "paper" else live_trading_enabled(v)
            out[(stage, v.name)] = Account(stage, venue, tuple(listed), enabled)
    return out
