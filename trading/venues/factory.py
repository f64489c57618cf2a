"""Build venues from the config: the only place that knows which class serves which kind."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from trading.config import KeelConfig, ReplayVenueConfig, SimVenueConfig, VenueConfig
from trading.timeframes import utc_now
from trading.venues.base import Venue


@lru_cache(maxsize=8)
def _market(seed: int) -> object:
    from trading.venues.sim.market import SyntheticMarket

    return SyntheticMarket(seed)


def _replay_path(venue: ReplayVenueConfig, base_dir: Path | None) -> Path:
    path = Path(venue.path)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return path


def listed_symbols(
    venue: VenueConfig, config: KeelConfig, base_dir: Path | None = None
) -> set[str]:
    """What the venue lists, so config validation can reject an unlisted symbol up front."""
    if isinstance(venue, SimVenueConfig):
        from trading.venues.sim.venue import sim_symbols

        return set(sim_symbols())
    from trading.venues.replay import ReplayVenue

    return ReplayVenue(
        venue.name, _replay_path(venue, base_dir), venue.instruments
    ).listed_symbols()


def build_venue(
    venue: VenueConfig,
    config: KeelConfig,
    *,
    state_dir: Path | None = None,
    base_dir: Path | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Venue:
    """A ready venue for one config entry; ``state_dir`` holds simulated account state."""
    if isinstance(venue, SimVenueConfig):
        from trading.venues.sim.market import SyntheticMarket
        from trading.venues.sim.venue import SimVenue

        market = _market(config.simulation.seed)
        assert isinstance(market, SyntheticMarket)
        return SimVenue(
            venue.name,
            market,
            venue.instruments,
            liquidity=venue.liquidity,
            basis_bps=venue.basis_bps,
            maker_fee=venue.maker_fee,
            taker_fee=venue.taker_fee,
            starting_balances=venue.starting_balances,
            state_dir=state_dir,
            clock=clock,
        )
    from trading.venues.replay import ReplayVenue

    return ReplayVenue(
        venue.name,
        _replay_path(venue, base_dir),
        venue.instruments,
        maker_fee=venue.maker_fee,
        taker_fee=venue.taker_fee,
        clock=clock,
    )
