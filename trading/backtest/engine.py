"""The backtest engine: a bar-by-bar account, compiled (numba) and run per strategy on every
core (the compiled loop releases the GIL).

Rules (the per-bar reference loop in the tests follows the same ones):
- Timing: the weight decided at the close of bar t is traded at the close of bar
  t + ``delay`` and held through the next bar (``fill="close"``), or at the open of bar
  t + 1 + ``delay`` (``fill="open"``: one bar of latency; the position held until then earns
  the move from the close to that open, the new one the move from the open to the close; the
  order's size, minimums and liquidity are judged with what is known at the open: that open
  price, and volume, volatility and conversion rates up to the close before). A NaN or infinite
  weight is "no signal": no order, the position is held (drifting with prices), never closed.
- Positions are fractions of the current equity. Between trades they drift with prices, and
  trading back to the target after a drift is a trade like any other, charged in full.
- An instrument is traded only at the close of a bar in which it traded and whose liquidity
  is known from past bars; otherwise the position is held, and across a missing bar it is
  marked at the next price (the whole move lands in the bar it trades again).
- An order below the market's minimum amount (base units) or notional (quote) is not sent.
- A venue-neutral target (one canonical instrument on every venue that lists it) is one
  exposure: orders towards it are split across its venues (and, with ``style="auto"``, between
  maker and taker on each) by ``routesplit.route_split``, the split the live router chooses with
  the router's weights and daily rewards budget; a venue-pinned target trades its one venue.
- Costs are the router's (``trading/costs.py`` via ``execution.quotes.terms``): a taker order
  pays the fee at the account's tier, half the spread and square-root impact
  ``k·σ_daily·sqrt(N/ADV)``; a maker order its expected cost (``costs.expected_maker``: fills
  with the fill probability at the maker fee plus adverse selection, the rest crosses as a
  taker, urgency on the whole). ``N`` is the order's notional at the current equity, ``ADV``
  and ``σ_daily`` trailing estimates up to the trading bar. Points earned (points per USD ×
  point value) are booked as negative fees, as a maker rebate is; the value of progress to the
  next fee tier steers the split as it steers the router's but is not booked (it is not cash).
- Funding settled at the close of a bar is paid by the position held through that bar (the
  same bar in which a feature first sees the rate); spot shorts pay the borrow rate.
- Equity that reaches zero is ruin: the strategy stops trading for good.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from trading.backtest.account import account, identity_groups
from trading.backtest.market import Array, InstrumentCosts, Market, costs_of
from trading.backtest.markets import market_from_frames, plan_targets, weights_matrix
from trading.backtest.routing import Options, ResearchStyle, check_style, options
from trading.execution.config import RoutingConfig

__all__ = [
    "Array",
    "InstrumentCosts",
    "Market",
    "Result",
    "Settings",
    "costs_of",
    "market_from_frames",
    "plan_targets",
    "run",
    "weights_matrix",
]


@dataclass(frozen=True, slots=True)
class Settings:
    """How the backtest trades: capital (account currency), execution style (taker, maker, or
    auto: per trade as the router chooses), fill and delay, and the router's config (maker
    model, rewards programs, weights, rewards budget) every style is priced with."""

    capital: float = 100_000.0
    style: ResearchStyle = "taker"
    delay: int = 0  # bars between the decision and the fill
    fill: Literal["close", "open"] = "close"  # at the decision bar's close or the next open
    band: float = 0.0  # orders smaller than this fraction of equity wait, unless closing
    routing: RoutingConfig = field(default_factory=RoutingConfig)

    def __post_init__(self) -> None:
        check_style(self.style)


@dataclass(frozen=True, slots=True)
class Result:
    """One backtest: per-bar series and cost breakdown, as fractions of equity."""

    positions: Array  # bars × instruments, held through the bar (fraction of equity)
    trades: Array  # bars × instruments, traded at the previous close (or this bar's open)
    gross: Array  # bars: Σ position × return
    fees: Array  # fees (a maker rebate negative) minus the value of points earned
    slippage: Array  # half spread + impact
    funding: Array
    borrow: Array
    net: Array
    equity: Array  # after each bar; 1.0 before the first
    turnover: Array  # bars: Σ |trade|
    exposure: Array  # bars: Σ |position|


def run(
    market: Market,
    weights: Array,
    settings: Settings | None = None,
    groups: NDArray[np.int64] | None = None,
) -> Result:
    """Backtest one strategy on ``market``: ``weights`` is bars × the market's columns, or with
    ``groups`` (from ``plan_targets``) bars × targets, target k held on columns ``groups[k]``
    (one venue-pinned column, or every venue of a venue-neutral instrument)."""
    s = settings or Settings()
    target = np.ascontiguousarray(weights, dtype=np.float64)
    bars, n = market.close.shape
    links = identity_groups(n) if groups is None else np.ascontiguousarray(groups, np.int64)
    if target.shape != (bars, links.shape[0]):
        raise ValueError(
            f"weights are {target.shape[0]} bars × {target.shape[1]} targets but the market is "
            f"{bars} bars and the plan has {links.shape[0]} targets; align them with "
            "weights_matrix or plan_targets"
        )
    market.prepare(s.fill)
    gap, returns, tradable, price, min_notional, shift = market.fill_rows(s.fill)
    c = market.costs
    o = _options(market, s)
    day = _days(market)
    positions, trades = np.zeros((bars, n)), np.zeros((bars, n))
    # gross, fees, slippage, funding, borrow, net, equity, turnover, exposure
    series = np.zeros((9, bars))
    account(
        target,
        links,
        gap,
        returns,
        market.funding_c,
        market.borrow,
        tradable,
        price,
        min_notional,
        c.min_amount,
        market.adv_c,
        market.daily_vol_c,
        o.fee,
        o.spread_bps,
        o.impact_k,
        o.points,
        o.tier,
        o.gap,
        o.depth,
        np.array([o.impact_weight, o.rewards_weight, o.budget_usd]),
        day,
        float(s.capital),
        int(s.delay),
        float(s.band),
        shift,
        positions,
        trades,
        series,
    )
    gross, fees, slippage, funding, borrow, net, equity, turnover, exposure = series
    return Result(
        positions, trades, gross, fees, slippage, funding, borrow, net, equity, turnover, exposure
    )


def _options(market: Market, s: Settings) -> Options:
    """The option terms of ``s``'s style and routing config, computed once per market."""
    key = ("options", s.style, id(s.routing))
    kept = market.memo.get(key)
    if isinstance(kept, tuple) and kept[0] is s.routing:
        found: Options = kept[1]
        return found
    made = options(market.instruments, market.costs, s.routing, s.style)
    market.memo[key] = (s.routing, made)
    return made


def _days(market: Market) -> NDArray[np.int64]:
    """Each bar's UTC day number: the rewards budget is per day, as the router's."""
    kept = market.memo.get("days")
    if isinstance(kept, np.ndarray):
        return kept
    ts = np.asarray(market.ts)
    if np.issubdtype(ts.dtype, np.datetime64):
        days = ts.astype("datetime64[D]").astype(np.int64)
    else:
        days = (np.arange(len(ts)) // max(1, round(market.bars_per_day))).astype(np.int64)
    market.memo["days"] = np.ascontiguousarray(days)
    return market.memo["days"]  # type: ignore[return-value]
