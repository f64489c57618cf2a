"""The one solver that splits an order across venues at the least total cost, for research and
live alike: the router (``trading.execution.router``) and the backtest's compiled account
(``trading.backtest.account``) both call these very functions, so research pays the split the
router would choose.

An order of ``total`` USD is split over *options*; an option is one venue and one execution
style (a venue may offer a maker and a taker option). Option ``i`` costs, for ``x`` USD,

    a_i · x + b_i · x^1.5 − tier_i · min(x, gap_i)

(linear fee/spread/points, square-root impact, a reward for the volume that reaches the next fee
tier). Each is convex, so the optimum equalizes marginal costs (water-filling): find the common
marginal cost λ by a bracketed root search, every option taking the most whose marginal cost is
at most λ.
Options of one venue share that venue's capacity: a venue whose options would take more than its
capacity is filled to it, and its options share it at their own equal marginal cost. Options
whose marginal costs tie (linear venues at the same rate) share the volume in proportion to
what they can take.

Plain loops, run as plain Python by the router on lists and compiled inline by numba when the
backtest's compiled account calls them (``compilable`` registers them). A trading run is a fresh
process: importing numba and loading its compiler there would cost more (1–4 s) than routing a
bar's parents in Python, so nothing here imports numba. Scratch space comes from
``_zeros``/``_indices``: lists in Python, arrays when compiled.
"""

from __future__ import annotations

import functools
import math
from collections.abc import MutableSequence

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64] | MutableSequence[float]
Index = NDArray[np.int64] | MutableSequence[int]


def _zeros(n: int) -> list[float]:
    """``n`` zeros to write into (a list in Python, an array when compiled)."""
    return [0.0] * n


def _indices(n: int) -> list[int]:
    """``n`` integer slots to write into (a list in Python, an array when compiled)."""
    return [0] * n


_ITERATIONS = 100
# The search stops once λ is known to this relative precision, or the USD taken to this share.
_TOLERANCE = 1e-13


def _inverse(lam: float, base: float, b: float) -> float:
    """The largest x whose marginal cost ``base + 1.5·b·sqrt(x)`` is at most ``lam``."""
    if lam < base:
        return 0.0
    if b <= 0.0:
        return math.inf
    root = (lam - base) / (1.5 * b)
    return root * root


def _take(lam: float, a: float, b: float, tier: float, gap: float) -> float:
    """The largest leg of one option whose marginal cost is at most ``lam`` (uncapped)."""
    if tier <= 0.0 or gap <= 0.0:
        return _inverse(lam, a, b)
    x = min(_inverse(lam, a - tier, b), gap)
    if x >= gap:
        x = max(gap, _inverse(lam, a, b))
    return x


def _group_takes(
    lam: float,
    a: Array,
    b: Array,
    tier: Array,
    gap: Array,
    group: Index,
    cap: Array,
    out: Array,
) -> float:
    """Each group's take at ``lam`` (its options' takes, capped) into ``out``; their sum."""
    for g in range(len(cap)):
        out[g] = 0.0
    for i in range(len(a)):
        g = group[i]
        if g >= 0:
            out[g] += _take(lam, a[i], b[i], tier[i], gap[i])
    total = 0.0
    for g in range(len(cap)):
        out[g] = min(out[g], cap[g])
        total += out[g]
    return total


def _fill_groups(
    total: float,
    a: Array,
    b: Array,
    tier: Array,
    gap: Array,
    group: Index,
    cap: Array,
    out: Array,
) -> None:
    """Water-filling over groups of options (``group[i]`` < 0: option unused): ``out[g]`` the
    USD of group ``g``, at most ``cap[g]``, summing to ``total`` (or every cap if less)."""
    groups = len(cap)
    room = _zeros(groups)
    for i in range(len(a)):
        if group[i] >= 0:
            room[group[i]] = min(cap[group[i]], total)
    for g in range(groups):
        out[g] = 0.0
    if total <= 0.0:
        return
    capacity = 0.0
    for g in range(groups):
        capacity += room[g]
    if capacity <= total:
        for g in range(groups):
            out[g] = room[g]
        return
    lo = math.inf
    hi = -math.inf
    for i in range(len(a)):
        g = group[i]
        if g >= 0 and room[g] > 0.0:
            lo = min(lo, a[i] - max(tier[i], 0.0))
            hi = max(hi, a[i] + 1.5 * b[i] * math.sqrt(room[g]))
    lo -= 1e-9
    hi += 1e-9
    low = _zeros(groups)
    # Illinois regula falsi on f(λ) = takes(λ) − total, bracketed, with a bisection every third
    # step so that a jump (a linear venue) or a flat stretch (a cap, a tier) still shrinks the
    # bracket: ~10 evaluations where plain bisection needs ~45.
    f_lo = -total
    f_hi = _group_takes(hi, a, b, tier, gap, group, room, low) - total
    side = 0
    for step in range(_ITERATIONS):
        if hi - lo <= _TOLERANCE * max(abs(lo), abs(hi)):
            break
        mid = 0.5 * (lo + hi)
        if step % 3 != 2 and f_hi > f_lo:
            guess = lo - f_lo * (hi - lo) / (f_hi - f_lo)
            if lo < guess < hi:
                mid = guess
        f_mid = _group_takes(mid, a, b, tier, gap, group, room, low) - total
        if f_mid < 0.0:
            lo, f_lo = mid, f_mid
            if side < 0:
                f_hi *= 0.5
            side = -1
        else:
            hi, f_hi = mid, f_mid
            if side > 0:
                f_lo *= 0.5
            side = 1
        if abs(f_mid) <= _TOLERANCE * total:
            break
    taken = _group_takes(lo, a, b, tier, gap, group, room, low)
    _group_takes(hi, a, b, tier, gap, group, room, out)
    spare = 0.0
    for g in range(groups):
        spare += out[g] - low[g]
    for g in range(groups):
        share = (out[g] - low[g]) / spare if spare > 0.0 else 0.0
        out[g] = min(low[g] + (total - taken) * share, room[g])


def _sole_option(
    total: float, a: Array, b: Array, tier: Array, gap: Array, group: Index, cap: Array
) -> int:
    """The option that takes the whole order without a solve, or -1: one whose marginal cost
    at ``total`` (the most it reaches on [0, total]) is below every other usable option's
    least marginal cost, on a venue with room for all of it. The solve would put everything
    there too; most small orders are such, so this skips its root search."""
    if total <= 0.0 or not math.isfinite(total):
        return -1
    best = -1
    top = math.inf
    for i in range(len(a)):
        g = group[i]
        if g < 0 or cap[g] < total:
            continue
        reward = tier[i] if tier[i] > 0.0 and total <= gap[i] else 0.0
        last = a[i] + 1.5 * b[i] * math.sqrt(total) - reward
        if last < top:
            top, best = last, i
    if best < 0:
        return -1
    for i in range(len(a)):
        if i == best or group[i] < 0:
            continue
        first = a[i] - tier[i] if tier[i] > 0.0 and gap[i] > 0.0 else a[i]
        if first <= top:
            return -1
    return best


def water_fill(
    total: float,
    a: Array,
    b: Array,
    tier: Array,
    gap: Array,
    venue: Index,
    cap: Array,
    out: Array,
) -> float:
    """Split ``total`` USD over the options at least total cost: ``out[i]`` the USD of option
    ``i``, whose venue is ``venue[i]`` (< 0, or a non-finite ``a`` or ``b``: unusable) with
    capacity ``cap[venue[i]]``; returns the USD routed (less than ``total`` when the venues'
    capacities are). Rates are fractions of notional; ``b`` the square-root impact
    coefficient, ``tier`` the reward per USD up to ``gap`` USD."""
    options = len(a)
    group = _indices(options)
    for i in range(options):
        usable = math.isfinite(a[i]) and math.isfinite(b[i]) and b[i] >= 0.0
        usable = usable and math.isfinite(tier[i]) and math.isfinite(gap[i])
        group[i] = venue[i] if usable and venue[i] >= 0 and cap[venue[i]] > 0.0 else -1
        out[i] = 0.0
    sole = _sole_option(total, a, b, tier, gap, group, cap)
    if sole >= 0:  # one option is cheaper at its last USD than any other at its first
        out[sole] = total
        return total
    per_venue = _zeros(len(cap))
    _fill_groups(total, a, b, tier, gap, group, cap, per_venue)
    inner = _indices(options)
    room = _zeros(options)
    legs = _zeros(options)
    routed = 0.0
    for v in range(len(cap)):
        if per_venue[v] <= 0.0:
            continue
        routed += per_venue[v]
        count = 0
        last = -1
        for i in range(options):
            inner[i] = i if group[i] == v else -1
            room[i] = per_venue[v]
            if group[i] == v:
                count += 1
                last = i
        if count == 1:
            out[last] = per_venue[v]
            continue
        _fill_groups(per_venue[v], a, b, tier, gap, inner, room, legs)
        for i in range(options):
            if group[i] == v:
                out[i] = legs[i]
    return routed


def split_cost(a: Array, b: Array, tier: Array, gap: Array, legs: Array) -> float:
    """The total cost of a split (the objective ``water_fill`` minimizes)."""
    cost = 0.0
    for i in range(len(a)):
        x = legs[i]
        if x > 0.0:
            cost += a[i] * x + b[i] * x * math.sqrt(x) - tier[i] * min(x, gap[i])
    return cost


def split_order(
    notional: float,
    fee: Array,
    half_spread_bps: Array,
    impact_k: Array,
    adv: Array,
    daily_vol: Array,
    out: Array,
) -> float:
    """The backtest's call: the cheapest split of one parent order of ``notional`` (> 0) over
    venues without rewards or caps (``a`` = fee + half spread, ``b = k·σ/sqrt(ADV)``), written
    into ``out``; returns its total cost (infinite when no venue is usable: ``adv`` unknown or
    zero). Pass a maker fee and zero spread and impact to split a maker order."""
    venues = len(fee)
    for v in range(venues):
        out[v] = 0.0
    if notional <= 0.0:
        return 0.0
    a = np.empty(venues)
    b = np.empty(venues)
    group = np.empty(venues, np.int64)
    usable = 0
    only = -1
    for v in range(venues):
        a[v] = fee[v] + half_spread_bps[v] * 1e-4
        b[v] = math.inf
        if math.isfinite(adv[v]) and adv[v] > 0.0:
            b[v] = impact_k[v] * max(daily_vol[v], 0.0) / math.sqrt(adv[v])
        group[v] = -1
        if math.isfinite(a[v]) and math.isfinite(b[v]) and b[v] >= 0.0:
            group[v] = v
            usable += 1
            only = v
    if usable == 0:
        return math.inf
    if usable == 1:
        out[only] = notional
        return float(a[only] * notional + b[only] * notional * math.sqrt(notional))
    # One option per venue, no caps or rewards: water_fill's groups are the venues themselves.
    zero = np.zeros(venues)
    caps = np.full(venues, math.inf)
    _fill_groups(notional, a, b, zero, zero, group, caps, out)
    return split_cost(a, b, zero, zero, out)


@functools.cache
def compilable() -> None:
    """Register the solver with numba so compiled code (the backtest's account) can call it;
    done on demand, not at import, so the live router never loads numba."""
    from numba.extending import overload, register_jitable

    from trading import routesplit

    for solver in (
        _inverse,
        _take,
        _group_takes,
        _fill_groups,
        _sole_option,
        water_fill,
        routesplit._solve_weighted,
        routesplit.legs_cash,
        routesplit.route_split,
        split_cost,
        split_order,
    ):
        register_jitable(solver)

    # numba compares the typing function's signature with the implementation's, annotations
    # included, so both stay unannotated.
    @overload(_zeros)  # type: ignore[untyped-decorator]
    def _zeros_compiled(n):  # type: ignore[no-untyped-def]
        return lambda n: np.zeros(n)

    @overload(_indices)  # type: ignore[untyped-decorator]
    def _indices_compiled(n):  # type: ignore[no-untyped-def]
        return lambda n: np.zeros(n, np.int64)
