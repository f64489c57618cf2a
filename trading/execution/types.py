"""The frozen values execution and risk pass around: what the account and market look like at
decision time, and the orders the plan produces. Quantities are base-asset units, money USD."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from trading.costs import Style
from trading.venues.base import Instrument, InstrumentKind, Side


@dataclass(frozen=True, slots=True)
class VenueState:
    """One venue's account at decision time, against its caps. ``pending_notional_usd`` counts
    open and in-flight orders (they may still fill); an unhealthy venue (halted, stale, down)
    gets no new exposure."""

    venue: str
    equity_usd: float
    gross_exposure_usd: float
    pending_notional_usd: float = 0.0
    max_gross_exposure_usd: float | None = None
    max_equity_usd: float | None = None
    healthy: bool = True


@dataclass(frozen=True, slots=True)
class MarketStat:
    """What the router knows of one market's liquidity: typical daily traded value (USD),
    daily return volatility, traded value in one bar (for TWAP slicing)."""

    adv_usd: float
    daily_vol: float
    bar_volume_usd: float


@dataclass(frozen=True, slots=True)
class Mark:
    """A reference price and when it was observed (the collar needs it fresh)."""

    price: float
    ts: datetime


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The account as the plan and the gate see it: ``positions`` per (venue, symbol) in base
    units, reference ``marks`` per (venue, symbol), ``orders_last_minute`` per venue for the
    rate limit, ``data_age_bars`` of the features the decision used. ``pinned_positions``:
    the part of each (venue, symbol) position the pinned legs' own orders filled there."""

    ts: datetime
    bar_ts: datetime
    positions: Mapping[tuple[str, str], float]
    venues: Mapping[str, VenueState]
    marks: Mapping[tuple[str, str], Mark]
    data_age_bars: int = 0
    daily_pnl_usd: float = 0.0
    orders_last_minute: Mapping[str, int] = field(default_factory=dict)
    rewards_spent_today_usd: float = 0.0
    pinned_positions: Mapping[tuple[str, str], float] = field(default_factory=dict)

    def position(self, venue: str, symbol: str) -> float:
        """Signed base units held on a venue (0 when flat or unknown)."""
        return self.positions.get((venue, symbol), 0.0)

    def net_position(self, symbol: str) -> float:
        """Signed base units of an instrument summed over venues."""
        return sum(q for (_, s), q in self.positions.items() if s == symbol)


@dataclass(frozen=True, slots=True)
class PlannedOrder:
    """One child order: a slice of a venue leg of a parent order. ``price`` is the reference
    price (the limit for maker orders); ``not_before`` is when a TWAP slice may be sent.
    ``pinned``: a leg of a parent pinned to ``venue`` (a cross-venue basis leg), else a leg of
    the venue-neutral parent the router split; ``style`` is how it executes (not in its id)."""

    client_order_id: str
    bar_ts: datetime
    instrument: str
    venue: str
    side: Side
    amount: float
    price: float
    style: Style
    pinned: bool
    slice: int
    not_before: datetime
    kind: InstrumentKind = "swap"
    expected_cost_usd: float = 0.0
    rewards_usd: float = 0.0

    @property
    def notional_usd(self) -> float:
        """Amount times reference price."""
        return self.amount * self.price

    @property
    def signed_amount(self) -> float:
        """Positive for buys, negative for sells."""
        return self.amount if self.side == "buy" else -self.amount


@dataclass(frozen=True, slots=True)
class Dropped:
    """Quantity the plan could not send, and why (below a minimum, step remainder, no venue).
    ``amount`` is in base units, or in USD (``unit``) when the instrument has no price;
    ``pinned``: it was a pinned parent's (its owners are the pinned strategies)."""

    instrument: str
    venue: str
    amount: float
    reason: str
    unit: Literal["base", "usd"] = "base"
    pinned: bool = False


def base_step(instrument: Instrument) -> float:
    """The amount step in base units (the venue layer converts contracts at its boundary)."""
    return instrument.amount_step


def base_min_amount(instrument: Instrument) -> float:
    """The minimum order amount in base units."""
    return instrument.min_amount
