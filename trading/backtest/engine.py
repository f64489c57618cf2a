"""The backtest engine: a bar-by-bar account, vectorized over strategies × instruments.

Rules (the per-bar reference loop in the tests follows the same ones):
- Timing: the weight decided at the close of bar t is traded at the close of bar
  t + ``delay`` and held through the next bar. A NaN or infinite weight means flat.
- Positions are fractions of the current equity. Between trades they drift with prices, and
  trading back to the target after a drift is a trade like any other, charged in full.
- An instrument is traded only at the close of a bar in which it traded and whose liquidity
  is known from past bars; otherwise the position is held, and across a missing bar it is
  marked at the next price (the whole move lands in the bar it trades again).
- An order below the market's minimum amount (base units) or notional (quote) is not sent.
- Costs come from ``trading/costs.py``, the model the live router uses: the fee of the
  execution style, half the spread and square-root impact ``k·σ_daily·sqrt(N/ADV)`` (taker
  only), ``N`` the order's notional at the current equity, ``ADV`` and ``σ_daily`` trailing
  estimates up to the trading bar.
- Funding settled at the close of a bar is paid by the position held through that bar (the
  same bar in which a feature first sees the rate); spot shorts pay the borrow rate.
- Equity that reaches zero is ruin: the strategy stops trading for good.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from trading.backtest.market import Array, InstrumentCosts, Market, costs_of
from trading.backtest.markets import market_from_frames, weights_matrix
from trading.costs import cost_rates

__all__ = [
    "Array",
    "BatchResult",
    "InstrumentCosts",
    "Market",
    "Result",
    "Settings",
    "costs_of",
    "market_from_frames",
    "run",
    "run_batch",
    "weights_matrix",
]


@dataclass(frozen=True, slots=True)
class Settings:
    """How the backtest trades: capital (account currency), execution style and delay."""

    capital: float = 100_000.0
    style: Literal["taker", "maker"] = "taker"
    delay: int = 0  # bars between the decision and the fill


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


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Many strategies' backtests on one market: arrays bars × strategies (× instruments)."""

    positions: Array
    trades: Array
    gross: Array
    fees: Array
    slippage: Array
    funding: Array
    borrow: Array
    net: Array
    equity: Array

    def result(self, i: int) -> Result:
        """Strategy ``i``'s result (views, no copies of the matrices)."""
        positions, trades = self.positions[:, i, :], self.trades[:, i, :]
        return Result(
            positions,
            trades,
            self.gross[:, i],
            self.fees[:, i],
            self.slippage[:, i],
            self.funding[:, i],
            self.borrow[:, i],
            self.net[:, i],
            self.equity[:, i],
            np.abs(trades).sum(axis=1),
            np.abs(positions).sum(axis=1),
        )


def run(market: Market, weights: Array, settings: Settings | None = None) -> Result:
    """Backtest one weight matrix (bars × instruments) on ``market``."""
    return run_batch(market, np.asarray(weights, dtype=np.float64)[:, None, :], settings).result(0)


def run_batch(market: Market, weights: Array, settings: Settings | None = None) -> BatchResult:
    """Backtest a batch of weight matrices (bars × strategies × instruments) in one pass over
    the bars: the account is path-dependent (equity sizes orders, drift sets trades), so time
    is a loop while every strategy and instrument of a bar is one array operation."""
    s = settings or Settings()
    bars, count, n = weights.shape
    if market.close.shape != (bars, n):
        raise ValueError(
            f"weights are {bars} bars × {n} instruments but the market is "
            f"{market.close.shape[0]} × {market.close.shape[1]}; align them with weights_matrix"
        )
    market.prepare()
    costs = market.costs
    fee = costs.maker_fee if s.style == "maker" else costs.taker_fee
    target = np.nan_to_num(weights, nan=0.0, posinf=0.0, neginf=0.0)
    returns, funding_rate, borrow_rate = market.returns, market.funding, market.borrow
    price = market.marks * market.rates  # account currency per base unit
    min_notional = costs.min_notional * market.rates  # account currency
    tradable = market.tradable
    has_funding = bool(np.any(funding_rate != 0.0))
    has_borrow = bool(np.any(borrow_rate != 0.0))

    shape = (bars, count)
    positions = np.zeros((bars, count, n))
    trades = np.zeros((bars, count, n))
    gross, fees, slippage = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    funding, borrow, net, equity = np.zeros(shape), np.zeros(shape), np.zeros(shape), np.ones(shape)
    held = np.zeros((count, n))  # drifted weights at the close of the previous bar
    wealth = np.ones(count)
    alive = np.ones(count, dtype=bool)
    for t in range(1, bars):
        source = t - 1 - s.delay
        if source >= 0:
            trade = target[source] - held
            trade *= alive[:, None]  # a ruined strategy holds nothing and never trades again
            size = np.abs(trade)
            notional = size * (wealth * s.capital)[:, None]
            allowed = (
                tradable[t - 1]
                & (notional >= min_notional[t - 1])
                & (notional >= costs.min_amount * price[t - 1])
                & (size > 0.0)
            )
            trade *= allowed
            notional *= allowed
            size *= allowed
            rate = cost_rates(
                notional,
                fee,
                costs.half_spread_bps,
                costs.impact_k,
                market.adv[t - 1],
                market.daily_vol[t - 1],
                style=s.style,
            )
            rate = np.where(allowed, rate, 0.0)  # no order, no cost (nor an unknown impact)
            cost = np.einsum("sn,sn->s", size, rate)
            fees[t] = np.einsum("sn,n->s", size, fee)
            slippage[t] = cost - fees[t]
            trades[t] = trade
            position = held + trade
        else:
            position = held
        positions[t] = position
        gross[t] = np.einsum("sn,n->s", position, returns[t])
        if has_funding:
            funding[t] = np.einsum("sn,n->s", position, funding_rate[t])
        if has_borrow:
            borrow[t] = np.einsum("sn,n->s", np.maximum(-position, 0.0), borrow_rate)
        step = gross[t] - fees[t] - slippage[t] - funding[t] - borrow[t]
        ruined = alive & (step <= -1.0)
        if ruined.any():  # equity at zero: the loss is everything, and trading ends
            step[ruined] = -1.0
            alive &= ~ruined
        step[~alive & ~ruined] = 0.0
        net[t] = step
        wealth = wealth * (1.0 + step)
        equity[t] = wealth
        with np.errstate(divide="ignore", invalid="ignore"):
            held = position * (1.0 + returns[t]) / (1.0 + step)[:, None]
        held[~alive] = 0.0
    return BatchResult(positions, trades, gross, fees, slippage, funding, borrow, net, equity)
