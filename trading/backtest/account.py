"""The compiled per-bar account behind ``engine.run`` (numba, GIL released).

Targets and market columns are linked by ``groups``: target k is held on the market columns
``groups[k, :]`` (padded with -1). A venue-pinned target has one column; a venue-neutral target
on a canonical instrument has every venue that lists it, is one exposure (the sum over those
venues). Each order is priced as the live router prices it: over the options (venue × execution
style) of ``trading.backtest.routing``, split by ``trading.routesplit.route_split`` — the split
the live router chooses, compiled from the same function; a single option (one venue, one
style) takes the whole order without a solve. Points are booked as negative fees.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from trading.backtest.jitcache import compiled
from trading.costs import taker_rate
from trading.routesplit import route_split
from trading.waterfill import compilable, split_order

Array = NDArray[np.float64]


def _leg_py(
    t: int,
    row: int,
    c: int,
    q: float,
    notional: float,
    tradable: NDArray[np.bool_],
    price: Array,
    min_notional: Array,
    min_amount: Array,
    fee: float,
    rate: float,
    points: float,
    trades: Array,
    positions: Array,
    paid: Array,
) -> None:
    """Send one order of ``q`` (fraction of equity, ``notional`` in the account currency) on
    column ``c`` before bar t (``tradable``, ``price`` and ``min_notional`` read at ``row``:
    the close of bar t-1 or the open of bar t) if the market allows it, costing ``rate`` per
    unit (``fee`` of it the fee) and earning ``points``; add fee − points, the rest of the
    cost, and its size to ``paid``."""
    size = abs(q)
    if not (
        size > 0.0
        and tradable[row, c]
        and notional >= min_notional[row, c]
        and notional >= min_amount[c] * price[row, c]
    ):
        return
    paid[0] += size * (fee - points)
    paid[1] += size * (rate - fee)
    paid[2] += size
    trades[t, c] += q
    positions[t, c] += q


def _route_py(
    t: int,
    row: int,
    j: int,
    legs: int,
    order: float,
    scale: float,
    groups: NDArray[np.int64],
    tradable: NDArray[np.bool_],
    price: Array,
    min_notional: Array,
    min_amount: Array,
    adv: Array,
    vol: Array,
    fee: Array,
    spread: Array,
    k: Array,
    points: Array,
    tier: Array,
    gap: Array,
    depth: NDArray[np.bool_],
    weights: Array,
    budget: float,
    trades: Array,
    positions: Array,
    paid: Array,
    scratch: Array,
    ids: NDArray[np.int64],
) -> float:
    """Route the order of target ``j`` over its ``legs`` columns × styles as the router would
    (``route_split``: the router's weights, ``budget`` USD of extra cash for rewards left
    today) and send each leg; returns the extra cash the split paid for rewards. With one
    style, no rewards and unit impact weight the router's split is ``split_order``'s (one
    option per venue, no caps), solved by it directly. ``scratch`` (12 rows) and ``ids`` are
    work space of at least columns × styles, reused across orders."""
    styles = fee.shape[1]
    options = legs * styles
    cash = scratch[0, :options]
    pts = scratch[1, :options]
    b = scratch[2, :options]
    tr = scratch[3, :options]
    gp = scratch[4, :options]
    out = scratch[5, :options]
    caps = scratch[6, :legs]
    ids = ids[:options]
    for m in range(legs):
        caps[m] = math.inf
    plain = styles == 1 and weights[0] == 1.0  # no rewards either: split_order's case
    for m in range(legs):
        c = groups[j, m]
        a_, v_ = adv[t - 1, c], vol[t - 1, c]
        for s in range(styles):
            o = m * styles + s
            ids[o] = m
            cash[o] = fee[c, s] + spread[c, s] * 1e-4 if tradable[row, c] else math.inf
            pts[o] = points[c, s]
            tr[o] = tier[c, s]
            gp[o] = gap[c, s]
            plain = plain and pts[o] == 0.0 and tr[o] == 0.0 and depth[c, s]
            if not depth[c, s]:
                b[o] = 0.0
            elif math.isfinite(a_) and a_ > 0.0:
                b[o] = k[c, s] * max(v_, 0.0) / math.sqrt(a_)
            else:
                b[o] = math.inf
            scratch[7, o] = fee[c, s]
            scratch[8, o] = spread[c, s]
            scratch[9, o] = k[c, s]
            scratch[10, o] = a_ if tradable[row, c] else math.nan
            scratch[11, o] = v_
    total = abs(order) * scale
    out[:] = 0.0
    extra = 0.0
    if plain:  # one style, no rewards, unit impact weight: route_split's split, solved directly
        _split_order(
            total,
            scratch[7, :options],
            scratch[8, :options],
            scratch[9, :options],
            scratch[10, :options],
            scratch[11, :options],
            out,
        )
    else:
        _, extra = _route_split(
            total, cash, pts, b, tr, gp, ids, caps, weights[0], weights[1], budget, out
        )
    sign = 1.0 if order > 0.0 else -1.0
    for o in range(options):
        x = out[o]
        if x > 0.0:
            c = groups[j, o // styles]
            s = o % styles
            _leg(
                t,
                row,
                c,
                sign * x / scale,
                x,
                tradable,
                price,
                min_notional,
                min_amount,
                fee[c, s],
                cash[o] + b[o] * math.sqrt(x),
                points[c, s],
                trades,
                positions,
                paid,
            )
    return extra


def _account_py(
    target: Array,
    groups: NDArray[np.int64],
    gap: Array,
    returns: Array,
    funding: Array,
    borrow: Array,
    tradable: NDArray[np.bool_],
    price: Array,
    min_notional: Array,
    min_amount: Array,
    adv: Array,
    vol: Array,
    fee: Array,
    spread: Array,
    k: Array,
    points: Array,
    tier: Array,
    tier_gap: Array,
    depth: NDArray[np.bool_],
    weights: Array,
    day: NDArray[np.int64],
    capital: float,
    delay: int,
    band: float,
    shift: int,
    positions: Array,
    trades: Array,
    series: Array,
) -> None:
    """The account, bar by bar: orders towards each target, then the bar's P&L. Orders of bar
    t fill after ``gap[t]`` (0 when filling at the close of bar t-1; the move from that close
    to bar t's open when filling at the open), and the position then earns ``returns[t]``;
    ``shift`` is 1 when the market's fill rows are the previous close, 0 for the open.
    Options: columns × styles terms (``routing.Options``); ``weights`` the router's impact and
    rewards weights and daily rewards budget (USD), ``day`` each bar's day (the budget's)."""
    bars, n = returns.shape
    count, width = groups.shape
    styles = fee.shape[1]
    held = np.zeros(n)
    paid = np.zeros(3)  # fees − points, spread + impact, traded
    scratch = np.zeros((12, width * styles))  # the router's option arrays, reused per order
    ids = np.zeros(width * styles, np.int64)
    wealth = 1.0
    alive = True
    spent = 0.0  # extra cash paid for rewards on the current day
    today = day[0]
    series[6, 0] = 1.0
    for t in range(1, bars):
        source = t - 1 - delay
        row = t - shift
        paid[:] = 0.0
        if day[t] != today:
            today = day[t]
            spent = 0.0
        opening = 1.0  # equity at the fill, per unit of the last close's
        carried = 0.0  # the held positions' P&L before the fill
        for c in range(n):
            carried += held[c] * gap[t, c]
            positions[t, c] = held[c] * (1.0 + gap[t, c])
        opening += carried
        if source >= 0 and alive:
            for j in range(count):
                w = target[source, j]
                if not math.isfinite(w):
                    continue  # no signal: the position is held (it drifts with prices)
                legs = 0
                current = 0.0
                for m in range(width):
                    c = groups[j, m]
                    if c < 0:
                        break
                    current += positions[t, c]
                    legs += 1
                order = w * opening - current
                if order == 0.0 or legs == 0 or (abs(order) < band * opening and w != 0.0):
                    continue  # nothing to do, or a drift inside the rebalancing band
                scale = wealth * capital
                if legs == 1 and styles == 1:  # one option: the whole order, no solve
                    c = groups[j, 0]
                    notional = abs(order) * scale
                    _leg(
                        t,
                        row,
                        c,
                        order,
                        notional,
                        tradable,
                        price,
                        min_notional,
                        min_amount,
                        fee[c, 0],
                        _rate(
                            notional, fee[c, 0], spread[c, 0], k[c, 0], adv[t - 1, c], vol[t - 1, c]
                        ),
                        points[c, 0],
                        trades,
                        positions,
                        paid,
                    )
                    continue
                spent += _route(
                    t,
                    row,
                    j,
                    legs,
                    order,
                    scale,
                    groups,
                    tradable,
                    price,
                    min_notional,
                    min_amount,
                    adv,
                    vol,
                    fee,
                    spread,
                    k,
                    points,
                    tier,
                    tier_gap,
                    depth,
                    weights,
                    max(weights[2] - spent, 0.0),
                    trades,
                    positions,
                    paid,
                    scratch,
                    ids,
                )
        gross = carried
        paid_funding = 0.0
        paid_borrow = 0.0
        exposure = 0.0
        for c in range(n):
            p = positions[t, c]
            exposure += abs(p)
            gross += p * returns[t, c]
            paid_funding += p * funding[t, c]
            if p < 0.0:
                paid_borrow -= p * borrow[c]
        step = gross - paid[0] - paid[1] - paid_funding - paid_borrow
        if not alive:
            step = 0.0
        elif step <= -1.0:  # equity at zero: the loss is everything, and trading ends
            step = -1.0
            alive = False
        wealth *= 1.0 + step
        series[0, t] = gross
        series[1, t] = paid[0]
        series[2, t] = paid[1]
        series[3, t] = paid_funding
        series[4, t] = paid_borrow
        series[5, t] = step
        series[6, t] = wealth
        series[7, t] = paid[2]
        series[8, t] = exposure
        for c in range(n):
            held[c] = positions[t, c] * (1.0 + returns[t, c]) / (1.0 + step) if alive else 0.0


# One formula: the cost model's own functions, compiled into the account loop.
compilable()
_rate = compiled(taker_rate)
_route_split = compiled(route_split)
_split_order = compiled(split_order)
_leg = compiled(_leg_py)
_route = compiled(_route_py)
account = compiled(_account_py)


def identity_groups(columns: int) -> NDArray[np.int64]:
    """Every market column its own target (a weights matrix over the market's columns)."""
    return np.arange(columns, dtype=np.int64)[:, None]
