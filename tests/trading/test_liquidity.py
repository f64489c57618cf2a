"""One definition of ADV and daily volatility: the polars estimates the cost calibration fits
the impact factor on equal the backtest's ``Market.adv`` / ``Market.daily_vol`` it is applied
with, bar by bar, gaps included; the router's one-bar shortcut equals the rolling estimate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.backtest.engine import InstrumentCosts, Market
from trading.costs import VenueCosts
from trading.liquidity import as_of, at, trailing, window_bars

T0 = datetime(2024, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _candles(close: np.ndarray, volume: np.ndarray) -> pl.DataFrame:
    """Long candles of a dense hourly grid; a NaN close is a missing bar (no row)."""
    rows = []
    for j in range(close.shape[1]):
        for t in range(close.shape[0]):
            if np.isfinite(close[t, j]):
                rows.append(("v", f"S{j}", T0 + t * HOUR, close[t, j], volume[t, j]))
    return pl.DataFrame(
        rows, schema=["venue", "symbol", "ts", "close", "volume"], orient="row"
    ).with_columns(pl.col("ts").dt.cast_time_unit("us"))


def _market(close: np.ndarray, volume: np.ndarray, days: float) -> Market:
    return Market(
        ts=np.array(
            [
                np.datetime64(T0.replace(tzinfo=None)) + np.timedelta64(t, "h")
                for t in range(close.shape[0])
            ]
        ),
        instruments=[("v", f"S{j}") for j in range(close.shape[1])],
        close=close,
        quote_volume=close * volume,
        funding=np.zeros_like(close),
        costs=InstrumentCosts.uniform(close.shape[1], VenueCosts(0.0, 0.0)),
        bars_per_year=8760.0,
        liquidity_days=days,
    )


def test_a_worked_example_gives_adv_and_volatility_by_hand() -> None:
    # 2 bars a day (12h): window 1 day = 2 bars, a day of history = 2 values
    step = timedelta(hours=12)
    candles = pl.DataFrame(
        {
            "venue": ["v"] * 4,
            "symbol": ["S"] * 4,
            "ts": [T0 + i * step for i in range(4)],
            "close": [100.0, 110.0, 99.0, 99.0],
            "volume": [1.0, 2.0, 3.0, 4.0],
        }
    )
    got = trailing(candles, step, 1.0)
    # bar values 100, 220, 297, 396; returns -, +10%, -10%, 0%
    assert got["adv"].to_list()[1:] == pytest.approx(
        [(100 + 220) / 2 * 2, (220 + 297) / 2 * 2, (297 + 396) / 2 * 2]
    )
    assert np.isnan(got["adv"][0])  # one bar: less than a day of history
    vol = got["daily_vol"].to_list()
    assert np.isnan(vol[0])
    assert np.isnan(vol[1])
    assert vol[2] == pytest.approx(0.1 * 2**0.5)  # population sd of (+0.1, -0.1) = 0.1
    assert vol[3] == pytest.approx(0.05 * 2**0.5)  # of (-0.1, 0)
    assert window_bars(1.0, step) == (2, 2)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    days=st.sampled_from([0.5, 1.0, 2.0, 3.5]),
    missing=st.floats(0.0, 0.3),
)
def test_the_estimates_equal_the_backtests_at_every_bar(
    seed: int, days: float, missing: float
) -> None:
    rng = np.random.default_rng(seed)
    n, m = 24 * 6, 3
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, (n, m)), axis=0))
    volume = rng.uniform(1.0, 50.0, (n, m))
    close[rng.random((n, m)) < missing] = np.nan
    market = _market(close, volume, days)
    got = trailing(_candles(close, volume), HOUR, days)
    for j in range(m):
        mine = got.filter(pl.col("symbol") == f"S{j}").sort("ts")
        rows = [(t - T0) // HOUR for t in mine["ts"].to_list()]
        np.testing.assert_allclose(mine["adv"].to_numpy(), market.adv[rows, j], rtol=1e-9)
        np.testing.assert_allclose(
            mine["daily_vol"].to_numpy(), market.daily_vol[rows, j], rtol=1e-6, atol=1e-12
        )


def test_the_estimate_at_one_bar_equals_the_rolling_one() -> None:
    rng = np.random.default_rng(5)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, (96, 2)), axis=0))
    close[[10, 50, 51], 0] = np.nan
    candles = _candles(close, rng.uniform(1.0, 9.0, close.shape))
    every = trailing(candles, HOUR, 2.0)
    for bar in (T0 + 30 * HOUR, T0 + 53 * HOUR, T0 + 95 * HOUR):  # S0 misses 50h and 51h
        one = at(candles, HOUR, 2.0, bar).drop("ts")
        rolling = every.filter(pl.col("ts") == bar).sort("symbol").drop("ts")
        assert one["symbol"].to_list() == rolling["symbol"].to_list() == ["S0", "S1"]
        for c in ("adv", "daily_vol", "bar_value"):
            np.testing.assert_allclose(one[c].to_numpy(), rolling[c].to_numpy(), rtol=1e-9)


def test_as_of_uses_the_newest_bar_closed_before_the_time() -> None:
    stats = pl.DataFrame(
        {
            "venue": ["v", "v", "v"],
            "symbol": ["S", "S", "S"],
            "ts": [T0, T0 + HOUR, T0 + 2 * HOUR],
            "adv": [1.0, 2.0, 3.0],
            "daily_vol": [0.1, 0.2, 0.3],
            "bar_value": [1.0, 1.0, 1.0],
        }
    )
    orders = pl.DataFrame(
        {
            "venue": ["v", "v", "v", "w"],
            "symbol": ["S", "S", "S", "S"],
            "ts": [
                T0 + HOUR,
                T0 + 2 * HOUR + timedelta(minutes=59),
                T0 + timedelta(minutes=5),
                T0 + 5 * HOUR,
            ],
        }
    ).with_columns(pl.col("ts").dt.cast_time_unit("us"))
    got = as_of(orders, stats, HOUR).sort("venue", "ts")
    # the bar at T0 closes at T0+1h: known to an order at T0+1h, not to one at T0+5min
    assert got["adv"].to_list() == [None, 1.0, 2.0, None]
