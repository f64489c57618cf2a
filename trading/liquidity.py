"""Trailing liquidity of a market from its candles: average daily traded value (ADV) and daily
return volatility (σ_daily), the two estimates the square-root impact term
``k · σ_daily · sqrt(N / ADV)`` (``trading.costs``) is driven by.

One definition for every place that fits or applies the impact factor: the backtest's
``Market.adv`` / ``Market.daily_vol`` (numpy, over a dense bar grid), the cost calibration
(which fits ``k``) and the shortfall's model price (which applies it) compute the same numbers
over the same trailing window, ``[research] liquidity_days`` (a test compares them). The
definition, per market and bar ``t``, over the bars of the ``window_days`` up to and including
``t`` (``round(window_days × bars per day)`` bars):

- ADV = mean traded value of a bar (``close × volume``, quote currency) × bars per day;
- σ_daily = population standard deviation of the simple returns of consecutive bars (a return
  across a missing bar is left out) × sqrt(bars per day);
- each is NaN until ``min(window, bars per day)`` values exist (a day of history).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

TS = pl.Datetime("us", "UTC")
SCHEMA: dict[str, pl.DataType] = {
    "venue": pl.String(),
    "symbol": pl.String(),
    "ts": TS,  # the bar (the estimate includes it: known at its close, ts + step)
    "adv": pl.Float64(),  # daily traded value, quote currency
    "daily_vol": pl.Float64(),
    "bar_value": pl.Float64(),  # mean traded value of one bar
}


def window_bars(window_days: float, step: timedelta) -> tuple[int, int]:
    """The window in bars and the fewest values an estimate needs (``Market``'s rule)."""
    per_day = timedelta(days=1) / step
    window = max(1, round(window_days * per_day))
    return window, max(1, min(window, round(per_day)))


def _inputs(candles: pl.DataFrame, step: timedelta) -> pl.DataFrame:
    """Per bar: its traded value and its return from the bar before (null when that bar is
    missing), with indicator columns so sums and counts ignore the missing values."""
    value = pl.col("close") * pl.col("volume")
    prev = pl.col("close").shift(1).over("venue", "symbol")
    consecutive = (pl.col("ts") - pl.col("ts").shift(1).over("venue", "symbol")) == step
    ret = pl.when(consecutive).then(pl.col("close") / prev - 1.0)
    return (
        candles.select("venue", "symbol", "ts", "close", "volume")
        .sort("venue", "symbol", "ts")
        .with_columns(value=value, ret=ret)
        .with_columns(
            value_ok=pl.col("value").is_finite().fill_null(False),
            ret_ok=pl.col("ret").is_finite().fill_null(False),
        )
        .with_columns(
            value=pl.when("value_ok").then("value").otherwise(0.0),
            ret=pl.when("ret_ok").then("ret").otherwise(0.0),
        )
    )


def _estimates(per_day: float, min_count: int) -> list[pl.Expr]:
    """ADV, σ_daily and a bar's value from the window's sums (the one formula)."""
    nan = float("nan")
    mean_r = pl.col("ret_sum") / pl.col("ret_n")
    var = (pl.col("ret_sq") / pl.col("ret_n") - mean_r * mean_r).clip(lower_bound=0.0)
    bar_value = pl.col("value_sum") / pl.col("value_n")
    return [
        pl.when(pl.col("value_n") >= min_count)
        .then(bar_value * per_day)
        .otherwise(nan)
        .alias("adv"),
        pl.when(pl.col("ret_n") >= min_count)
        .then((var * per_day).sqrt())
        .otherwise(nan)
        .alias("daily_vol"),
        pl.when(pl.col("value_n") >= min_count).then(bar_value).otherwise(nan).alias("bar_value"),
    ]


def trailing(candles: pl.DataFrame, step: timedelta, window_days: float) -> pl.DataFrame:
    """Per venue, symbol and bar: the estimates over the window up to and including the bar
    (``SCHEMA``). ``candles`` holds ``venue, symbol, ts, close, volume``; a window's first
    return needs the bar before it, so pass one bar more than the earliest window."""
    if candles.is_empty():
        return pl.DataFrame(schema=SCHEMA)
    window, min_count = window_bars(window_days, step)
    span = step * window
    x = _inputs(candles, step)
    by = {"index_column": "ts", "period": span, "closed": "right", "group_by": ["venue", "symbol"]}
    sums = x.rolling(**by).agg(  # type: ignore[arg-type]
        value_sum=pl.col("value").sum(),
        value_n=pl.col("value_ok").sum(),
        ret_sum=pl.col("ret").sum(),
        ret_sq=(pl.col("ret") * pl.col("ret")).sum(),
        ret_n=pl.col("ret_ok").sum(),
    )
    per_day = timedelta(days=1) / step
    return sums.select("venue", "symbol", "ts", *_estimates(per_day, min_count)).cast(
        SCHEMA  # type: ignore[arg-type]
    )


def at(candles: pl.DataFrame, step: timedelta, window_days: float, bar: datetime) -> pl.DataFrame:
    """The estimates at one bar only (the router's, once per run): the same sums over the
    window ending at ``bar``, without the rolling pass over every bar."""
    if candles.is_empty():
        return pl.DataFrame(schema=SCHEMA)
    window, min_count = window_bars(window_days, step)
    x = _inputs(candles.filter(pl.col("ts") <= bar), step).filter(
        pl.col("ts") > bar - step * window
    )
    sums = x.group_by("venue", "symbol").agg(
        value_sum=pl.col("value").sum(),
        value_n=pl.col("value_ok").sum(),
        ret_sum=pl.col("ret").sum(),
        ret_sq=(pl.col("ret") * pl.col("ret")).sum(),
        ret_n=pl.col("ret_ok").sum(),
    )
    per_day = timedelta(days=1) / step
    return (
        sums.select(
            "venue", "symbol", pl.lit(bar).cast(TS).alias("ts"), *_estimates(per_day, min_count)
        )
        .cast(SCHEMA)  # type: ignore[arg-type]
        .sort("venue", "symbol")
    )


def as_of(
    frame: pl.DataFrame, stats: pl.DataFrame, step: timedelta, on: str = "ts"
) -> pl.DataFrame:
    """``frame`` with ``adv`` and ``daily_vol`` known at each row's time ``on``: the estimate of
    the newest bar closed by then (bar + step ≤ time), per venue and symbol; null when none."""
    known = stats.select(
        "venue", "symbol", (pl.col("ts") + step).alias("_known"), "adv", "daily_vol"
    ).sort("_known")
    return (
        frame.with_columns(pl.col(on).cast(TS).alias("_at"))
        .sort("_at")
        .join_asof(
            known,
            left_on="_at",
            right_on="_known",
            by=["venue", "symbol"],
            check_sortedness=False,  # sorted above: by time, the groups interleaved
        )
        .drop("_at", "_known")
    )
