"""Fees and rewards programs as data: the fee at the account's tier, the value of the next
tier, and points per USD of volume. Pure functions of the config and the 30-day volume."""

from __future__ import annotations

from trading.costs import Style
from trading.execution.config import FeeTiers, RoutingConfig, VenueRewards
from trading.venues.base import Instrument

Tiers = tuple[tuple[float, float], ...]


def tier_fee(tiers: Tiers, volume_30d_usd: float) -> float | None:
    """The fee of the highest tier whose volume threshold the account has reached."""
    fee: float | None = None
    for threshold, rate in tiers:
        if volume_30d_usd >= threshold:
            fee = rate
    return fee


def next_tier(tiers: Tiers, volume_30d_usd: float) -> tuple[float, float] | None:
    """The next tier's (volume threshold, fee), or None at the top tier."""
    for threshold, rate in tiers:
        if threshold > volume_30d_usd:
            return threshold, rate
    return None


def fee_rate(instrument: Instrument, rewards: VenueRewards, style: Style) -> float:
    """The fee the account pays now: its tier's, else the instrument's (negative: a rebate)."""
    tiers: FeeTiers = rewards.tiers
    table = tiers.maker if style == "maker" else tiers.taker
    fee = tier_fee(table, rewards.volume_30d_usd)
    if fee is not None:
        return fee
    return instrument.maker_fee if style == "maker" else instrument.taker_fee


def points_rate(rewards: VenueRewards, style: Style) -> float:
    """USD value of the points one USD of volume earns."""
    per_usd = rewards.points_per_usd_maker if style == "maker" else rewards.points_per_usd_taker
    return per_usd * rewards.point_value_usd


def tier_reward(rewards: VenueRewards, style: Style, horizon_days: float) -> tuple[float, float]:
    """(value per USD of volume, USD of volume it applies to) of reaching the next fee tier:
    the fee saved on the volume expected over ``horizon_days`` at today's pace, spread over the
    volume still missing. Zero at the top tier or without tiers."""
    table = rewards.tiers.maker if style == "maker" else rewards.tiers.taker
    now = tier_fee(table, rewards.volume_30d_usd)
    upcoming = next_tier(table, rewards.volume_30d_usd)
    if now is None or upcoming is None:
        return 0.0, 0.0
    threshold, better = upcoming
    gap = threshold - rewards.volume_30d_usd
    expected = rewards.volume_30d_usd / 30.0 * horizon_days
    saved = max(now - better, 0.0) * max(expected, threshold / 30.0 * horizon_days)
    return saved / gap, gap


def venue_rewards(config: RoutingConfig, venue: str) -> VenueRewards:
    """The venue's rewards program, or defaults (instrument fees, no points, no tiers)."""
    return config.venues.get(venue, VenueRewards())
