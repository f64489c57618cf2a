"""A plain per-bar, per-instrument account that follows the engine's stated rules, written for
reading rather than speed: the engine must match it to 1e-9."""

from __future__ import annotations

import math

import numpy as np

from trading.backtest.engine import Market, Settings
from trading.costs import VenueCosts, cost_rate
from trading.waterfill import split_order


def _trailing(values: list[float], t: int, window: int, min_count: int) -> float:
    """Mean of the finite values among rows t-window+1..t; NaN if fewer than min_count."""
    seen = [v for v in values[max(0, t - window + 1) : t + 1] if math.isfinite(v)]
    return sum(seen) / len(seen) if len(seen) >= min_count else math.nan


def reference_equity(
    market: Market,
    weights: np.ndarray,
    settings: Settings,
    groups: np.ndarray | None = None,
) -> list[float]:
    """Equity after every bar; ``groups`` as in ``engine.run`` (None: one column a target)."""
    bars, n = market.close.shape
    per_day = market.bars_per_year / 365.0
    window = max(1, round(market.liquidity_days * per_day))
    min_count = max(1, min(window, round(per_day)))
    marks = [[math.nan] * n for _ in range(bars)]
    for i in range(n):
        last = math.nan
        for t in range(bars):
            if not math.isnan(market.close[t, i]):
                last = market.close[t, i]
            marks[t][i] = last
    conversion = market.rates

    def ret(t: int, i: int) -> float:
        if t == 0 or not (math.isfinite(marks[t][i]) and math.isfinite(marks[t - 1][i])):
            return 0.0
        return marks[t][i] / marks[t - 1][i] - 1.0

    adv = [[math.nan] * n for _ in range(bars)]
    vol = [[math.nan] * n for _ in range(bars)]
    for i in range(n):
        value = [float(market.quote_volume[t, i] * conversion[t, i]) for t in range(bars)]
        traded = [
            t > 0 and not math.isnan(market.close[t, i]) and not math.isnan(market.close[t - 1, i])
            for t in range(bars)
        ]
        r = [ret(t, i) if traded[t] else math.nan for t in range(bars)]
        r2 = [x * x for x in r]
        for t in range(bars):
            adv[t][i] = _trailing(value, t, window, min_count) * per_day
            mean = _trailing(r, t, window, min_count)
            square = _trailing(r2, t, window, min_count)
            vol[t][i] = math.sqrt(max(square - mean * mean, 0.0) * per_day)

    c = market.costs
    maker = settings.style == "maker"
    links = (
        [[i] for i in range(n)]
        if groups is None
        else [[int(x) for x in row if x >= 0] for row in groups]
    )

    def tradable(t: int, i: int) -> bool:
        return (
            not math.isnan(market.close[t, i])
            and math.isfinite(adv[t][i])
            and adv[t][i] > 0
            and math.isfinite(vol[t][i])
            and math.isfinite(conversion[t, i])
        )

    at_open = settings.fill == "open"
    opens = market.open if at_open else None

    def opened(t: int, i: int) -> float:
        """The price a fill at the open of bar t gets: its open, else its mark."""
        assert opens is not None
        return float(opens[t, i]) if math.isfinite(opens[t, i]) else marks[t][i]

    def split(t: int, i: int) -> tuple[float, float]:
        """The move before a fill for bar t, and the return after it."""
        if not at_open:
            return 0.0, ret(t, i)
        if not (math.isfinite(marks[t - 1][i]) and math.isfinite(opened(t, i))):
            return 0.0, 0.0
        return opened(t, i) / marks[t - 1][i] - 1.0, marks[t][i] / opened(t, i) - 1.0

    def fills(t: int, i: int) -> bool:
        """Whether an order for bar t can fill: at the close of t-1, or at the open of t
        (an open exists, liquidity and conversion known at the close of t-1)."""
        if not at_open:
            return tradable(t - 1, i)
        assert opens is not None
        return (
            math.isfinite(opens[t, i])
            and math.isfinite(adv[t - 1][i])
            and adv[t - 1][i] > 0
            and math.isfinite(vol[t - 1][i])
            and math.isfinite(conversion[t - 1, i])
        )

    held = [0.0] * n
    equity, out, alive = 1.0, [1.0], True
    for t in range(1, bars):
        moves = [split(t, i) for i in range(n)]
        carried = sum(held[i] * moves[i][0] for i in range(n))  # earned before the fill
        opening = 1.0 + carried  # equity at the fill, per unit of the last close's
        position = [held[i] * (1.0 + moves[i][0]) for i in range(n)]
        cost = 0.0
        source = t - 1 - settings.delay
        for k, columns in enumerate(links if source >= 0 and alive else []):
            target = float(weights[source, k])
            if not math.isfinite(target):
                continue  # no signal: hold
            order = target * opening - sum(position[i] for i in columns)
            if order == 0.0 or (abs(order) < settings.band * opening and target != 0.0):
                continue
            scale = equity * settings.capital
            legs = [(columns[0], order)]
            if len(columns) > 1:  # venue-neutral: the router's split across the venues
                shares = np.zeros(len(columns))
                split_order(
                    abs(order) * scale,
                    np.array([c.maker_fee[i] if maker else c.taker_fee[i] for i in columns]),
                    np.array([0.0 if maker else c.half_spread_bps[i] for i in columns]),
                    np.array([0.0 if maker else c.impact_k[i] for i in columns]),
                    np.array([adv[t - 1][i] if fills(t, i) else math.nan for i in columns]),
                    np.array([vol[t - 1][i] for i in columns]),
                    shares,
                )
                sign = 1.0 if order > 0 else -1.0
                legs = [
                    (i, sign * x / scale) for i, x in zip(columns, shares, strict=True) if x > 0
                ]
            for i, trade in legs:
                notional = abs(trade) * scale
                price = (opened(t, i) if at_open else marks[t - 1][i]) * conversion[t - 1, i]
                ok = (
                    fills(t, i)
                    and notional >= c.min_notional[i] * conversion[t - 1, i]
                    and notional >= c.min_amount[i] * price
                    and notional > 0
                )
                if not ok:
                    continue
                venue = VenueCosts(
                    float(c.maker_fee[i]),
                    float(c.taker_fee[i]),
                    float(c.half_spread_bps[i]),
                    float(c.impact_k[i]),
                )
                rate = cost_rate(notional, venue, adv[t - 1][i], vol[t - 1][i], settings.style)
                cost += abs(trade) * rate
                position[i] += trade
        net = carried - cost
        for i in range(n):
            net += position[i] * moves[i][1]
            net -= position[i] * market.funding[t, i]
            if c.spot[i] and position[i] < 0:
                net -= -position[i] * market.borrow_rate / market.bars_per_year
        if not alive:
            net = 0.0
        elif net <= -1.0:
            net, alive = -1.0, False
        equity *= 1.0 + net
        out.append(equity)
        held = (
            [p * (1.0 + moves[i][1]) / (1.0 + net) for i, p in enumerate(position)]
            if alive
            else [0.0] * n
        )
    return out
