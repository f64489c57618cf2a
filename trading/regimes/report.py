"""The regime report: return, excess return over the benchmark (BTC) and Sharpe ratio of every
strategy in every regime, with block-bootstrap confidence intervals, and the headline number:
the average annual excess return in bad regimes.

Intervals: a circular block bootstrap (blocks of ``block_days``, at most a tenth of the bars, so
the autocorrelation of hourly returns inside a block is kept) over the bars of each regime, in
time order; percentile intervals at ``confidence``. One set of resamples per regime serves
every strategy, so the whole report is two matrix products per regime (resample counts ×
returns), not a loop per strategy.
Annualized figures are arithmetic: mean bar return × bars per year.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl
from numpy.typing import NDArray

from trading.regimes.labels import REGIMES, RegimeConfig

Array = NDArray[np.float64]
STATS = ("annual_return", "excess_return", "sharpe")
GROUPS: tuple[str, ...] = (*REGIMES, "bad", "all")

REPORT_SCHEMA: dict[str, pl.DataType] = {
    "strategy": pl.String(),
    "regime": pl.String(),
    "bars": pl.Int64(),
    **{f"{s}{suffix}": pl.Float64() for s in STATS for suffix in ("", "_low", "_high")},
}


def block_indices(
    n: int, block: int, resamples: int, rng: np.random.Generator
) -> NDArray[np.int64]:
    """Circular block bootstrap: ``resamples`` rows of ``n`` indices into a series of length n,
    made of runs of ``block`` consecutive indices (wrapping at the end, so every bar is drawn
    equally often) from uniform random starts."""
    block = max(1, min(block, n))
    count = math.ceil(n / block)
    starts = rng.integers(0, n, size=(resamples, count))
    runs = (starts[:, :, None] + np.arange(block)) % n
    return runs.reshape(resamples, -1)[:, :n]


def block_length(n: int, block: int) -> int:
    """The block used for ``n`` bars: the configured one, at most a tenth of the bars so short
    regimes still get resamples that differ."""
    return max(1, min(block, n // 10))


def _counts(indices: NDArray[np.int64], n: int) -> Array:
    """How often each bar is drawn in each resample (resamples × n)."""
    resamples = indices.shape[0]
    flat = (np.arange(resamples)[:, None] * n + indices).ravel()
    return np.bincount(flat, minlength=resamples * n).reshape(resamples, n).astype(np.float64)


def _stats(s1: Array, s2: Array, b1: Array, n: int, bars_per_year: float) -> dict[str, Array]:
    """Annual return, excess and Sharpe from sums of returns, squares and benchmark returns."""
    mean = s1 / n
    var = (s2 - n * mean * mean) / (n - 1) if n > 1 else np.zeros_like(mean)
    std = np.sqrt(np.maximum(var, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = np.where(std > 1e-15, mean / std, 0.0) * math.sqrt(bars_per_year)
    return {
        "annual_return": mean * bars_per_year,
        "excess_return": (s1 - b1) / n * bars_per_year,
        "sharpe": sharpe,
    }


def group_masks(regimes: NDArray[np.str_], bad: Sequence[str]) -> dict[str, NDArray[np.bool_]]:
    """Which bars belong to each regime, to the bad regimes together, and to all bars."""
    masks = {r: regimes == r for r in REGIMES}
    masks["bad"] = np.isin(regimes, list(bad))
    masks["all"] = np.ones(len(regimes), dtype=bool)
    return masks


def regime_report(
    returns: Array,
    names: Sequence[str],
    benchmark: Array,
    regimes: NDArray[np.str_],
    bars_per_year: float,
    config: RegimeConfig,
) -> pl.DataFrame:
    """One row per strategy (a column of ``returns``, bars × strategies) and regime group:
    bars, then each statistic with its interval. ``regimes`` labels the bar each return was
    earned in (use ``labels.lagged``); groups with fewer than two bars are null."""
    if returns.shape != (len(regimes), len(names)) or benchmark.shape != (len(regimes),):
        raise ValueError(
            f"returns {returns.shape}, benchmark {benchmark.shape} and {len(regimes)} regime "
            f"labels of {len(names)} strategies do not line up; align them on the same bars"
        )
    alpha = (1.0 - config.confidence) / 2.0
    block = max(1, round(config.block_days * bars_per_year / 365.0))
    parts: list[pl.DataFrame] = []
    for g, (group, mask) in enumerate(group_masks(regimes, config.bad).items()):
        n = int(mask.sum())
        columns: dict[str, object] = {"strategy": list(names), "regime": group, "bars": n}
        if n < 2:
            for stat in STATS:
                for suffix in ("", "_low", "_high"):
                    columns[f"{stat}{suffix}"] = None
            parts.append(pl.DataFrame(columns, schema=REPORT_SCHEMA))
            continue
        x = np.ascontiguousarray(returns[mask])
        b = benchmark[mask]
        point = _stats(
            x.sum(axis=0),
            np.einsum("ij,ij->j", x, x),
            np.full(x.shape[1], b.sum()),
            n,
            bars_per_year,
        )
        rng = np.random.default_rng([config.seed, g])
        indices = block_indices(n, block_length(n, block), config.bootstrap, rng)
        counts = _counts(indices, n)
        boot = _stats(counts @ x, counts @ (x * x), (counts @ b)[:, None], n, bars_per_year)
        for stat in STATS:
            low, high = np.quantile(boot[stat], [alpha, 1.0 - alpha], axis=0)
            columns[stat] = point[stat]
            columns[f"{stat}_low"] = low
            columns[f"{stat}_high"] = high
        parts.append(pl.DataFrame(columns, schema=REPORT_SCHEMA))
    return pl.concat(parts)


def headline(report: pl.DataFrame, strategy: str) -> dict[str, float | int | None]:
    """The trader's number for one strategy (or the portfolio): average annual excess return
    over the benchmark in bad regimes, with its interval and the bars it rests on."""
    row = report.filter(pl.col("strategy") == strategy, pl.col("regime") == "bad")
    if row.is_empty():
        raise KeyError(f"{strategy!r} is not in the regime report")
    r = row.row(0, named=True)
    return {k: r[k] for k in ("bars", "excess_return", "excess_return_low", "excess_return_high")}


def summary(report: pl.DataFrame, first: Sequence[str] = ()) -> pl.DataFrame:
    """One row per strategy: the annual excess return over the benchmark in bad regimes with
    its interval, the Sharpe ratio in bad regimes and overall, and the excess in each regime;
    ``first`` (e.g. the portfolio, BTC) on top, then best bad-regime excess first."""
    wide = report.pivot(on="regime", index="strategy", values=["excess_return", "sharpe"])
    bad = report.filter(pl.col("regime") == "bad").select(
        "strategy",
        pl.col("bars").alias("bad_bars"),
        pl.col("excess_return").alias("excess_bad"),
        pl.col("excess_return_low").alias("excess_bad_low"),
        pl.col("excess_return_high").alias("excess_bad_high"),
        pl.col("sharpe").alias("sharpe_bad"),
    )
    per_regime = wide.select(
        "strategy",
        pl.col("sharpe_all"),
        *[pl.col(f"excess_return_{r}").alias(f"excess_{r}") for r in REGIMES],
    )
    rank = pl.col("strategy").replace_strict(
        {name: i for i, name in enumerate(first)}, default=len(first), return_dtype=pl.Int64
    )
    return (
        bad.join(per_regime, on="strategy")
        .with_columns(rank=rank)
        .sort("rank", "excess_bad", descending=[False, True], nulls_last=True)
        .drop("rank")
    )
