"""The router: split one parent order across venues at the least total cost.

Each venue ``v`` prices a leg of ``x`` USD as (``trading.costs``, the model research uses)

    cash_v(x)    = (fee_v + spread_v) · x + b_v · x^1.5        b_v = k · σ_daily / sqrt(ADV_v)
    rewards_v(x) = points_v · x + tier_v · min(x, gap_v)

and the router minimizes Σ_v cash_v(x_v) · (impact weighted by ``impact_weight``) −
``rewards_weight`` · rewards_v(x_v) subject to Σ x_v = Q and 0 ≤ x_v ≤ cap_v. Every term is
convex in ``x`` (−min is convex), so the exact optimum equalizes marginal costs: water-filling,
found by bisection on the common marginal cost λ. Venues whose marginal costs tie share the
volume in proportion to what they can take. "Spread volume" (high impact weight) and "steer to
rewards" (high rewards weight) are the same optimization with different weights.

Rewards are not cash: the extra cash cost paid to earn them is bounded by a budget; when the
rewards-seeking split would overspend it, the rewards weight is scaled down until it fits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

_ITERATIONS = 80


@dataclass(frozen=True, slots=True)
class VenueQuote:
    """What one venue charges and pays for a leg of a parent order, and how much it may take.
    ``impact_b`` is infinite when the venue's volume is unknown (no taker leg can go there)."""

    venue: str
    fee: float
    spread: float
    impact_b: float
    points_rate: float
    tier_rate: float
    tier_gap_usd: float
    capacity_usd: float

    def cash(self, x: float) -> float:
        """Fees, spread and impact of a leg of ``x`` USD."""
        if x <= 0.0:
            return 0.0
        return (self.fee + self.spread) * x + self.impact_b * x * math.sqrt(x)

    def rewards(self, x: float) -> float:
        """Value of the points and of the progress to the next tier a leg earns."""
        if x <= 0.0:
            return 0.0
        return self.points_rate * x + self.tier_rate * min(x, self.tier_gap_usd)


@dataclass(frozen=True, slots=True)
class Split:
    """A parent's split: USD per venue (same order as the quotes), cash cost and rewards of
    the whole, the extra cash paid for rewards, and what no venue could take."""

    venues: tuple[str, ...]
    notional_usd: tuple[float, ...]
    cash_usd: float
    rewards_usd: float
    extra_cash_usd: float
    unrouted_usd: float


def _usable(q: VenueQuote) -> float:
    if not math.isfinite(q.impact_b) or q.capacity_usd <= 0.0:
        return 0.0
    return q.capacity_usd


def _take(lam: float, q: VenueQuote, cap: float, w_impact: float, w_rewards: float) -> float:
    """The largest leg whose marginal cost is at most ``lam`` (capped)."""
    if cap <= 0.0:
        return 0.0
    beta = 1.5 * w_impact * q.impact_b
    with_tier = q.fee + q.spread - w_rewards * (q.points_rate + q.tier_rate)
    after_tier = q.fee + q.spread - w_rewards * q.points_rate

    def inverse(base: float) -> float:
        if lam < base:
            return 0.0
        if beta <= 0.0:
            return math.inf
        root = (lam - base) / beta
        return root * root if root < 1e150 else math.inf

    gap = q.tier_gap_usd if q.tier_rate > 0.0 else 0.0
    x = min(inverse(with_tier), gap)
    if x >= gap:
        x = max(gap, inverse(after_tier))
    return min(x, cap)


def _fill(
    quotes: Sequence[VenueQuote], caps: Sequence[float], total: float, w_i: float, w_r: float
) -> list[float]:
    """Water-filling: legs summing to ``total`` (≤ Σ caps) at equal marginal cost."""
    if total <= 0.0:
        return [0.0] * len(quotes)
    if sum(caps) <= total:
        return list(caps)
    caps = [min(c, total) for c in caps]
    live = [(q, c) for q, c in zip(quotes, caps, strict=True) if c > 0.0]
    lo = min(q.fee + q.spread - w_r * (q.points_rate + q.tier_rate) for q, _ in live) - 1.0
    hi = (
        max(
            q.fee
            + q.spread
            - w_r * q.points_rate
            + 1.5 * w_i * q.impact_b * math.sqrt(min(c, total))
            for q, c in live
        )
        + 1.0
    )
    for _ in range(_ITERATIONS):
        mid = 0.5 * (lo + hi)
        if sum(_take(mid, q, c, w_i, w_r) for q, c in zip(quotes, caps, strict=True)) < total:
            lo = mid
        else:
            hi = mid
    low = [_take(lo, q, c, w_i, w_r) for q, c in zip(quotes, caps, strict=True)]
    high = [_take(hi, q, c, w_i, w_r) for q, c in zip(quotes, caps, strict=True)]
    room = [h - x for x, h in zip(low, high, strict=True)]
    missing = total - sum(low)
    spare = sum(room)
    if spare <= 0.0:
        return low
    return [min(x + missing * r / spare, c) for x, r, c in zip(low, room, caps, strict=True)]


def _cash(quotes: Sequence[VenueQuote], legs: Sequence[float]) -> float:
    return sum(q.cash(x) for q, x in zip(quotes, legs, strict=True))


def route(
    quotes: Sequence[VenueQuote],
    total_usd: float,
    impact_weight: float = 1.0,
    rewards_weight: float = 1.0,
    budget_usd: float = math.inf,
) -> Split:
    """Split ``total_usd`` across the quoted venues at least weighted cost, paying at most
    ``budget_usd`` more cash than the rewards-blind split to earn rewards."""
    caps = [_usable(q) for q in quotes]
    routable = min(total_usd, sum(caps))
    blind = _fill(quotes, caps, routable, impact_weight, 0.0)
    legs = blind
    has_rewards = any(q.points_rate > 0.0 or q.tier_rate > 0.0 for q in quotes)
    if rewards_weight > 0.0 and has_rewards:
        legs = _fill(quotes, caps, routable, impact_weight, rewards_weight)
        base = _cash(quotes, blind)
        if _cash(quotes, legs) - base > budget_usd:
            lo, hi = 0.0, rewards_weight
            legs = blind
            for _ in range(30):
                mid = 0.5 * (lo + hi)
                trial = _fill(quotes, caps, routable, impact_weight, mid)
                if _cash(quotes, trial) - base <= budget_usd:
                    lo, legs = mid, trial
                else:
                    hi = mid
    cash = _cash(quotes, legs)
    return Split(
        venues=tuple(q.venue for q in quotes),
        notional_usd=tuple(legs),
        cash_usd=cash,
        rewards_usd=sum(q.rewards(x) for q, x in zip(quotes, legs, strict=True)),
        extra_cash_usd=max(cash - _cash(quotes, blind), 0.0),
        unrouted_usd=max(total_usd - routable, 0.0),
    )


def single_venue_cost(quotes: Sequence[VenueQuote], total_usd: float) -> float:
    """Net cost (cash − rewards) of sending everything to the one venue where that is
    cheapest, ignoring caps: the baseline routing is measured against."""
    costs = [q.cash(total_usd) - q.rewards(total_usd) for q in quotes if math.isfinite(q.impact_b)]
    return min(costs) if costs else math.inf


def equal_split_cost(quotes: Sequence[VenueQuote], total_usd: float) -> float:
    """Net cost of splitting evenly over the venues that can take a leg, ignoring caps."""
    usable = [q for q in quotes if math.isfinite(q.impact_b)]
    if not usable:
        return math.inf
    x = total_usd / len(usable)
    return sum(q.cash(x) - q.rewards(x) for q in usable)
