"""The compiled per-bar account behind ``engine.run`` (numba, GIL released).

Targets and market columns are linked by ``groups``: target k is held on the market columns
``groups[k, :]`` (padded with -1). A venue-pinned target has one column; a venue-neutral target
on a canonical instrument has every venue that lists it, is one exposure (the sum over those
venues), and each order towards it is split across them by ``trading.waterfill.split_order`` —
the split the live router chooses, compiled from the same function.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

from trading.costs import taker_rate
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
    adv: Array,
    vol: Array,
    fee: Array,
    spread: Array,
    k: Array,
    maker: bool,
    trades: Array,
    positions: Array,
    paid: Array,
) -> None:
    """Send one order of ``q`` (fraction of equity, ``notional`` in the account currency) on
    column ``c`` before bar t (``tradable``, ``price`` and ``min_notional`` read at ``row``:
    the close of bar t-1 or the open of bar t) if the market allows it; add its fee, spread +
    impact and size to ``paid``."""
    size = abs(q)
    if not (
        size > 0.0
        and tradable[row, c]
        and notional >= min_notional[row, c]
        and notional >= min_amount[c] * price[row, c]
    ):
        return
    if maker:
        rate = fee[c]
    else:
        rate = _rate(notional, fee[c], spread[c], k[c], adv[t - 1, c], vol[t - 1, c])
    paid[0] += size * fee[c]
    paid[1] += size * (rate - fee[c])
    paid[2] += size
    trades[t, c] += q
    positions[t, c] += q


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
    maker: bool,
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
    ``shift`` is 1 when the market's fill rows are the previous close, 0 for the open."""
    bars, n = returns.shape
    count, width = groups.shape
    held = np.zeros(n)
    paid = np.zeros(3)  # fees, spread + impact, traded
    shares = np.zeros(width)
    g_fee, g_spread, g_k = np.zeros(width), np.zeros(width), np.zeros(width)
    g_adv, g_vol = np.zeros(width), np.zeros(width)
    wealth = 1.0
    alive = True
    series[6, 0] = 1.0
    for t in range(1, bars):
        source = t - 1 - delay
        row = t - shift
        paid[:] = 0.0
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
                if legs == 1:
                    c = groups[j, 0]
                    _leg(
                        t,
                        row,
                        c,
                        order,
                        abs(order) * scale,
                        tradable,
                        price,
                        min_notional,
                        min_amount,
                        adv,
                        vol,
                        fee,
                        spread,
                        k,
                        maker,
                        trades,
                        positions,
                        paid,
                    )
                    continue
                for m in range(legs):
                    c = groups[j, m]
                    g_fee[m] = fee[c]
                    g_spread[m] = 0.0 if maker else spread[c]
                    g_k[m] = 0.0 if maker else k[c]
                    g_adv[m] = adv[t - 1, c] if tradable[row, c] else math.nan
                    g_vol[m] = vol[t - 1, c]
                _split(
                    abs(order) * scale,
                    g_fee[:legs],
                    g_spread[:legs],
                    g_k[:legs],
                    g_adv[:legs],
                    g_vol[:legs],
                    shares[:legs],
                )
                sign = 1.0 if order > 0.0 else -1.0
                for m in range(legs):
                    if shares[m] > 0.0:
                        c = groups[j, m]
                        _leg(
                            t,
                            row,
                            c,
                            sign * shares[m] / scale,
                            shares[m],
                            tradable,
                            price,
                            min_notional,
                            min_amount,
                            adv,
                            vol,
                            fee,
                            spread,
                            k,
                            maker,
                            trades,
                            positions,
                            paid,
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
_rate = numba.njit(cache=True, nogil=True)(taker_rate)
_split = numba.njit(cache=True, nogil=True)(split_order)
_leg = numba.njit(cache=True, nogil=True)(_leg_py)
account = numba.njit(cache=True, nogil=True)(_account_py)


def identity_groups(columns: int) -> NDArray[np.int64]:
    """Every market column its own target (a weights matrix over the market's columns)."""
    return np.arange(columns, dtype=np.int64)[:, None]
