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
    """The paper twin of a venue: a simulated account (state under ``state_dir/paper``, named
    like the venue) that fills against that venue's own market data."""
    from trading.venues.factory import build_venue
    from trading.venues.kinds.paper import PaperVenueConfig
    from trading.venues.paper import PaperVenue

    twin = PaperVenueConfig(
        kind="paper",
        name=venue.name,
        market=venue.name,
        instruments=venue.instruments,
        starting_balances={"USDT": config.live.paper_starting_balance},
        # Fill like the venue's own simulated account would (depth and leverage), if it has one.
        **{k: getattr(venue, k) for k in ("participation", "max_leverage") if hasattr(venue, k)},
    )
    market = build_venue(venue, config, state_dir=state_dir, clock=clock)
    return PaperVenue(twin, market, state_dir=state_dir / "paper", clock=clock)


def live_trading_enabled(venue: VenueConfig) -> bool:
    """Live orders are refused unless the venue opts in; a simulated venue is its own
    simulator (no real money), so it always may."""
    return isinstance(venue, SimVenueConfig) or bool(getattr(venue, "trading_enabled", False))


def tradable(venue: VenueConfig) -> bool:
    """Venues with market data of their own and an account: what decisions name. Replay venues
    have no account; configured paper venues are accounts without market data of their own."""
    from trading.venues.kinds import capabilities_of

    caps = capabilities_of(venue)
    return caps.market_data and caps.account


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
        if not tradable(v):
            continue
        for stage in sorted(used):
            venue = (
                paper_venue(v, config, state_dir, clock) if stage == "paper" else live_venue(v.name)
            )
            listed = [i for i in venue.instruments() if i.symbol in v.instruments]
            enabled = True if stage == "paper" else live_trading_enabled(v)
            out[(stage, v.name)] = Account(stage, venue, tuple(listed), enabled)
    return out
