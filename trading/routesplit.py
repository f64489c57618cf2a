"""The router's whole choice for one parent — the rewards-blind split, the rewards-seeking one,
and the rewards weight scaled down until the extra cash fits the budget — on the water-filling
solver of ``trading.waterfill``. Shared by the live router (plain Python) and the backtest's
compiled account (registered by ``waterfill.compilable``)."""

from __future__ import annotations

import math

from trading.waterfill import Array, Index, _zeros, water_fill


def _solve_weighted(
    total: float,
    cash: Array,
    points: Array,
    b: Array,
    tier: Array,
    gap: Array,
    venue: Index,
    cap: Array,
    w_impact: float,
    w_rewards: float,
    out: Array,
) -> float:
    """``water_fill`` on the router's weighted objective: linear cash − ``w_rewards`` · points,
    impact × ``w_impact``, tier reward × ``w_rewards``."""
    options = len(cash)
    a = _zeros(options)
    bw = _zeros(options)
    tw = _zeros(options)
    for i in range(options):
        a[i] = cash[i] - w_rewards * points[i]
        bw[i] = w_impact * b[i] if math.isfinite(b[i]) else math.inf
        tw[i] = w_rewards * tier[i]
    return water_fill(total, a, bw, tw, gap, venue, cap, out)


def legs_cash(cash: Array, b: Array, legs: Array) -> float:
    """Fees, spread and impact of a split (impact unweighted): the cash it costs."""
    total = 0.0
    for i in range(len(cash)):
        x = legs[i]
        if x > 0.0:
            total += cash[i] * x + b[i] * x * math.sqrt(x)
    return total


def route_split(
    total: float,
    cash: Array,
    points: Array,
    b: Array,
    tier: Array,
    gap: Array,
    venue: Index,
    cap: Array,
    w_impact: float,
    w_rewards: float,
    budget: float,
    out: Array,
) -> tuple[float, float]:
    """The router's choice for one parent, shared by the live router (plain Python) and the
    backtest (compiled): the split at least weighted cost (``cash`` = fee + spread per USD,
    ``points`` the USD value of the points per USD, ``b`` the impact coefficient,
    ``tier``/``gap`` the next tier's reward), paying at most ``budget`` more cash than the
    rewards-blind split to earn rewards (the rewards weight is scaled down by bisection until
    it fits). Writes the legs into ``out``; returns (USD routed, extra cash paid for rewards)."""
    options = len(cash)
    blind = _zeros(options)
    routed = _solve_weighted(total, cash, points, b, tier, gap, venue, cap, w_impact, 0.0, blind)
    for i in range(options):
        out[i] = blind[i]
    rewarded = False
    for i in range(options):
        if points[i] > 0.0 or tier[i] > 0.0:
            rewarded = True
    if w_rewards > 0.0 and rewarded:
        trial = _zeros(options)
        _solve_weighted(total, cash, points, b, tier, gap, venue, cap, w_impact, w_rewards, trial)
        base = legs_cash(cash, b, blind)
        if legs_cash(cash, b, trial) - base > budget:
            lo = 0.0
            hi = w_rewards
            for _ in range(30):
                mid = 0.5 * (lo + hi)
                _solve_weighted(total, cash, points, b, tier, gap, venue, cap, w_impact, mid, trial)
                if legs_cash(cash, b, trial) - base <= budget:
                    lo = mid
                    for i in range(options):
                        out[i] = trial[i]
                else:
                    hi = mid
        else:
            for i in range(options):
                out[i] = trial[i]
    extra = max(legs_cash(cash, b, out) - legs_cash(cash, b, blind), 0.0)
    return routed, extra
