"""Venue-neutral targets: one exposure per canonical instrument, orders split across its venues
the way the router splits them, and the engine equal to the per-bar account on such plans."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from tests.trading.backtest_reference import REWARDING, reference_equity
from tests.trading.markets import X_ON_THREE_Y_ON_ONE, random_market
from trading import frames
from trading.backtest.engine import (
    InstrumentCosts,
    Market,
    Settings,
    market_from_frames,
    plan_targets,
    run,
)
from trading.costs import VenueCosts
from trading.execution.config import RoutingConfig
from trading.models.instrument import Instrument, canonical

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _two_venues(bars: int = 40, volume: float = 1e6) -> Market:
    rng = np.random.default_rng(5)
    path = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, bars)))
    close = np.stack([path, path * 1.0001], axis=1)
    return Market(
        ts=np.arange(bars).astype("datetime64[h]"),
        instruments=[("a", "BTC/USDT:USDT"), ("b", "BTC/USDT:USDT")],
        close=close,
        quote_volume=np.full_like(close, volume),
        funding=np.zeros_like(close),
        costs=InstrumentCosts.uniform(2, VenueCosts(0.0002, 0.0005, 1.0, 0.5)),
        bars_per_year=365.0,
        liquidity_days=10,
    )


def test_a_venue_neutral_target_is_one_exposure_split_evenly_over_equal_venues() -> None:
    market = _two_venues()
    weights = np.full((40, 1), 0.8)
    weights[:15] = 0.0  # first bought once volatility is known (impact priced)
    neutral = np.array([[0, 1]], dtype=np.int64)

    result = run(market, weights, Settings(capital=1e7), groups=neutral)
    single = run(market, np.c_[weights, np.zeros(40)], Settings(capital=1e7))

    held = result.positions[20]
    assert held.sum() == pytest.approx(0.8, rel=1e-3)  # one exposure, not one per venue
    assert held[0] == pytest.approx(held[1], rel=1e-2)  # identical venues share it
    assert result.slippage.sum() < single.slippage.sum()  # splitting cuts impact


def test_a_maker_order_goes_to_the_venue_with_the_best_maker_fee() -> None:
    market = _two_venues()
    costs = InstrumentCosts(
        maker_fee=np.array([0.0002, -0.0001]),
        taker_fee=np.array([0.0005, 0.0005]),
        half_spread_bps=np.ones(2),
        impact_k=np.full(2, 0.5),
        min_amount=np.zeros(2),
        min_notional=np.zeros(2),
        spot=np.zeros(2, dtype=bool),
    )
    market = Market(**{**market.__dict__, "costs": costs})

    weights = np.full((40, 1), 0.5)

    result = run(market, weights, Settings(style="maker"), np.array([[0, 1]]))

    assert result.positions[20, 0] == 0.0
    assert result.positions[20, 1] == pytest.approx(0.5, rel=1e-2)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_engine_with_venue_neutral_and_pinned_targets_matches_the_per_bar_account(
    seed: int,
) -> None:
    drawn = random_market(seed, bars=120, instruments=X_ON_THREE_Y_ON_ONE)
    # X is a perpetual on all three venues, b with a $300 minimum; Y is spot, so shorting
    # it pays borrow; every price in the account currency
    market = replace(
        drawn,
        costs=replace(
            drawn.costs,
            min_amount=np.zeros(4),
            min_notional=np.array([0.0, 300.0, 0.0, 0.0]),
            spot=np.array([False, False, False, True]),
        ),
        quote_rate=None,
        borrow_rate=0.1,
    )
    bars = market.close.shape[0]
    rng = np.random.default_rng(100 + seed)
    groups = np.array([[0, 1, 2], [3, -1, -1]], dtype=np.int64)  # X venue-neutral, Y pinned
    weights = np.clip(rng.normal(0, 0.5, (bars, 2)), -1, 1)
    weights[rng.random((bars, 2)) < 0.1] = np.nan  # no signal: both hold the position
    settings = Settings(
        capital=2e5,
        style=("taker", "taker", "maker", "auto", "taker")[seed],  # type: ignore[arg-type]
        band=0.01 * (seed % 3),
        routing=REWARDING if seed >= 3 else RoutingConfig(),
    )

    fast = run(market, weights, settings, groups).equity

    slow = reference_equity(market, weights, settings, groups)
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-9)


def _candles(rows: list[tuple[str, str]]) -> pl.DataFrame:
    ts = [T0 + timedelta(hours=h) for h in range(3)]
    return frames.conform(
        pl.DataFrame(
            {
                "venue": [v for v, _ in rows for _ in ts],
                "symbol": [s for _, s in rows for _ in ts],
                "timeframe": "1h",
                "ts": ts * len(rows),
                "date": [t.date() for t in ts] * len(rows),
                "open": 1.0,
                "high": 1.0,
                "low": 1.0,
                "close": 1.0,
                "volume": 1.0,
            }
        ),
        frames.CANDLES,
    )


def test_targets_plan_venue_neutral_instruments_and_pinned_legs() -> None:
    rows = [("a", "BTC/USDT"), ("b", "BTC/USDT"), ("a", "ETH/USDT"), ("b", "ETH/USDT")]
    free = VenueCosts(0.0, 0.0)
    market = market_from_frames(_candles(rows), pl.DataFrame(), {"a": free, "b": free}, 60)
    targets = pl.DataFrame(
        {
            "venue": [None, "a", "b", None],
            "symbol": ["BTC/USDT", "ETH/USDT", "ETH/USDT", "DOGE/USDT"],
            "ts": [T0 + timedelta(hours=1)] * 4,
            "weight": [0.5, 0.2, -0.2, 1.0],
        }
    ).with_columns(pl.col("ts").dt.cast_time_unit("us"))

    matrix, groups = plan_targets(market, targets)

    # Columns: a|BTC, a|ETH, b|BTC, b|ETH. DOGE is listed nowhere: left out.
    assert groups.tolist() == [[0, 2], [1, -1], [3, -1]]
    assert matrix[1].tolist() == [0.5, 0.2, -0.2]
    assert np.isnan(matrix[0]).all()  # no signal before the first target


def test_an_instrument_both_neutral_and_pinned_is_refused() -> None:
    free = VenueCosts(0.0, 0.0)
    market = market_from_frames(_candles([("a", "X/USDT")]), pl.DataFrame(), {"a": free}, 60)
    targets = pl.DataFrame(
        {"venue": [None, "a"], "symbol": ["X/USDT"] * 2, "ts": [T0] * 2, "weight": [0.1, 0.2]}
    )

    with pytest.raises(ValueError, match="both venue-neutral and pinned"):
        plan_targets(market, targets)


def test_unified_symbols_parse_into_canonical_instruments() -> None:
    assert canonical("BTC/USDT:USDT") == Instrument("BTC", "USDT", "USDT", "swap")
    assert canonical("ADA/BTC") == Instrument("ADA", "BTC", "BTC", "spot")
    assert canonical("BTC/USD:BTC").symbol == "BTC/USD:BTC"
    with pytest.raises(ValueError, match="not a unified symbol"):
        canonical("BTCUSDT")
