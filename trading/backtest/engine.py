"""The backtest engine: a bar-by-bar account, compiled (numba) and run per strategy on every
core (the compiled loop releases the GIL).

Rules (the per-bar reference loop in the tests follows the same ones):
- Timing: the weight decided at the close of bar t is traded at the close of bar
  t + ``delay`` and held through the next bar. A NaN or infinite weight means flat.
- Positions are fractions of the current equity. Between trades they drift with prices, and
  trading back to the target after a drift is a trade like any other, charged in full.
- An instrument is traded only at the close of a bar in which it traded and whose liquidity
  is known from past bars; otherwise the position is held, and across a missing bar it is
  marked at the next price (the whole move lands in the bar it trades again).
- An order below the market's minimum amount (base units) or notional (quote) is not sent,
  nor one smaller than the rebalancing band (a fraction of equity) unless it closes the position.
- Costs come from ``trading/costs.py``, the model the live router uses: the fee of the
  execution style, half the spread and square-root impact ``k·σ_daily·sqrt(N/ADV)`` (taker
  only), ``N`` the order's notional at the current equity, ``ADV`` and ``σ_daily`` trailing
  estimates up to the trading bar.
- Funding settled at the close of a bar is paid by the position held through that bar (the
  same bar in which a feature first sees the rate); spot shorts pay the borrow rate.
- Equity that reaches zero is ruin: the strategy stops trading for good.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numba
import numpy as np
from numpy.typing import NDArray

from trading.backtest.market import Array, InstrumentCosts, Market, costs_of
from trading.backtest.markets import market_from_frames, weights_matrix
from trading.costs import taker_rate

__all__ = [
    "Array",
    "InstrumentCosts",
    "Market",
    "Result",
    "Settings",
    "costs_of",
    "market_from_frames",
    "run",
    "weights_matrix",
]


@dataclass(frozen=True, slots=True)
class Settings:
    """How the backtest trades: capital (account currency), execution style and delay."""

    capital: float = 100_000.0
    style: Literal["taker", "maker"] = "taker"
    delay: int = 0  # bars between the decision and the fill
    band: float = 0.0  # orders smaller than this fraction of equity wait, unless closing


@dataclass(frozen=True, slots=True)
class Result:
    """One backtest: per-bar series and cost breakdown, as fractions of equity."""

    positions: Array  # bars × instruments, held through the bar (fraction of equity)
    trades: Array  # bars × instruments, traded at the previous close
    gross: Array  # bars: Σ position × return
    fees: Array
    slippage: Array  # half spread + impact
    funding: Array
    borrow: Array
    net: Array
    equity: Array  # after each bar; 1.0 before the first
    turnover: Array  # bars: Σ |trade|
    exposure: Array  # bars: Σ |position|


def run(market: Market, weights: Array, settings: Settings | None = None) -> Result:
    """Backtest one weight matrix (bars × instruments) on ``market``."""
    s = settings or Settings()
    target = np.ascontiguousarray(weights, dtype=np.float64)
    bars, n = market.close.shape
    if target.shape != (bars, n):
        raise ValueError(
            f"weights are {target.shape[0]} bars × {target.shape[1]} instruments but the market "
            f"is {bars} × {n}; align them with weights_matrix"
        )
    market.prepare()
    c = market.costs
    maker = s.style == "maker"
    positions, trades = np.zeros((bars, n)), np.zeros((bars, n))
    # gross, fees, slippage, funding, borrow, net, equity, turnover, exposure
    series = np.zeros((9, bars))
    _account(
        target,
        market.returns_c,
        market.funding_c,
        market.borrow,
        market.tradable_c,
        market.price_c,
        market.min_notional_c,
        c.min_amount,
        market.adv_c,
        market.daily_vol_c,
        c.maker_fee if maker else c.taker_fee,
        c.half_spread_bps,
        c.impact_k,
        maker,
        float(s.capital),
        int(s.delay),
        float(s.band),
        positions,
        trades,
        series,
    )
    gross, fees, slippage, funding, borrow, net, equity, turnover, exposure = series
    return Result(
        positions, trades, gross, fees, slippage, funding, borrow, net, equity, turnover, exposure
    )


def _account_py(
    target: Array,
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
    positions: Array,
    trades: Array,
    series: Array,
) -> None:
    """The account, bar by bar and instrument by instrument (compiled with numba)."""
    bars, n = target.shape
    held = np.zeros(n)
    wealth = 1.0
    alive = True
    series[6, 0] = 1.0
    for t in range(1, bars):
        source = t - 1 - delay
        paid_fees = 0.0
        paid_slippage = 0.0
        traded = 0.0
        for i in range(n):
            p = held[i]
            if source >= 0 and alive:
                w = target[source, i]
                if not math.isfinite(w):
                    w = 0.0
                q = w - p
                size = abs(q)
                notional = size * wealth * capital
                if (
                    size > 0.0
                    and (size >= band or w == 0.0)
                    and tradable[t - 1, i]
                    and notional >= min_notional[t - 1, i]
                    and notional >= min_amount[i] * price[t - 1, i]
                ):
                    if maker:
                        rate = fee[i]
                    else:
                        rate = _rate(
                            notional, fee[i], spread[i], k[i], adv[t - 1, i], vol[t - 1, i]
                        )
                    paid_fees += size * fee[i]
                    paid_slippage += size * (rate - fee[i])
                    trades[t, i] = q
                    traded += size
                    p += q
            positions[t, i] = p
        gross = 0.0
        paid_funding = 0.0
        paid_borrow = 0.0
        held_gross = 0.0
        for i in range(n):
            p = positions[t, i]
            held_gross += abs(p)
            gross += p * returns[t, i]
            paid_funding += p * funding[t, i]
            if p < 0.0:
                paid_borrow -= p * borrow[i]
        step = gross - paid_fees - paid_slippage - paid_funding - paid_borrow
        if not alive:
            step = 0.0
        elif step <= -1.0:  # equity at zero: the loss is everything, and trading ends
            step = -1.0
            alive = False
        wealth *= 1.0 + step
        series[0, t] = gross
        series[1, t] = paid_fees
        series[2, t] = paid_slippage
        series[3, t] = paid_funding
        series[4, t] = paid_borrow
        series[5, t] = step
        series[6, t] = wealth
        series[7, t] = traded
        series[8, t] = held_gross
        for i in range(n):
            held[i] = positions[t, i] * (1.0 + returns[t, i]) / (1.0 + step) if alive else 0.0


# One formula: the cost model's own function, compiled into the account loop.
_rate = numba.njit(cache=True, nogil=True)(taker_rate)
_account = numba.njit(cache=True, nogil=True)(_account_py)
