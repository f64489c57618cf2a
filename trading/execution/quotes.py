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
from trading.execution.config import RoutingConfig, VenueRewards
from trading.execution.rewards import points_rate, tier_fee, tier_reward, venue_rewards
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


@dataclass(frozen=True, slots=True)
class Terms:
    """One option's size-free terms: ``fee`` and ``spread_bps`` per USD (a maker option's are
    expectations over its fill), ``impact_k`` the square-root impact factor of the part that
    crosses, the USD value of points per USD, the next tier's reward per USD up to
    ``tier_gap_usd``, and whether it needs the venue's depth (a maker order sure to fill never
    crosses). The router and the backtest price every option from these."""

    fee: float
    spread_bps: float
    impact_k: float
    points_rate: float
    tier_rate: float
    tier_gap_usd: float
    needs_depth: bool


def terms(
    maker_fee: float,
    taker_fee: float,
    rewards: VenueRewards,
    config: RoutingConfig,
    style: Style,
) -> Terms:
    """An option's terms from the venue's rewards program and the maker model: the fee at the
    account's tier (else the instrument's ``maker_fee``/``taker_fee``); a maker option is an
    expectation over its fill (``expected_maker``): the filled share pays the maker fee and
    adverse selection, the rest crosses as a taker at the end of the wait (taker fee, half
    spread, impact on the remainder), and the whole leg pays ``urgency_bps``."""
    tier_rate, gap = tier_reward(rewards, style, config.tier_horizon_days)
    fee = tier_fee(rewards.tiers.taker, rewards.volume_30d_usd)
    fee = taker_fee if fee is None else fee
    spread_bps, impact_k = rewards.half_spread_bps, rewards.impact_k
    points = points_rate(rewards, "taker")
    p = 0.0
    if style == "maker":
        model = rewards.maker or config.maker
        p = model.fill_probability
        at_tier = tier_fee(rewards.tiers.maker, rewards.volume_30d_usd)
        fee, spread_bps, impact_k = expected_maker(
            maker_fee if at_tier is None else at_tier,
            fee,
            spread_bps,
            impact_k,
            p,
            model.adverse_selection_bps,
            config.urgency_bps,
        )
        points = p * points_rate(rewards, "maker") + (1.0 - p) * points
    return Terms(fee, spread_bps, impact_k, points, tier_rate, gap, p < 1.0)


def quote(
    instrument: Instrument,
    stat: MarketStat | None,
    config: RoutingConfig,
    style: Style,
    capacity_usd: float,
    routed_usd: float = 0.0,
) -> VenueQuote:
    """The router's view of one venue in one style for one parent (``terms``, sized with the
    market's volume and volatility); ``routed_usd`` is the volume earlier parents of the same
    plan already sent there (it counts toward the next fee tier)."""
    rewards = venue_rewards(config, instrument.venue)
    if routed_usd > 0.0:
        rewards = rewards.model_copy(update={"volume_30d_usd": rewards.volume_30d_usd + routed_usd})
    t = terms(instrument.maker_fee, instrument.taker_fee, rewards, config, style)
    known = stat is not None and math.isfinite(stat.adv_usd) and stat.adv_usd > 0.0
    impact_b = (
        t.impact_k * max(stat.daily_vol, 0.0) / math.sqrt(stat.adv_usd)
        if known and stat is not None
        else math.inf
    )
    if not t.needs_depth:
        impact_b = 0.0  # a maker order sure to fill never crosses: no depth needed
    return VenueQuote(
        venue=instrument.venue,
        fee=t.fee,
        spread=t.spread_bps * 1e-4,
        impact_b=impact_b,
        points_rate=t.points_rate,
        tier_rate=t.tier_rate,
        tier_gap_usd=t.tier_gap_usd,
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
