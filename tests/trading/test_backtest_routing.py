"""Research pays what the router would pay: the backtest prices every trade with the router's
option terms (fees at the tier, the expected cost of a maker order, points, rebates) and splits
it over venues and styles with the router's own solver, weights and rewards budget."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.backtest.engine import InstrumentCosts, Market, Settings, run
from trading.config import ConfigError, parse_config
from trading.execution.config import FeeTiers, MakerModel, RoutingConfig, VenueRewards
from trading.execution.quotes import quote, styles
from trading.execution.router import route
from trading.execution.types import MarketStat
from trading.venues.base import Instrument

VENUES = ("a", "b", "c")
TRADE = 30  # the bar whose order is checked: bought at the close of bar 29 (a day known)


def _market(
    maker: list[float],
    taker: list[float],
    volume: list[float],
    spread: float = 1.0,
    k: float = 0.5,
    bars: int = 40,
) -> Market:
    """Venues a, b, c listing one instrument, hourly bars from midnight UTC (liquidity known
    from bar 24)."""
    rng = np.random.default_rng(3)
    path = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, bars)))
    close = np.stack([path] * len(maker), axis=1)
    n = len(maker)
    return Market(
        ts=np.datetime64("2026-01-01T00") + np.arange(bars).astype("timedelta64[h]"),
        instruments=[(v, "BTC/USDT:USDT") for v in VENUES[:n]],
        close=close,
        quote_volume=np.array(volume) * np.ones((bars, n)),
        funding=np.zeros_like(close),
        costs=InstrumentCosts(
            maker_fee=np.array(maker),
            taker_fee=np.array(taker),
            half_spread_bps=np.full(n, spread),
            impact_k=np.full(n, k),
            min_amount=np.zeros(n),
            min_notional=np.zeros(n),
            spot=np.zeros(n, dtype=bool),
        ),
        bars_per_year=8760.0,
        liquidity_days=1.0,
    )


REWARDS = RoutingConfig(
    maker=MakerModel(fill_probability=0.6, adverse_selection_bps=1.0),
    urgency_bps=1.0,
    rewards_budget_usd_per_day=50.0,
    venues={
        "a": VenueRewards(
            volume_30d_usd=3e6,
            tiers=FeeTiers(taker=((0, 0.0005), (5e6, 0.0004)), maker=((0, 0.0002), (5e6, 0.00015))),
        ),
        "c": VenueRewards(
            points_per_usd_maker=0.001, points_per_usd_taker=0.001, point_value_usd=0.05
        ),
    },
)


def _router_cost(
    market: Market, settings_: Settings, total: float
) -> tuple[dict[str, float], float]:
    """What the live router does with ``total`` USD of the instrument at bar TRADE: USD per
    venue and the cash it pays net of points (the backtest's fees + slippage)."""
    config = settings_.routing.model_copy(update={"style": settings_.style})
    quotes = []
    for i, (venue, symbol) in enumerate(market.instruments):
        rewards = config.venues.get(venue, VenueRewards()).model_copy(
            update={
                "half_spread_bps": float(market.costs.half_spread_bps[i]),
                "impact_k": float(market.costs.impact_k[i]),
            }
        )
        routing = config.model_copy(update={"venues": {**config.venues, venue: rewards}})
        instrument = Instrument(
            venue, symbol, "BTC", "USDT", "USDT", "swap", 1.0, 0.0, 0.0, 0.0, 0.0,
            float(market.costs.maker_fee[i]), float(market.costs.taker_fee[i]),
        )  # fmt: skip
        stat = MarketStat(market.adv[TRADE - 1, i], market.daily_vol[TRADE - 1, i], math.nan)
        quotes += [quote(instrument, stat, routing, s, math.inf) for s in styles(routing)]
    split = route(
        quotes,
        total,
        config.impact_weight,
        config.rewards_weight,
        config.rewards_budget_usd_per_day,
    )
    per_venue: dict[str, float] = {}
    paid = 0.0
    for q, x in zip(quotes, split.notional_usd, strict=True):
        per_venue[q.venue] = per_venue.get(q.venue, 0.0) + x
        paid += q.cash(x) - q.points_rate * x
    return per_venue, paid


def _one_trade(
    market: Market, settings_: Settings, weight: float = 0.5
) -> tuple[np.ndarray, float]:
    """Buy ``weight`` of equity of the venue-neutral instrument at the close of bar TRADE-1:
    USD per venue and fees + slippage, in the account currency."""
    weights = np.zeros((market.close.shape[0], 1))
    weights[TRADE - 1 :] = weight
    groups = np.array([list(range(market.close.shape[1]))], dtype=np.int64)
    result = run(market, weights, settings_, groups)
    scale = settings_.capital  # equity is still the starting capital before the first trade
    paid = (result.fees[TRADE] + result.slippage[TRADE]) * scale
    return result.trades[TRADE] * scale, paid


@pytest.mark.parametrize("style", ["taker", "maker", "auto"])
def test_the_backtest_pays_the_router_cost_of_the_split_it_chooses(style: str) -> None:
    market = _market([0.0002, 0.0001, -0.0001], [0.0005, 0.0005, 0.0006], [4e6, 2e6, 8e5])
    chosen = Settings(capital=2e6, style=style, routing=REWARDS)  # type: ignore[arg-type]

    legs, paid = _one_trade(market, chosen)

    want_legs, want_paid = _router_cost(market, chosen, 1e6)
    np.testing.assert_allclose(legs, [want_legs[v] for v in VENUES], rtol=1e-12, atol=1e-6)
    assert paid == pytest.approx(want_paid, rel=1e-12)
    assert (legs > 1.0).sum() >= 2  # a real split, not one venue


def test_a_maker_trade_that_may_not_fill_pays_more_than_the_bare_maker_fee() -> None:
    market = _market([-0.0001], [0.0005], [1e6])
    routing = RoutingConfig(
        maker=MakerModel(fill_probability=0.6, adverse_selection_bps=1.0), urgency_bps=1.0
    )

    _, paid = _one_trade(market, Settings(capital=1e5, style="maker", routing=routing))

    notional = 0.5e5
    adv, vol = market.adv[TRADE - 1, 0], market.daily_vol[TRADE - 1, 0]
    # 60% fills at the 1 bp rebate + 1 bp adverse selection; 40% crosses at the 5 bps taker
    # fee + 1 bp half spread with impact on the rest (k·0.4^1.5); 1 bp urgency on the whole
    rate = 0.6 * -0.0001 + 0.4 * 0.0005 + (0.6 * 1.0 + 0.4 * 1.0 + 1.0) * 1e-4
    rate += 0.5 * 0.4**1.5 * vol * math.sqrt(notional / adv)
    assert paid == pytest.approx(notional * rate, rel=1e-12)
    assert paid > notional * -0.0001  # more than the bare fee (here: a rebate)


def test_a_maker_trade_sure_to_fill_without_adverse_selection_or_urgency_pays_the_bare_fee() -> (
    None
):
    market = _market([-0.0001], [0.0005], [1e6])
    sure = RoutingConfig(
        maker=MakerModel(fill_probability=1.0, adverse_selection_bps=0.0), urgency_bps=0.0
    )

    weights = np.zeros((40, 1))
    weights[TRADE - 1 :] = 0.5
    result = run(market, weights, Settings(capital=1e5, style="maker", routing=sure))

    assert result.fees[TRADE] == pytest.approx(0.5 * -0.0001, rel=1e-12)
    assert result.slippage[TRADE] == 0.0


def test_points_are_booked_as_negative_fees_at_the_traders_point_value() -> None:
    market = _market([0.0002], [0.0005], [1e6])
    points = RoutingConfig(
        venues={"a": VenueRewards(points_per_usd_taker=0.002, point_value_usd=0.05)}
    )

    weights = np.zeros((40, 1))
    weights[TRADE - 1 :] = 0.5
    plain = run(market, weights, Settings(capital=1e5))
    paid = run(market, weights, Settings(capital=1e5, routing=points))

    assert plain.fees[TRADE] - paid.fees[TRADE] == pytest.approx(0.5 * 0.002 * 0.05, rel=1e-12)
    assert paid.slippage[TRADE] == pytest.approx(plain.slippage[TRADE], rel=1e-12)


def test_the_fee_is_the_accounts_tier_as_the_router_charges_it() -> None:
    market = _market([0.0002], [0.0005], [1e6])
    tiered = RoutingConfig(
        venues={
            "a": VenueRewards(
                volume_30d_usd=6e6, tiers=FeeTiers(taker=((0, 0.0005), (5e6, 0.0003)))
            )
        }
    )

    weights = np.zeros((40, 1))
    weights[TRADE - 1 :] = 0.5
    result = run(market, weights, Settings(capital=1e5, routing=tiered))

    assert result.fees[TRADE] == pytest.approx(0.5 * 0.0003, rel=1e-12)


def _paid(market: Market, chosen: Settings, weight: float) -> float:
    return _one_trade(market, chosen, weight)[1]


def test_auto_rests_an_order_on_a_rebate_and_takes_when_waiting_costs_more() -> None:
    market = _market([-0.0002], [0.0005], [1e6])
    patient = RoutingConfig(urgency_bps=1.0)  # maker: 2.8 bps + impact on 40%; taker 6 bps
    hurried = RoutingConfig(urgency_bps=10.0)  # maker: 11.8 bps

    for routing, same in ((patient, "maker"), (hurried, "taker")):
        auto = _paid(market, Settings(capital=1e4, style="auto", routing=routing), 0.1)
        alone = _paid(market, Settings(capital=1e4, style=same, routing=routing), 0.1)  # type: ignore[arg-type]
        assert auto == pytest.approx(alone, rel=1e-9)


def test_auto_splits_a_large_order_between_resting_and_taking() -> None:
    market = _market([-0.0002], [0.0005], [1e6])
    hurried = RoutingConfig(urgency_bps=10.0)
    chosen = {
        s: _paid(market, Settings(capital=1e7, style=s, routing=hurried), 1.0)  # type: ignore[arg-type]
        for s in ("taker", "maker", "auto")
    }

    assert chosen["auto"] < min(chosen["taker"], chosen["maker"])


@settings(max_examples=40, deadline=None)
@given(
    maker=st.lists(st.floats(-2e-4, 3e-4), min_size=2, max_size=3),
    taker=st.floats(1e-4, 8e-4),
    depth=st.floats(1e4, 1e7),
    weight=st.floats(0.01, 1.0),
    fill=st.floats(0.05, 1.0),
)
def test_auto_never_pays_more_than_taker_only_or_maker_only(
    maker: list[float], taker: float, depth: float, weight: float, fill: float
) -> None:
    n = len(maker)
    market = _market(maker, [taker] * n, [depth * (i + 1) for i in range(n)])
    routing = RoutingConfig(maker=MakerModel(fill_probability=fill))

    paid = {
        s: _one_trade(market, Settings(capital=1e6, style=s, routing=routing), weight)[1]  # type: ignore[arg-type]
        for s in ("taker", "maker", "auto")
    }

    assert paid["auto"] <= min(paid["taker"], paid["maker"]) * (1 + 1e-9) + 1e-9


@settings(max_examples=30, deadline=None)
@given(
    style=st.sampled_from(["taker", "maker", "auto"]),
    maker=st.lists(st.floats(-2e-4, 3e-4), min_size=1, max_size=3),
    depth=st.floats(1e4, 1e7),
    weight=st.floats(-1.0, 1.0).filter(lambda w: abs(w) > 1e-3),
    budget=st.sampled_from([0.0, 5.0, math.inf]),
)
def test_every_trade_costs_what_the_router_charges_for_its_split(
    style: str, maker: list[float], depth: float, weight: float, budget: float
) -> None:
    n = len(maker)
    market = _market(maker, [5e-4, 4e-4, 6e-4][:n], [depth * (i + 1) for i in range(n)])
    routing = REWARDS.model_copy(update={"rewards_budget_usd_per_day": budget})
    chosen = Settings(capital=1e6, style=style, routing=routing)  # type: ignore[arg-type]

    legs, paid = _one_trade(market, chosen, weight)

    want_legs, want_paid = _router_cost(market, chosen, abs(weight) * 1e6)
    assert np.sign(weight) * legs == pytest.approx([want_legs[v] for v in VENUES[:n]], abs=1e-3)
    assert paid == pytest.approx(want_paid, rel=1e-9, abs=1e-9)


def _router_split(
    market: Market, chosen: Settings, t: int, total: float, budget: float
) -> tuple[list[float], float]:
    """The router's USD per venue for ``total`` at bar ``t`` with ``budget`` left, and the
    extra cash its split pays for rewards."""
    config = chosen.routing.model_copy(update={"style": chosen.style})
    quotes = []
    for i, (venue, symbol) in enumerate(market.instruments):
        rewards = config.venues.get(venue, VenueRewards()).model_copy(
            update={
                "half_spread_bps": float(market.costs.half_spread_bps[i]),
                "impact_k": float(market.costs.impact_k[i]),
            }
        )
        routing = config.model_copy(update={"venues": {**config.venues, venue: rewards}})
        instrument = Instrument(
            venue, symbol, "BTC", "USDT", "USDT", "swap", 1.0, 0.0, 0.0, 0.0, 0.0,
            float(market.costs.maker_fee[i]), float(market.costs.taker_fee[i]),
        )  # fmt: skip
        stat = MarketStat(market.adv[t - 1, i], market.daily_vol[t - 1, i], math.nan)
        quotes.append(quote(instrument, stat, routing, "taker", math.inf))
    split = route(quotes, total, config.impact_weight, config.rewards_weight, budget)
    return list(split.notional_usd), split.extra_cash_usd


def test_the_rewards_budget_is_spent_across_a_days_trades_and_renewed_the_next_day() -> None:
    # venue b pays points worth 2 bps on taker volume but is four times shallower than a
    market = _market([0.0002, 0.0002], [0.0005, 0.0005], [4e6, 1e6], k=1.0, bars=60)
    routing = RoutingConfig(
        rewards_budget_usd_per_day=0.2,
        venues={"b": VenueRewards(points_per_usd_taker=0.004, point_value_usd=0.05)},
    )
    chosen = Settings(capital=1e6, routing=routing, band=0.05)  # drift is not traded
    weights = np.zeros((60, 1))
    weights[TRADE - 1] = 0.3  # bought at bars 30 and 31 (day 2: hours 24-47) ...
    weights[TRADE:] = 0.6
    weights[49:] = 0.9  # ... and at bar 50 (day 3)
    result = run(market, weights, chosen, np.array([[0, 1]], dtype=np.int64))

    left = 0.2
    spent = []
    for t in (TRADE, TRADE + 1, 50):
        if t == 50:
            left = 0.2  # a new day: the whole budget again
        scale = result.equity[t - 1] * 1e6
        total = float(np.abs(result.trades[t]).sum() * scale)
        legs, extra = _router_split(market, chosen, t, total, left)
        np.testing.assert_allclose(result.trades[t] * scale, legs, rtol=1e-6)
        unlimited, _ = _router_split(market, chosen, t, total, math.inf)
        assert legs[1] < unlimited[1] * 0.999  # the budget binds: less steered to points
        left = max(left - extra, 0.0)
        spent.append(extra)
    assert spent == pytest.approx([0.2, 0.0, 0.2], abs=1e-6)  # all of it, none left, renewed


def test_an_unknown_style_is_refused_naming_the_choices() -> None:
    with pytest.raises(ValueError, match=r"'limit' is unknown; use one of taker, maker, auto"):
        Settings(style="limit")  # type: ignore[arg-type]


CONFIG = """
[data]
history_start = "2024-01-01"
timeframes = ["1h"]

[[venues]]
kind = "sim"
name = "sim_a"
instruments = ["BTC/USDT"]

[routing]
urgency_bps = 3.0

[research]
style = "{style}"
"""


def test_research_style_auto_comes_from_config_with_the_routers_maker_model(
    tmp_path: Path,
) -> None:
    from trading.backtest.setup import settings as research_settings

    config = parse_config(tomllib.loads(CONFIG.format(style="auto")), tmp_path / "keel.toml")

    chosen = research_settings(config)
    assert chosen.style == "auto"
    assert chosen.routing.urgency_bps == 3.0


def test_an_unknown_research_style_is_refused_naming_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"style.*'taker', 'maker' or 'auto'"):
        parse_config(tomllib.loads(CONFIG.format(style="limit")), tmp_path / "keel.toml")
