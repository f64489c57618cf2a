"""One definition of a bad regime: research's ``excess_return_bad_regimes`` and the regime
report label the same bars bad, and a config naming the removed research key is refused."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from trading.backtest.setup import bad_regimes, benchmark, research_market
from trading.config import ConfigError, KeelConfig, parse_config
from trading.portfolio.allocation import AllocationConfig
from trading.portfolio.book import analyse
from trading.regimes.labels import lagged

CONFIG = """
[data]
history_start = "2024-01-01"
timeframes = ["1h"]

[regimes]
trend_days = 2.0
vol_days = 1.0
trend_band = 0.05
crash_vol = 3.0

[[venues]]
kind = "sim"
name = "sim_a"
instruments = ["ETH/USDT", "BTC/USDT"]
"""


def _config(tmp_path: Path, text: str = CONFIG) -> KeelConfig:
    return parse_config(tomllib.loads(text), tmp_path / "keel.toml")


def _candles(btc: np.ndarray) -> pl.DataFrame:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    ts = [start + timedelta(hours=h) for h in range(len(btc))]
    rows = []
    for symbol, close in (("BTC/USDT", btc), ("ETH/USDT", np.full(len(btc), 50.0))):
        rows.append(
            pl.DataFrame(
                {
                    "venue": "sim_a",
                    "symbol": symbol,
                    "ts": ts,
                    "close": close,
                    "volume": np.full(len(btc), 1e4),
                }
            )
        )
    return pl.concat(rows)


def test_research_and_the_regime_report_label_the_same_bars_bad(tmp_path: Path) -> None:
    config = _config(tmp_path)
    # Two days flat, four days of falling (bear), a violent drop (crash), then a rally.
    hours = np.arange(24 * 10)
    steps = np.where(hours < 48, 0.0, np.where(hours < 144, -0.002, 0.004))
    steps[150:160] = np.where(np.arange(10) % 2 == 0, -0.15, 0.12)
    btc = 100.0 * np.exp(np.cumsum(steps))
    btc[70] = np.nan  # a missing bar, carried forward by both
    market = research_market(config, _candles(btc), pl.DataFrame(), None, 60)
    ts = pl.Series(market.ts).dt.replace_time_zone("UTC")

    research = bad_regimes(market, config)
    book = analyse(
        ts,
        ["s"],
        np.zeros((len(ts), 1)),
        [],
        market.close[:, market.instruments.index(("sim_a", "BTC/USDT"))],
        24.0,
        config.regimes,
        AllocationConfig(),
    )
    report = np.isin(lagged(book.labels), list(config.regimes.bad))

    np.testing.assert_array_equal(research, report)
    assert set(book.labels.tolist()) >= {"bear", "crash", "bull"}
    assert 0 < research.sum() < len(research)


def test_research_benchmark_is_the_regime_benchmark(tmp_path: Path) -> None:
    config = _config(tmp_path)
    btc = 100.0 * np.exp(np.cumsum(np.full(72, 0.001)))
    market = research_market(config, _candles(btc), pl.DataFrame(), None, 60)

    returns = benchmark(market, config)

    np.testing.assert_allclose(returns[1:], np.exp(0.001) - 1.0, rtol=1e-12)


def test_a_market_without_the_benchmark_has_no_bad_bars(tmp_path: Path) -> None:
    config = _config(tmp_path)
    candles = _candles(np.full(48, 100.0)).filter(pl.col("symbol") == "ETH/USDT")
    market = research_market(config, candles, pl.DataFrame(), None, 60)

    assert not bad_regimes(market, config).any()


def test_a_config_naming_bad_regime_days_is_refused_with_what_to_use(tmp_path: Path) -> None:
    text = CONFIG + "\n[research]\nbad_regime_days = 30\n"

    with pytest.raises(ConfigError, match=r"bad_regime_days was removed.*\[regimes\]"):
        _config(tmp_path, text)
