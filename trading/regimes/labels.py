"""Regime labels of the market, from the benchmark's (BTC's) closes, without look-ahead.

At bar t the label uses closes up to and including t only, so truncating the history never
changes a past label (tested). Definitions (``RegimeConfig``, ``[regimes]`` in keel.toml):

- trend: the benchmark's return over the trailing ``trend_days``;
- volatility: the annualized standard deviation of its log returns over ``vol_days``;
- **crash**: trend at or below ``-trend_band`` and volatility at or above ``crash_vol``;
- **bear**: trend at or below ``-trend_band`` (calmer than a crash);
- **bull**: trend at or above ``trend_band``;
- **chop**: anything between; **warmup** until both windows are full.

A return earned during bar t is judged by the regime known when its position was taken, the
label of bar t-1 (``lagged``).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from numpy.typing import NDArray
from pydantic import Field, model_validator

from trading.configbase import _Frozen

REGIMES: tuple[str, ...] = ("bull", "bear", "chop", "crash")
WARMUP = "warmup"


class RegimeConfig(_Frozen):
    """How regimes are defined and how the report estimates its intervals."""

    benchmark: str = Field(default="BTC/USDT", description="the market: this symbol's closes")
    benchmark_venue: str | None = Field(
        default=None, description="venue of the benchmark; None = the first venue listing it"
    )
    trend_days: float = Field(default=30.0, gt=0, description="trailing window of the trend")
    vol_days: float = Field(default=7.0, gt=0, description="trailing window of the volatility")
    trend_band: float = Field(default=0.05, ge=0, description="|trend| below this is chop")
    crash_vol: float = Field(default=0.8, gt=0, description="annualized vol of a crash")
    bad: tuple[str, ...] = Field(default=("bear", "crash"), min_length=1)
    confidence: float = Field(default=0.9, gt=0, lt=1, description="width of the intervals")
    bootstrap: int = Field(default=400, ge=50, description="block-bootstrap resamples")
    block_days: float = Field(default=7.0, gt=0, description="bootstrap block length")
    seed: int = 0

    @model_validator(mode="after")
    def _bad_regimes_are_known(self) -> RegimeConfig:
        unknown = [r for r in self.bad if r not in REGIMES]
        if unknown:
            raise ValueError(f"bad regimes {unknown} are unknown; use some of {list(REGIMES)}")
        return self


def regime_labels(
    close: NDArray[np.float64], bars_per_day: float, config: RegimeConfig
) -> tuple[NDArray[np.str_], NDArray[np.float64], NDArray[np.float64]]:
    """Label, trend and annualized volatility per bar from closes (NaN = no trade, carried
    forward from the last known close); each value uses closes up to that bar only."""
    filled = _forward_fill(np.asarray(close, dtype=np.float64))
    bars = len(filled)
    trend_bars = max(1, round(config.trend_days * bars_per_day))
    vol_bars = max(2, round(config.vol_days * bars_per_day))
    trend = np.full(bars, np.nan)
    if bars > trend_bars:
        trend[trend_bars:] = filled[trend_bars:] / filled[:-trend_bars] - 1.0
    log_returns = np.full(bars, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_returns[1:] = np.log(filled[1:] / filled[:-1])
    vol = np.full(bars, np.nan)
    if bars > vol_bars:
        windows = np.lib.stride_tricks.sliding_window_view(log_returns[1:], vol_bars)
        vol[vol_bars:] = windows.std(axis=1, ddof=1) * math.sqrt(bars_per_day * 365.0)
    labels = np.full(bars, WARMUP, dtype="<U6")
    known = np.isfinite(trend) & np.isfinite(vol)
    falling = known & (trend <= -config.trend_band)
    labels[known] = "chop"
    labels[known & (trend >= config.trend_band)] = "bull"
    labels[falling] = "bear"
    labels[falling & (vol >= config.crash_vol)] = "crash"
    return labels, trend, vol


def simple_returns(close: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per-bar simple returns of closes, 0 where either close is missing (the benchmark's
    return in each bar)."""
    close = np.asarray(close, dtype=np.float64)
    out = np.zeros(len(close))
    with np.errstate(divide="ignore", invalid="ignore"):
        out[1:] = close[1:] / close[:-1] - 1.0
    out[~np.isfinite(out)] = 0.0
    return out


def lagged(labels: NDArray[np.str_]) -> NDArray[np.str_]:
    """The regime a bar's return is judged by: the label of the bar before (known when the
    position was taken); the first bar is warm-up."""
    out = np.empty(len(labels), dtype="<U6")
    if len(labels) == 0:
        return out
    out[0] = WARMUP
    out[1:] = labels[:-1]
    return out


def bad_bars(
    close: NDArray[np.float64], bars_per_day: float, config: RegimeConfig
) -> NDArray[np.bool_]:
    """The bars whose return was earned in a bad regime (``config.bad``, judged by the label
    of the bar before): the one definition research's ``excess_return_bad_regimes``, the
    regime report and the ideas gate share."""
    judged = lagged(regime_labels(close, bars_per_day, config)[0])
    return np.isin(judged, list(config.bad))


def regime_frame(
    ts: pl.Series, close: NDArray[np.float64], bars_per_day: float, config: RegimeConfig
) -> pl.DataFrame:
    """Labels as a frame ``ts, regime, trend, volatility`` (for the lake and the report)."""
    labels, trend, vol = regime_labels(close, bars_per_day, config)
    return pl.DataFrame(
        {"ts": ts, "regime": labels.tolist(), "trend": trend, "volatility": vol}
    ).with_columns(pl.col("trend").fill_nan(None), pl.col("volatility").fill_nan(None))


def _forward_fill(values: NDArray[np.float64]) -> NDArray[np.float64]:
    if values.size == 0:
        return values
    index = np.where(np.isfinite(values) & (values > 0), np.arange(len(values)), 0)
    np.maximum.accumulate(index, out=index)
    out = values[index]
    out[~(np.isfinite(out) & (out > 0))] = np.nan  # before the first valid close
    return out
