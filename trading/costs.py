"""The one cost model shared by research (the backtest) and live execution (the router).

Both must price an order the same way, or research will not match reality. An order of
notional ``N`` on a venue costs, as a fraction of ``N``:

- **fee**: the maker or taker fee of the execution style (a negative maker fee is a rebate);
- **spread**: half the quoted spread, paid by taker orders only;
- **impact**: the square-root law, ``k · σ_daily · sqrt(N / ADV)``, paid by taker orders only,
  where ``ADV`` is the venue's typical daily traded value of the instrument and ``σ_daily`` the
  instrument's daily return volatility. Sized on the order against a day's volume, so the cost
  of one order does not depend on the bar length the backtest happens to use.

Maker orders pay (or earn) the maker fee and no spread or impact in ``cost_rate``; the router
prices their fill risk, adverse selection and urgency with ``expected_maker``. How one
order is split over several venues is ``trading.waterfill``, the solver research and the
router share.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

Style = Literal["maker", "taker"]
Array = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class VenueCosts:
    """Cost parameters of one venue (fractions, not bps, except where named)."""

    maker_fee: float
    taker_fee: float
    half_spread_bps: float = 1.0
    impact_k: float = 0.5

    def fee(self, style: Style) -> float:
        """The fee rate of an execution style."""
        return self.maker_fee if style == "maker" else self.taker_fee


def taker_rate(
    notional: float,
    fee: float,
    half_spread_bps: float,
    impact_k: float,
    adv: float,
    daily_vol: float,
) -> float:
    """A taker order's cost as a fraction of its notional: fee + half spread + square-root
    impact. Plain arithmetic on floats (``math`` only), so the backtest compiles this very
    function into its per-bar account instead of keeping a copy of the formula."""
    impact = 0.0
    if notional > 0.0:
        if not math.isfinite(adv) or adv <= 0.0:
            impact = math.inf
        else:
            impact = impact_k * max(daily_vol, 0.0) * math.sqrt(notional / adv)
    return fee + half_spread_bps * 1e-4 + impact


def impact_rate(notional: float, adv: float, daily_vol: float, k: float) -> float:
    """Square-root impact as a fraction of the order's notional; an unknown or zero volume
    (``adv`` not positive or not finite) means no depth is known, priced as no impact is wrong,
    so it is priced as infinite: such a venue is unusable for a taker order of any size."""
    return taker_rate(notional, 0.0, 0.0, k, adv, daily_vol)


def cost_rate(
    notional: float, costs: VenueCosts, adv: float, daily_vol: float, style: Style = "taker"
) -> float:
    """Total cost of one order as a fraction of its notional (fee + spread + impact)."""
    if style == "maker":
        return costs.maker_fee
    return taker_rate(
        notional, costs.taker_fee, costs.half_spread_bps, costs.impact_k, adv, daily_vol
    )


def expected_maker(
    maker_fee: float,
    taker_fee: float,
    half_spread_bps: float,
    impact_k: float,
    fill_probability: float,
    adverse_selection_bps: float,
    urgency_bps: float,
) -> tuple[float, float, float]:
    """A maker order's expected cost in the taker formula's terms ``(fee, half_spread_bps,
    impact_k)``, so maker is not priced as free money: it fills with ``fill_probability`` at
    the maker fee, adversely selected (the price moves through a filled maker order); the rest
    crosses as a taker at the end of the wait (taker fee, half spread, square-root impact on
    the remainder: ``k·(1−p)^1.5`` on the whole); the whole order pays the urgency (the price
    drift the signal expects while it waits). No half spread is earned."""
    p = fill_probability
    rest = 1.0 - p
    fee = p * maker_fee + rest * taker_fee
    spread = rest * half_spread_bps + p * adverse_selection_bps + urgency_bps
    return fee, spread, impact_k * rest**1.5


def order_cost(
    notional: float, costs: VenueCosts, adv: float, daily_vol: float, style: Style = "taker"
) -> float:
    """Total cost of one order in the account currency (negative: a net rebate)."""
    return abs(notional) * cost_rate(abs(notional), costs, adv, daily_vol, style)


def cost_rates(
    notional: Array,
    fee: Array,
    half_spread_bps: Array,
    impact_k: Array,
    adv: Array,
    daily_vol: Array,
    *,
    style: Style = "taker",
) -> Array:
    """Vectorized ``cost_rate`` over matching (broadcastable) arrays, the backtest's path; equal
    to the scalar function element by element, including infinite impact where ``adv`` is
    unknown. ``fee`` is the fee of ``style``: a maker order pays only it, no spread or impact."""
    size = np.abs(notional)
    if style == "maker":
        return np.array(np.broadcast_to(fee, np.broadcast(size, fee).shape), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = np.where(np.isfinite(adv) & (adv > 0.0), adv, 0.0)
        impact = impact_k * np.maximum(daily_vol, 0.0) * np.sqrt(size / depth)
    impact = np.where(size > 0.0, impact, 0.0)
    impact = np.where((size > 0.0) & (depth <= 0.0), np.inf, impact)
    return np.asarray(fee + half_spread_bps * 1e-4 + impact, dtype=np.float64)
