"""What each venue charges, pays and can take for one parent order: the router's input.

Fees at the account's tier, half spread and square-root impact from ``trading.costs`` (the
model research uses), rewards from the venue's program, and capacity from its caps counting
open and in-flight orders. Capacity is tracked across the parents of one plan: what one
instrument takes on a venue is not there for the next.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from trading.costs import Style, expected_maker
from trading.execution.config import RoutingConfig
from trading.execution.rewards import fee_rate, points_rate, tier_reward, venue_rewards
from trading.execution.router import VenueQuote
from trading.execution.types import MarketStat, Snapshot
from trading.venues.base import Instrument


@dataclass(slots=True)
class Capacity:
    """Per-venue gross exposure and per-market positions, moved by every routed leg."""

    snapshot: Snapshot
    gross: dict[str, float]
    positions: dict[tuple[str, str], float]

    @classmethod
    def of(cls, snapshot: Snapshot) -> Capacity:
        """Start from the snapshot's venue states and positions."""
        gross = {v: s.gross_exposure_usd for v, s in snapshot.venues.items()}
        return cls(snapshot, gross, dict(snapshot.positions))

    def usd(
        self, venue: str, symbol: str, direction: float, price: float, spot: bool = False
    ) -> float:
        """The most USD a leg in ``direction`` (+1 buy, −1 sell) may trade on the venue:
        nothing on an unhealthy or unknown venue; reducing an opposite position is always
        room; beyond that, what the venue's gross cap leaves after open orders; only the
        reducing part on a venue over its equity cap; a spot sell no more than is held."""
        state = self.snapshot.venues.get(venue)
        if state is None or not state.healthy:
            return 0.0
        held = self.positions.get((venue, symbol), 0.0)
        reducing = max(0.0, -direction * held) * price
        if spot and direction < 0:
            return reducing
        if state.max_equity_usd is not None and state.equity_usd > state.max_equity_usd:
            return reducing
        if state.max_gross_exposure_usd is None:
            return math.inf
        head = state.max_gross_exposure_usd - state.pending_notional_usd - self.gross[venue]
        return max(reducing, head + 2.0 * reducing)

    def take(self, venue: str, symbol: str, signed_qty: float, price: float) -> None:
        """Record a routed leg."""
        held = self.positions.get((venue, symbol), 0.0)
        self.positions[(venue, symbol)] = held + signed_qty
        self.gross[venue] = (
            self.gross.get(venue, 0.0) + (abs(held + signed_qty) - abs(held)) * price
        )


def quote(
    instrument: Instrument,
    stat: MarketStat | None,
    config: RoutingConfig,
    style: Style,
    capacity_usd: float,
    routed_usd: float = 0.0,
) -> VenueQuote:
    """The router's view of one venue in one style for one parent; ``routed_usd`` is the volume
    earlier parents of the same plan already sent there (it counts toward the next fee tier).
    A maker quote is an expectation over its fill (``MakerModel``): the filled share pays the
    maker fee and adverse selection, the rest crosses as a taker at the end of the wait (taker
    fee, half spread, impact on the remainder), and the whole leg pays ``urgency_bps``."""
    rewards = venue_rewards(config, instrument.venue)
    if routed_usd > 0.0:
        rewards = rewards.model_copy(update={"volume_30d_usd": rewards.volume_30d_usd + routed_usd})
    tier_rate, gap = tier_reward(rewards, style, config.tier_horizon_days)
    fee = fee_rate(instrument, rewards, "taker")
    spread_bps, impact_k = rewards.half_spread_bps, rewards.impact_k
    points = points_rate(rewards, "taker")
    p = 0.0
    if style == "maker":
        model = rewards.maker or config.maker
        p = model.fill_probability
        maker_fee = fee_rate(instrument, rewards, "maker")
        fee, spread_bps, impact_k = expected_maker(
            maker_fee,
            fee,
            spread_bps,
            impact_k,
            p,
            model.adverse_selection_bps,
            config.urgency_bps,
        )
        points = p * points_rate(rewards, "maker") + (1.0 - p) * points
    known = stat is not None and math.isfinite(stat.adv_usd) and stat.adv_usd > 0.0
    impact_b = (
        impact_k * max(stat.daily_vol, 0.0) / math.sqrt(stat.adv_usd)
        if known and stat is not None
        else math.inf
    )
    if p >= 1.0:
        impact_b = 0.0  # a maker order sure to fill never crosses: no depth needed
    return VenueQuote(
        venue=instrument.venue,
        fee=fee,
        spread=spread_bps * 1e-4,
        impact_b=impact_b,
        points_rate=points,
        tier_rate=tier_rate,
        tier_gap_usd=gap,
        capacity_usd=capacity_usd,
        style=style,
    )


def styles(config: RoutingConfig) -> tuple[Style, ...]:
    """The execution styles the router may choose from."""
    return ("taker", "maker") if config.style == "auto" else (config.style,)


def reference_price(symbol: str, venues: list[str], snapshot: Snapshot) -> float | None:
    """One price per instrument, to turn USD into base units the same way on every venue: the
    mean of the venues' marks (venues sorted, so the result is deterministic)."""
    prices = [
        m.price
        for v in venues
        if (m := snapshot.marks.get((v, symbol))) is not None and m.price > 0
    ]
    return sum(prices) / len(prices) if prices else None


def listing(instruments: Mapping[tuple[str, str], Instrument], symbol: str) -> list[Instrument]:
    """Every venue's market of one canonical instrument, by venue name."""
    return sorted((i for (_, s), i in instruments.items() if s == symbol), key=lambda i: i.venue)
