"""The router: split one parent order across venues (and execution styles) at the least cost.

Each option — a venue and a style, maker or taker — prices a leg of ``x`` USD as

    cash(x)    = (fee + spread) · x + b · x^1.5        b = k · σ_daily / sqrt(ADV)
    rewards(x) = points · x + tier · min(x, gap)

(``trading.execution.quotes`` builds them from ``trading.costs`` and the rewards config; a maker
option's figures are expectations over its fill). The router minimizes Σ cash (impact weighted
by ``impact_weight``) − ``rewards_weight`` · Σ rewards subject to Σ x = Q and each venue's
capacity, with the one solver research uses too (``trading.waterfill``: compiled in the
backtest, plain Python here, so a trading run never loads numba). "Spread volume" (high impact
weight) and "steer to rewards" (high rewards weight) are the same optimization with different
weights.

Rewards are not cash: the extra cash cost paid to earn them is bounded by a budget; when the
rewards-seeking split would overspend it, the rewards weight is scaled down until it fits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from trading.costs import Style
from trading.routesplit import route_split
from trading.waterfill import water_fill


@dataclass(frozen=True, slots=True)
class VenueQuote:
    """What one venue charges and pays for a leg in one execution style, and how much the venue
    may take (shared by its styles). ``impact_b`` is infinite when the venue's volume is unknown
    (no taker leg can go there)."""

    venue: str
    fee: float
    spread: float
    impact_b: float
    points_rate: float
    tier_rate: float
    tier_gap_usd: float
    capacity_usd: float
    style: Style = "taker"

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

    def net(self, x: float) -> float:
        """Cash minus rewards: what the leg costs all told."""
        return self.cash(x) - self.rewards(x)


@dataclass(frozen=True, slots=True)
class Split:
    """A parent's split: USD per option (same order as the quotes), cash cost and rewards of
    the whole, the extra cash paid for rewards, and what no venue could take."""

    venues: tuple[str, ...]
    styles: tuple[Style, ...]
    notional_usd: tuple[float, ...]
    cash_usd: float
    rewards_usd: float
    extra_cash_usd: float
    unrouted_usd: float


def _solve(
    quotes: Sequence[VenueQuote],
    total: float,
    w_impact: float,
    w_rewards: float,
    capped: bool = True,
) -> tuple[list[float], float]:
    """The solver's legs for the weighted objective, and the USD routed."""
    names: dict[str, int] = {}
    ids = [names.setdefault(q.venue, len(names)) for q in quotes]
    caps = [math.inf] * len(names)
    if capped:
        for q, v in zip(quotes, ids, strict=True):
            caps[v] = min(caps[v], q.capacity_usd)
    a = [q.fee + q.spread - w_rewards * q.points_rate for q in quotes]
    b = [w_impact * q.impact_b if math.isfinite(q.impact_b) else math.inf for q in quotes]
    tier = [w_rewards * q.tier_rate for q in quotes]
    gap = [q.tier_gap_usd for q in quotes]
    out = [0.0] * len(quotes)
    routed = float(water_fill(float(total), a, b, tier, gap, ids, caps, out))
    return out, routed


def _cash(quotes: Sequence[VenueQuote], legs: Sequence[float]) -> float:
    return sum(q.cash(x) for q, x in zip(quotes, legs, strict=True))


def route(
    quotes: Sequence[VenueQuote],
    total_usd: float,
    impact_weight: float = 1.0,
    rewards_weight: float = 1.0,
    budget_usd: float = math.inf,
) -> Split:
    """Split ``total_usd`` across the quoted options at least weighted cost, paying at most
    ``budget_usd`` more cash than the rewards-blind split to earn rewards (``route_split``,
    the very function the backtest compiles into its account; plain Python here)."""
    names: dict[str, int] = {}
    ids = [names.setdefault(q.venue, len(names)) for q in quotes]
    caps = [math.inf] * len(names)
    for q, v in zip(quotes, ids, strict=True):
        caps[v] = min(caps[v], q.capacity_usd)
    out = [0.0] * len(quotes)
    routed, extra = route_split(
        float(total_usd),
        [q.fee + q.spread for q in quotes],
        [q.points_rate for q in quotes],
        [q.impact_b for q in quotes],
        [q.tier_rate for q in quotes],
        [q.tier_gap_usd for q in quotes],
        ids,
        caps,
        float(impact_weight),
        float(rewards_weight),
        float(budget_usd),
        out,
    )
    legs = [float(x) for x in out]
    return Split(
        venues=tuple(q.venue for q in quotes),
        styles=tuple(q.style for q in quotes),
        notional_usd=tuple(legs),
        cash_usd=_cash(quotes, legs),
        rewards_usd=sum(q.rewards(x) for q, x in zip(quotes, legs, strict=True)),
        extra_cash_usd=float(extra),
        unrouted_usd=max(total_usd - float(routed), 0.0),
    )


def _by_venue(quotes: Sequence[VenueQuote]) -> list[list[VenueQuote]]:
    venues: dict[str, list[VenueQuote]] = {}
    for q in quotes:
        if math.isfinite(q.impact_b):
            venues.setdefault(q.venue, []).append(q)
    return list(venues.values())


def _on_one_venue(options: list[VenueQuote], total_usd: float) -> float:
    """Net cost of ``total_usd`` on one venue, split at best over its styles, caps ignored."""
    if len(options) == 1:
        return options[0].net(total_usd)
    legs, _ = _solve(options, total_usd, 1.0, 1.0, capped=False)
    return sum(q.net(x) for q, x in zip(options, legs, strict=True))


def single_venue_cost(quotes: Sequence[VenueQuote], total_usd: float) -> float:
    """Net cost (cash − rewards) of sending everything to the one venue where that is
    cheapest, with that venue's best use of the same execution styles the router may use,
    ignoring caps: the baseline routing is measured against."""
    costs = [_on_one_venue(options, total_usd) for options in _by_venue(quotes)]
    return min(costs) if costs else math.inf


def equal_split_cost(quotes: Sequence[VenueQuote], total_usd: float) -> float:
    """Net cost of splitting evenly over the venues that can take a leg (each using its styles
    at best), ignoring caps."""
    venues = _by_venue(quotes)
    if not venues:
        return math.inf
    x = total_usd / len(venues)
    return sum(_on_one_venue(options, x) for options in venues)
