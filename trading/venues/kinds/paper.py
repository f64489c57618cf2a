"""Venue kind ``paper``: any configured venue's market data (sim, replay, or a real exchange's
public data through ccxt, no keys) plus a simulated account. The "paper" stage of a model.

```toml
[[venues]]
kind = "paper"
name = "paper_binance"
market = "binance_spot"          # the venue it quotes from (its own market data is stored once)
instruments = ["BTC/USDT"]       # a subset of that venue's instruments
starting_balances = { USDT = 50000 }
```
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from trading.configbase import SimAccountFields, VenueConfigBase
from trading.timeframes import TIMEFRAME_MINUTES
from trading.venues.base import Capabilities, Venue
from trading.venues.kinds.spec import Clock, VenueKind

if TYPE_CHECKING:
    from trading.config import KeelConfig


class PaperVenueConfig(VenueConfigBase, SimAccountFields):
    """A simulated account quoting from another configured venue's market data."""

    kind: Literal["paper"]
    market: str = Field(description="name of the configured venue whose market data it uses")
    quote_timeframe: str = Field(default="1m", description="bars orders are matched against")
    maker_fee: float | None = Field(default=None, ge=-0.001, le=0.01, description="else market's")
    taker_fee: float | None = Field(default=None, ge=0, le=0.01, description="else market's")

    def model_post_init(self, _: object) -> None:
        if self.quote_timeframe not in TIMEFRAME_MINUTES:
            raise ValueError(
                f"quote_timeframe {self.quote_timeframe!r} is unknown; use one of "
                + ", ".join(TIMEFRAME_MINUTES)
            )


CAPABILITIES = Capabilities(
    simulated=True,
    market_data=False,  # its market venue stores the market data
    funding_history=False,
    account=True,
    trading=True,
    post_only=True,
    reduce_only=True,
    time_in_force=frozenset({"GTC", "IOC", "FOK"}),
)


def _capabilities(venue: PaperVenueConfig) -> Capabilities:
    return CAPABILITIES


def _market_config(venue: PaperVenueConfig, config: KeelConfig) -> object:
    from trading.venues.kinds import capabilities_of

    market = config.venue(venue.market)
    if not capabilities_of(market).market_data:
        raise ValueError(
            f"paper venue {venue.name!r} quotes from {venue.market!r}, which has no market data "
            "of its own; name a sim, replay or ccxt venue"
        )
    return market


def _build(
    venue: PaperVenueConfig, config: KeelConfig, state_dir: Path | None, clock: Clock
) -> Venue:
    from trading.venues.factory import build_venue
    from trading.venues.paper import PaperVenue

    market = build_venue(_market_config(venue, config), config, state_dir=state_dir, clock=clock)  # type: ignore[arg-type]
    return PaperVenue(venue, market, state_dir=state_dir, clock=clock)


def _listed(venue: PaperVenueConfig, config: KeelConfig) -> set[str]:
    market = _market_config(venue, config)
    return set(getattr(market, "instruments", ()))


KIND = VenueKind(
    "paper", "a simulated account over another venue's market data", _capabilities, _build, _listed
)
