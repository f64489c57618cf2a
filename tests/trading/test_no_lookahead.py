"""Property tests: no strategy can be fed tomorrow's price or funding, through any registered
feature (new feature files included) and the engine together."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trading import frames
from trading.backtest.engine import Market, Settings, market_from_frames, run, weights_matrix
from trading.costs import VenueCosts
from trading.features.inputs import feature_input
from trading.features.registry import compute_features, registered_features

FEATURES = registered_features()
START = datetime(2024, 1, 1, tzinfo=UTC)
BARS = 800
SYMBOLS = ("AAA/USDT", "BBB/USDT", "AAA/USDT:USDT")
COSTS = {"v": VenueCosts(0.0001, 0.0005, 1.0, 0.5)}


def _frames(seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    ts = [START + timedelta(hours=h) for h in range(BARS)]
    candles = []
    for symbol in SYMBOLS:
        close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.01, BARS)))
        candles.append(
            pl.DataFrame(
                {
                    "venue": "v",
                    "symbol": symbol,
                    "timeframe": "1h",
                    "ts": ts,
                    "date": [t.date() for t in ts],
                    "open": close,
                    "high": close * 1.001,
                    "low": close * 0.999,
                    "close": close,
                    "volume": rng.uniform(1e3, 1e4, BARS),
                }
            )
        )
    settle = [START + timedelta(hours=h) for h in range(0, BARS + 8, 8)]
    funding = pl.DataFrame(
        {
            "venue": "v",
            "symbol": SYMBOLS[2],
            "ts": settle,
            "date": [t.date() for t in settle],
            "funding_rate": rng.normal(0, 5e-4, len(settle)),
            "mark_price": 100.0,
        }
    )
    return frames.conform(pl.concat(candles), frames.CANDLES), frames.conform(
        funding, frames.FUNDING_RATES
    )


def _perturb(
    candles: pl.DataFrame, funding: pl.DataFrame, cut: int, seed: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Everything after the close of bar ``cut`` replaced by something else."""
    rng = np.random.default_rng(seed + 1_000)
    close_of_cut = START + timedelta(hours=cut + 1)
    later = pl.col("ts") > START + timedelta(hours=cut)
    factor = pl.Series(rng.uniform(0.5, 1.5, candles.height))
    candles = candles.with_columns(
        [
            pl.when(later).then(pl.col(c) * factor).otherwise(pl.col(c)).alias(c)
            for c in ("open", "high", "low", "close")
        ]
    ).with_columns(pl.max_horizontal("open", "high", "close").alias("high"))
    noise = pl.Series(rng.normal(0, 5e-3, funding.height))
    funding = funding.with_columns(
        funding_rate=pl.when(pl.col("ts") > close_of_cut)
        .then(noise)
        .otherwise(pl.col("funding_rate"))
    )
    return candles, funding


def _trade_on(name: str, candles: pl.DataFrame, funding: pl.DataFrame) -> tuple[Market, np.ndarray]:
    """A strategy trading the sign of one feature, and the market it trades."""
    bars = feature_input(candles, funding, "1h")
    values = compute_features(bars, [FEATURES[name]])
    targets = values.select(
        "venue",
        "symbol",
        "ts",
        weight=(pl.col(name).sign() / 3.0).fill_null(0.0).fill_nan(0.0),
    )
    market = market_from_frames(candles, funding, COSTS, 60)
    return market, weights_matrix(market, targets)


@pytest.mark.parametrize("name", sorted(FEATURES))
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), cut=st.integers(740, BARS - 3))
def test_no_strategy_on_any_feature_sees_a_later_price_or_funding_rate(
    name: str, seed: int, cut: int
) -> None:
    candles, funding = _frames(seed)
    market, weights = _trade_on(name, candles, funding)
    other_candles, other_funding = _perturb(candles, funding, cut, seed)
    other_market, other_weights = _trade_on(name, other_candles, other_funding)

    # Decisions up to the close of bar `cut`, and the account through that bar, cannot tell
    # what came after.
    np.testing.assert_array_equal(weights[: cut + 1], other_weights[: cut + 1])
    a = run(market, weights, Settings(capital=1e5)).equity[: cut + 1]
    b = run(other_market, other_weights, Settings(capital=1e5)).equity[: cut + 1]
    np.testing.assert_array_equal(a, b)


@settings(max_examples=25, deadline=None)
@given(
    rates=st.lists(st.floats(-0.01, 0.01, allow_nan=False), min_size=6, max_size=12),
    every=st.integers(2, 8),
)
def test_trading_on_a_rate_once_it_is_seen_collects_none_of_it(
    rates: list[float], every: int
) -> None:
    """Flat prices, settlements every few bars; the strategy takes the side that would collect
    each rate as soon as a feature shows it, for one bar. It must earn nothing: a rate is paid
    by the position held through the bar that settles it, decided before it was known."""
    bars = len(rates) * every + 30
    ts = [START + timedelta(hours=h) for h in range(bars)]
    candles = frames.conform(
        pl.DataFrame(
            {
                "venue": "v",
                "symbol": "P/USDT:USDT",
                "timeframe": "1h",
                "ts": ts,
                "date": [t.date() for t in ts],
                "open": 100.0,
                "high": 100.0,
                "low": 100.0,
                "close": 100.0,
                "volume": 1e6,
            }
        ),
        frames.CANDLES,
    )
    settle = [START + timedelta(hours=26 + k * every) for k in range(len(rates))]
    funding = frames.conform(
        pl.DataFrame(
            {
                "venue": "v",
                "symbol": "P/USDT:USDT",
                "ts": settle,
                "date": [t.date() for t in settle],
                "funding_rate": rates,
                "mark_price": 100.0,
            }
        ),
        frames.FUNDING_RATES,
    )
    seen = feature_input(candles, funding, "1h").sort("ts")
    fresh = seen["funding_rate"].fill_null(0.0).to_numpy()
    new = np.r_[False, np.diff(fresh) != 0.0]  # a settlement became visible at this close
    weights = np.where(new, -np.sign(fresh), 0.0)[:, None]  # short what longs pay, long else
    market = market_from_frames(candles, funding, {"v": VenueCosts(0.0, 0.0, 0.0, 0.0)}, 60)

    result = run(market, weights)

    assert float(np.abs(result.funding).sum()) == 0.0
    # A strategy told each rate one bar before it settles would collect all of it: the test
    # can see a leak when there is one.
    oracle = np.zeros((bars, 1))
    for when, rate in zip(settle, rates, strict=True):
        oracle[int((when - START) / timedelta(hours=1)) - 2, 0] = -np.sign(rate)
    leaked = run(market, oracle).funding.sum()
    assert leaked == pytest.approx(-sum(abs(r) for r in rates), abs=1e-15)
