"""Regime labels (no look-ahead, hand-worked cases) and the regime report against a slow,
plain-Python reference."""

from __future__ import annotations

import math
import statistics

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.regimes.labels import WARMUP, RegimeConfig, lagged, regime_labels
from trading.regimes.report import block_indices, block_length, headline, regime_report

# One bar a day keeps hand-worked windows short: trend over 4 bars, volatility over 3.
DAILY = RegimeConfig(trend_days=4, vol_days=3, trend_band=0.05, crash_vol=4.0)


def test_flat_rising_falling_and_violent_closes_get_chop_bull_bear_crash() -> None:
    close = np.array([100, 100, 100, 100, 100, 110, 120, 100, 90, 80, 70, 40, 70, 35], dtype=float)

    labels, trend, vol = regime_labels(close, 1.0, DAILY)

    # trend[t] = close[t] / close[t-4] - 1; vol: the 3 log returns ending at t, x sqrt(365)
    assert labels.tolist() == [
        *[WARMUP] * 4,
        "chop",  # 100 / 100
        "bull",  # 110 / 100: +10%
        "bull",  # 120 / 100
        "chop",  # 100 / 100 (vol 3.0, but no trend)
        "bear",  # 90 / 100: -10%, vol 2.65 < 4
        "bear",  # 80 / 110
        "bear",  # 70 / 120
        "crash",  # 40 / 100: -60%, vol 4.79 >= 4
        "crash",  # 70 / 90
        "crash",  # 35 / 80
    ]
    assert math.isclose(trend[9], 80 / 110 - 1)
    log = np.log(np.array([70 / 80, 40 / 70, 70 / 40]))
    assert math.isclose(vol[12], float(np.std(log, ddof=1)) * math.sqrt(365))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    bars=st.integers(30, 400),
    cut=st.floats(0.1, 0.95),
)
def test_labels_unchanged_when_history_is_truncated(seed: int, bars: int, cut: float) -> None:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.05, bars)))
    close[rng.random(bars) < 0.05] = np.nan  # missing bars are carried forward
    config = RegimeConfig(trend_days=1, vol_days=0.5, trend_band=0.02, crash_vol=1.0)
    keep = max(1, int(bars * cut))

    full, full_trend, full_vol = regime_labels(close, 24.0, config)
    part, part_trend, part_vol = regime_labels(close[:keep], 24.0, config)

    assert part.tolist() == full[:keep].tolist()
    np.testing.assert_array_equal(part_trend, full_trend[:keep])
    np.testing.assert_array_equal(part_vol, full_vol[:keep])


def test_a_return_is_judged_by_the_regime_of_the_bar_before() -> None:
    assert lagged(np.array(["bull", "bear", "crash"])).tolist() == [WARMUP, "bull", "bear"]


def _reference(
    x: np.ndarray, b: np.ndarray, regimes: np.ndarray, config: RegimeConfig, bpy: float
) -> dict[tuple[int, str], dict[str, float]]:
    """Per strategy and group, the point statistics and the bootstrap interval, by loops."""
    groups = {
        "bull": regimes == "bull",
        "bear": regimes == "bear",
        "chop": regimes == "chop",
        "crash": regimes == "crash",
        "bad": np.isin(regimes, list(config.bad)),
        "all": np.ones(len(regimes), dtype=bool),
    }
    block = max(1, round(config.block_days * bpy / 365))
    out: dict[tuple[int, str], dict[str, float]] = {}
    for g, (name, mask) in enumerate(groups.items()):
        n = int(mask.sum())
        if n < 2:
            continue
        rng = np.random.default_rng([config.seed, g])
        draws = block_indices(n, block_length(n, block), config.bootstrap, rng)
        for s in range(x.shape[1]):
            r = [float(v) for v in x[mask, s]]
            bench = [float(v) for v in b[mask]]

            def stats(rs: list[float], bs: list[float]) -> tuple[float, float, float]:
                mean = sum(rs) / len(rs)
                sd = statistics.stdev(rs)
                excess = sum(ri - bi for ri, bi in zip(rs, bs, strict=True)) / len(rs)
                sharpe = mean / sd * math.sqrt(bpy) if sd > 1e-15 else 0.0
                return mean * bpy, excess * bpy, sharpe

            point = stats(r, bench)
            boots = [stats([r[i] for i in row], [bench[i] for i in row]) for row in draws]
            alpha = (1 - config.confidence) / 2
            row_out = {}
            for k, stat in enumerate(("annual_return", "excess_return", "sharpe")):
                values = [bt[k] for bt in boots]
                row_out[stat] = point[k]
                row_out[f"{stat}_low"] = float(np.quantile(values, alpha))
                row_out[f"{stat}_high"] = float(np.quantile(values, 1 - alpha))
            out[(s, name)] = row_out
    return out


def test_report_equals_a_slow_reference() -> None:
    rng = np.random.default_rng(5)
    bars = 240
    x = rng.normal(0.0005, 0.01, (bars, 3))
    b = rng.normal(0.0, 0.02, bars)
    regimes = np.array(["bull", "bear", "chop", "crash"])[(np.arange(bars) // 30) % 4]
    config = RegimeConfig(bootstrap=60, block_days=0.25, seed=3)

    report = regime_report(x, ["a", "b", "c"], b, regimes, 24 * 365.0, config)
    expected = _reference(x, b, regimes, config, 24 * 365.0)

    assert report.height == 3 * 6
    for (s, group), values in expected.items():
        row = report.filter(pl.col("strategy") == "abc"[s], pl.col("regime") == group).row(
            0, named=True
        )
        for column, value in values.items():
            assert row[column] == pytest.approx(value, rel=1e-9, abs=1e-12), (s, group, column)


def test_a_regime_with_fewer_than_two_bars_reports_nulls() -> None:
    regimes = np.array(["bull"] * 9 + ["bear"])
    report = regime_report(
        np.ones((10, 1)) * 0.01, ["a"], np.zeros(10), regimes, 365.0, RegimeConfig(bootstrap=50)
    )

    bear = report.filter(pl.col("regime") == "bear").row(0, named=True)
    assert bear["bars"] == 1
    assert bear["excess_return"] is None


def test_headline_is_the_annual_excess_in_bad_regimes() -> None:
    regimes = np.array(["bear", "crash", "bull", "bear"] * 10)
    x = np.where(regimes == "bull", 0.0, 0.002)[:, None]
    b = np.where(regimes == "bull", 0.01, -0.001)

    report = regime_report(x, ["s"], b, regimes, 365.0, RegimeConfig(bootstrap=50))

    number = headline(report, "s")
    assert number["bars"] == 30
    assert number["excess_return"] == pytest.approx(0.003 * 365)


def test_misaligned_inputs_are_refused_with_the_shapes() -> None:
    with pytest.raises(ValueError, match="do not line up"):
        regime_report(np.zeros((5, 2)), ["a"], np.zeros(5), np.array(["bull"] * 5), 1.0, DAILY)
