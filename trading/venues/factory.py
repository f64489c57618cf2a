"""Build venues from the config: the only place that knows which class serves which kind."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trading.config import (
    CcxtVenueConfig,
    KeelConfig,
    SimVenueConfig,
    VenueConfig,
)
from trading.timeframes import utc_now
from trading.venues.base import Venue

if TYPE_CHECKING:
    from trading.venues.sim.market import SyntheticMarket


@lru_cache(maxsize=8)
def _market(seed: int) -> SyntheticMarket:
    """One synthetic market per seed per process: every simulated venue quotes around it."""
    from trading.venues.sim.market import SyntheticMarket

    return SyntheticMarket(seed)


def listed_symbols(venue: VenueConfig, config: KeelConfig) -> set[str] | None:
    """What the venue lists, so config validation can reject an unlisted symbol up front; None
    where that needs the network (a ccxt venue's markets are checked when first loaded)."""
    if isinstance(venue, SimVenueConfig):
        from trading.venues.sim.venue import sim_symbols

        return set(sim_symbols())
    if isinstance(venue, CcxtVenueConfig):
        check_ccxt_config(venue)
        return None
    from trading.venues.replay import ReplayVenue

    return ReplayVenue(venue.name, Path(venue.path), venue.instruments).listed_symbols()


def build_venue(
    venue: VenueConfig,
    config: KeelConfig,
    *,
    state_dir: Path | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Venue:
    """A ready venue for one config entry; ``state_dir`` holds simulated account state."""
    if isinstance(venue, SimVenueConfig):
        from trading.venues.sim.venue import SimVenue

        return SimVenue(
            venue.name,
            _market(config.simulation.seed),
            venue.instruments,
            liquidity=venue.liquidity,
            basis_bps=venue.basis_bps,
            maker_fee=venue.maker_fee,
            taker_fee=venue.taker_fee,
            starting_balances=venue.starting_balances,
            state_dir=state_dir,
            clock=clock,
            faults=venue.faults,
        )
    if isinstance(venue, CcxtVenueConfig):
        from trading.venues.ccxt_venue import CcxtVenue

        return CcxtVenue(
            venue.name,
            build_ccxt_exchange(venue),
            venue.instruments,
            trading_enabled=venue.trading_enabled,
            page_limit=venue.page_limit,
            balance_params=venue.balance_params,
            clock=clock,
        )
    from trading.venues.replay import ReplayVenue

    return ReplayVenue(
        venue.name,
        Path(venue.path),
        venue.instruments,
        maker_fee=venue.maker_fee,
        taker_fee=venue.taker_fee,
        clock=clock,
    )


def check_ccxt_config(venue: CcxtVenueConfig) -> None:
    """Offline checks of a ccxt venue: a known exchange id and symbols shaped for the market
    type (ccxt's unified form: ``BTC/USDT`` spot, ``BTC/USDT:USDT`` perpetual swap)."""
    import ccxt

    if venue.exchange not in ccxt.exchanges:
        close = [e for e in ccxt.exchanges if e.startswith(venue.exchange[:3])][:6]
        raise ValueError(
            f"exchange {venue.exchange!r} is not a ccxt exchange id"
            + (f"; did you mean one of {close}?" if close else "")
        )
    for symbol in venue.instruments:
        swap = ":" in symbol
        if "/" not in symbol or swap != (venue.market_type == "swap"):
            example = "BTC/USDT:USDT" if venue.market_type == "swap" else "BTC/USDT"
            raise ValueError(
                f"instrument {symbol!r} is not a unified {venue.market_type} symbol "
                f"(e.g. {example}); use one venue entry per market type"
            )


def build_ccxt_exchange(venue: CcxtVenueConfig) -> Any:
    """A configured ccxt exchange: rate limiting on, credentials from the environment."""
    import logging

    import ccxt

    from trading.venues.secrets import install_log_filter, read_credentials

    credentials = read_credentials(
        venue.name, venue.api_key_env, venue.secret_env, venue.password_env
    )
    # ccxt logs request headers (API keys) at DEBUG: keep its loggers above that, and filter.
    logging.getLogger("ccxt").setLevel(logging.INFO)
    install_log_filter()
    exchange = getattr(ccxt, venue.exchange)(
        {
            "enableRateLimit": True,
            "timeout": venue.timeout_ms,
            "options": {"defaultType": venue.market_type, **venue.options},
            **credentials.as_ccxt(),
        }
    )
    if venue.sandbox:
        exchange.set_sandbox_mode(True)
    return exchange
