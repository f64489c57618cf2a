"""A plain per-bar, per-instrument account that follows the engine's stated rules, written for
reading rather than speed: the engine must match it to 1e-9."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from trading.backtest.engine import Market, Settings
from trading.execution.config import FeeTiers, MakerModel, RoutingConfig, VenueRewards
from trading.execution.quotes import quote, styles
from trading.execution.router import VenueQuote, route
from trading.execution.types import MarketStat
from trading.venues.base import Instrument

# A router config with every term that moves a price: a maker model, urgency, fee tiers with a
# next tier in reach (venue a), points (venues c and v). No budget: a binding budget is a
# bisection on a cash difference whose steps flip on the last digit of the order size or the
# liquidity estimates, which this account sums in another order (equity then differs by
# ~1e-7); the budget is specified against the router per trade instead
# (test_backtest_routing).
REWARDING = RoutingConfig(
    maker=MakerModel(fill_probability=0.5, adverse_selection_bps=1.5),
    urgency_bps=2.0,
    rewards_budget_usd_per_day=math.inf,
    venues={
        "a": VenueRewards(
            volume_30d_usd=4e6,
            tiers=FeeTiers(taker=((0, 0.0006), (5e6, 0.0004)), maker=((0, 0.0001), (5e6, 0.0))),
        ),
        "c": VenueRewards(points_per_usd_maker=0.002, point_value_usd=0.05),
        "v": VenueRewards(
            points_per_usd_taker=0.001, points_per_usd_maker=0.003, point_value_usd=0.05
        ),
    },
)


def _trailing(values: list[float], t: int, window: int, min_count: int) -> float:
    """Mean of the finite values among rows t-window+1..t; NaN if fewer than min_count."""
    seen = [v for v in values[max(0, t - window + 1) : t + 1] if math.isfinite(v)]
    return sum(seen) / len(seen) if len(seen) >= min_count else math.nan


def _router_legs(
    market: Market,
    settings: Settings,
    columns: list[int],
    total: float,
    spent: float,
    adv: list[list[float]],
    vol: list[list[float]],
    t: int,
    fills: Callable[[int, int], bool],
) -> tuple[list[tuple[int, float, VenueQuote]], float]:
    """What the live router does with an order of ``total`` USD on these columns: its quotes
    (``quote``, each column a venue, in the styles ``[research] style`` names, liquidity known
    at the fill; a column that cannot fill has no capacity) and its split (``route``, with the
    day's rewards budget left); the legs (column, USD, quote) and the extra cash spent."""
    c = market.costs
    routing = settings.routing.model_copy(update={"style": settings.style})
    options = []
    for i in columns:
        venue, symbol = market.instruments[i]
        rewards = routing.venues.get(venue, VenueRewards()).model_copy(
            update={
                "half_spread_bps": float(c.half_spread_bps[i]),
                "impact_k": float(c.impact_k[i]),
            }
        )
        config = routing.model_copy(update={"venues": {**routing.venues, venue: rewards}})
        market_of = Instrument(
            venue, symbol, "X", "USDT", "USDT", "swap", 1.0, 0.0, 0.0, 0.0, 0.0,
            float(c.maker_fee[i]), float(c.taker_fee[i]),
        )  # fmt: skip
        stat = MarketStat(adv[t - 1][i], vol[t - 1][i], math.nan)
        capacity = math.inf if fills(t, i) else 0.0
        for style in styles(config):
            options.append((i, quote(market_of, stat, config, style, capacity)))
    budget = max(routing.rewards_budget_usd_per_day - spent, 0.0)
    split = route(
        [q for _, q in options], total, routing.impact_weight, routing.rewards_weight, budget
    )
    legs = [(i, x, q) for (i, q), x in zip(options, split.notional_usd, strict=True) if x > 0.0]
    return legs, split.extra_cash_usd


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

    stamps = np.asarray(market.ts)

    def day(t: int) -> int:
        return int(stamps[t].astype("datetime64[D]").astype(np.int64))

    held = [0.0] * n
    equity, out, alive = 1.0, [1.0], True
    today, spent = day(0), 0.0
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
            if day(t) != today:
                today, spent = day(t), 0.0
            legs, extra = _router_legs(
                market, settings, columns, abs(order) * scale, spent, adv, vol, t, fills
            )
            spent += extra
            sign = 1.0 if order > 0 else -1.0
            for i, x, q in legs:
                trade = sign * x / scale
                price = (opened(t, i) if at_open else marks[t - 1][i]) * conversion[t - 1, i]
                ok = (
                    fills(t, i)
                    and x >= c.min_notional[i] * conversion[t - 1, i]
                    and x >= c.min_amount[i] * price
                    and x > 0
                )
                if not ok:
                    continue
                cost += (q.cash(x) - q.points_rate * x) / scale  # points are negative fees
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
