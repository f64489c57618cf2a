"""Calibrating research's spread and impact from fills: the fit recovers known parameters,
too few fills keep the prior, many fills are shrunk toward it, and the versions research reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.costs import VenueCosts
from trading.live.calibration import (
    LAYOUT,
    CostCalibrationConfig,
    calibrate,
    calibrated,
    fit,
    newest,
    observations,
    reweigh,
    unchanged,
)
from trading.live.order_fills import per_order

T0 = datetime(2024, 3, 1, tzinfo=UTC)
PRIOR = VenueCosts(0.0002, 0.0005, half_spread_bps=1.0, impact_k=0.5)
CFG = CostCalibrationConfig(min_fills=30, prior_fills=100.0)


def synthetic(
    n: int, spread_bps: float, k: float, noise_bps: float, seed: int = 3, venue: str = "sim_a"
) -> pl.DataFrame:
    """``n`` taker fills whose slippage follows the cost model with known parameters."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(1e-5, 5e-4, n)  # σ·sqrt(N/ADV): 0.1 to 5 bps of impact per unit k
    y = spread_bps + k * x * 1e4 + rng.normal(0.0, noise_bps, n)
    return pl.DataFrame(
        {
            "venue": [venue] * n,
            "side": ["buy" if i % 2 else "sell" for i in range(n)],
            "style": ["taker"] * n,
            "ts": [T0 + timedelta(minutes=i) for i in range(n)],
            "notional": [1_000.0] * n,
            "fee_bps": [5.0] * n,
            "slippage_bps": y,
            "impact_x": x,
        }
    )


def test_fit_without_noise_recovers_the_parameters_exactly() -> None:
    obs = synthetic(200, spread_bps=3.0, k=1.2, noise_bps=0.0)
    f = fit(obs["slippage_bps"].to_numpy(), obs["impact_x"].to_numpy(), PRIOR, CFG)
    assert f.fitted_half_spread_bps == pytest.approx(3.0, abs=1e-9)
    assert f.fitted_impact_k == pytest.approx(1.2, abs=1e-9)
    assert f.fills == 200
    assert f.weight == pytest.approx(200 / 300)
    assert f.used_half_spread_bps == pytest.approx(1.0 + 200 / 300 * (3.0 - 1.0))
    assert f.used_impact_k == pytest.approx(0.5 + 200 / 300 * (1.2 - 0.5))


def test_fit_with_noise_recovers_the_parameters_within_their_error() -> None:
    obs = synthetic(5_000, spread_bps=2.0, k=0.8, noise_bps=1.0, seed=7)
    f = fit(obs["slippage_bps"].to_numpy(), obs["impact_x"].to_numpy(), PRIOR, CFG)
    assert f.fitted_half_spread_bps == pytest.approx(2.0, abs=0.1)
    assert f.fitted_impact_k == pytest.approx(0.8, abs=0.05)


@settings(max_examples=30, deadline=None)
@given(
    spread=st.floats(0.0, 20.0),
    k=st.floats(0.0, 3.0),
    n=st.integers(30, 400),
    prior_fills=st.floats(0.0, 1_000.0),
)
def test_used_parameters_lie_between_prior_and_fit(
    spread: float, k: float, n: int, prior_fills: float
) -> None:
    obs = synthetic(n, spread_bps=spread, k=k, noise_bps=0.5)
    cfg = CostCalibrationConfig(min_fills=30, prior_fills=prior_fills)
    f = fit(obs["slippage_bps"].to_numpy(), obs["impact_x"].to_numpy(), PRIOR, cfg)
    assert f.fitted_half_spread_bps is not None
    assert f.fitted_impact_k is not None
    for used, prior, fitted in (
        (f.used_half_spread_bps, PRIOR.half_spread_bps, f.fitted_half_spread_bps),
        (f.used_impact_k, PRIOR.impact_k, f.fitted_impact_k),
    ):
        assert min(prior, fitted) - 1e-9 <= used <= max(prior, fitted) + 1e-9


def test_below_the_minimum_sample_the_prior_is_kept() -> None:
    obs = synthetic(29, spread_bps=10.0, k=3.0, noise_bps=0.0)
    f = fit(obs["slippage_bps"].to_numpy(), obs["impact_x"].to_numpy(), PRIOR, CFG)
    assert (f.used_half_spread_bps, f.used_impact_k) == (1.0, 0.5)
    assert f.weight == 0.0
    assert f.fitted_half_spread_bps == pytest.approx(10.0)  # shown, not used
    assert f.status == "prior: 29 taker orders (< 30)"


def test_one_order_size_fits_the_spread_and_keeps_the_prior_impact() -> None:
    n = 50
    x = np.full(n, 2e-4)
    y = 4.0 + 0.5 * x * 1e4 + np.zeros(n)  # prior k = 0.5 explains the impact
    f = fit(y, x, PRIOR, CFG)
    assert f.fitted_half_spread_bps == pytest.approx(4.0)
    assert f.fitted_impact_k is None  # not identified: the prior's is used (read time's)
    assert f.used_impact_k == 0.5
    assert f.status.startswith("fitted half spread")


def test_negative_fitted_costs_are_floored_at_zero() -> None:
    obs = synthetic(100, spread_bps=-3.0, k=0.0, noise_bps=0.0)
    f = fit(obs["slippage_bps"].to_numpy(), obs["impact_x"].to_numpy(), PRIOR, CFG)
    assert f.fitted_half_spread_bps == 0.0


def test_calibrate_writes_a_row_per_venue_and_side_with_the_window() -> None:
    obs = pl.concat(
        [
            synthetic(120, spread_bps=3.0, k=1.0, noise_bps=0.0),
            synthetic(10, spread_bps=9.0, k=2.0, noise_bps=0.0, venue="sim_b"),
            synthetic(40, spread_bps=50.0, k=9.0, noise_bps=0.0).with_columns(
                style=pl.lit("maker")
            ),
        ]
    )
    rows = calibrate(obs, {"sim_a": PRIOR, "sim_b": PRIOR}, CFG, 4, T0)
    assert rows.schema == pl.Schema(LAYOUT)
    assert rows.select("venue", "side", "fills").rows() == [
        ("sim_a", "all", 120),  # maker fills are not in the fit
        ("sim_a", "buy", 60),
        ("sim_a", "sell", 60),
        ("sim_b", "all", 10),
        ("sim_b", "buy", 5),
        ("sim_b", "sell", 5),
    ]
    a = rows.row(0, named=True)
    assert a["fitted_half_spread_bps"] == pytest.approx(3.0)
    assert a["used_half_spread_bps"] == pytest.approx(1.0 + 1.2 / 2.2 * 2.0)
    assert a["window_start"] == T0
    assert a["window_end"] == T0 + timedelta(minutes=119)
    b = rows.row(3, named=True)
    assert (b["used_half_spread_bps"], b["used_impact_k"]) == (1.0, 0.5)
    version, params = calibrated(rows, {"sim_a": PRIOR, "sim_b": PRIOR}, CFG)
    assert version == 4
    assert "sim_b" not in params  # too few orders: research uses its config
    assert params["sim_a"] == pytest.approx((a["used_half_spread_bps"], a["used_impact_k"]))


def test_calibrate_fits_only_the_window_before_the_newest_fill() -> None:
    old = synthetic(60, spread_bps=40.0, k=0.0, noise_bps=0.0).with_columns(
        ts=pl.col("ts") - timedelta(days=60)
    )
    recent = synthetic(60, spread_bps=2.0, k=1.0, noise_bps=0.0)
    rows = calibrate(pl.concat([old, recent]), {"sim_a": PRIOR}, CFG, 1, T0)
    assert rows["fills"][0] == 60
    assert rows["fitted_half_spread_bps"][0] == pytest.approx(2.0)


def test_no_taker_fill_gives_no_rows_and_no_calibration() -> None:
    obs = synthetic(50, spread_bps=2.0, k=1.0, noise_bps=0.0).with_columns(style=pl.lit("maker"))
    rows = calibrate(obs, {"sim_a": PRIOR}, CFG, 1, T0)
    assert rows.is_empty()
    assert calibrated(rows, {"sim_a": PRIOR}, CFG) == (None, {})


def test_calibrated_reads_the_newest_version_only() -> None:
    first = calibrate(synthetic(100, 2.0, 1.0, 0.0), {"sim_a": PRIOR}, CFG, 1, T0)
    second = calibrate(synthetic(200, 6.0, 1.0, 0.0), {"sim_a": PRIOR}, CFG, 2, T0)
    version, params = calibrated(pl.concat([first, second]), {"sim_a": PRIOR}, CFG)
    assert version == 2
    assert params["sim_a"][0] == pytest.approx(1.0 + 200 / 300 * 5.0)
    assert unchanged(pl.concat([first, second]), second.with_columns(version=pl.lit(3)))
    assert not unchanged(first, second)


def test_observations_measure_slippage_against_the_decision_price() -> None:
    fills = pl.DataFrame(
        {
            "run_id": ["r"] * 3,
            "account": ["paper", "paper", "paper"],
            "venue": ["sim_a"] * 3,
            "symbol": ["BTC/USDT"] * 3,
            "client_order_id": ["k1", "k2", "k3"],
            "side": ["buy", "sell", "buy"],
            "amount": [0.5, 1.0, 1.0],
            "price": [100.1, 99.8, 50.0],
            "fee": [0.025025, 0.0499, 0.0],
            "liquidity": ["taker", "taker", "taker"],
            "ts": [T0, T0, T0],
            "origin": ["keel", "keel", "adopted"],
        }
    )
    orders = pl.DataFrame(
        {
            "run_id": ["r", "r"],
            "account": ["paper", "paper"],
            "venue": ["sim_a", "sim_a"],
            "client_order_id": ["k1", "k2"],
            "price": [100.0, 100.0],
        }
    )
    filled = per_order(fills, orders).with_columns(adv=pl.lit(1e6), daily_vol=pl.lit(0.02))
    obs = observations(filled)
    assert obs["slippage_bps"].to_list() == pytest.approx([10.0, 20.0])
    assert obs["fee_bps"].to_list() == pytest.approx([5.0, 5.0])
    assert obs["impact_x"].to_list() == pytest.approx(
        [0.02 * (50.05 / 1e6) ** 0.5, 0.02 * (99.8 / 1e6) ** 0.5]
    )


def test_a_prior_edited_after_calibrating_takes_effect_for_a_venue_without_orders() -> None:
    rows = calibrate(synthetic(120, 3.0, 1.0, 0.0), {"sim_a": PRIOR, "sim_b": PRIOR}, CFG, 1, T0)
    edited = VenueCosts(0.0002, 0.0005, half_spread_bps=7.0, impact_k=2.0)
    version, params = calibrated(rows, {"sim_a": PRIOR, "sim_b": edited}, CFG)
    assert version == 1
    assert "sim_b" not in params  # no orders: the edited config applies as it is
    view = reweigh(newest(rows), {"sim_a": PRIOR, "sim_b": edited}, CFG)
    b = view.filter(pl.col("venue") == "sim_b", pl.col("side") == "all").row(0, named=True)
    assert (b["used_half_spread_bps"], b["used_impact_k"], b["weight"]) == (7.0, 2.0, 0.0)
    assert b["prior_half_spread_bps"] == 7.0


def test_the_fit_is_shrunk_toward_the_current_prior_and_settings() -> None:
    rows = calibrate(synthetic(100, 3.0, 1.0, 0.0), {"sim_a": PRIOR}, CFG, 1, T0)
    edited = VenueCosts(0.0002, 0.0005, half_spread_bps=5.0, impact_k=0.0)
    _, params = calibrated(rows, {"sim_a": edited}, CFG)
    assert params["sim_a"] == pytest.approx((5.0 + 0.5 * (3.0 - 5.0), 0.0 + 0.5 * 1.0))
    strict = CostCalibrationConfig(min_fills=101, prior_fills=100.0)
    assert calibrated(rows, {"sim_a": edited}, strict) == (1, {})  # now too few orders
    looser = CostCalibrationConfig(min_fills=30, prior_fills=0.0)
    _, params = calibrated(rows, {"sim_a": edited}, looser)
    assert params["sim_a"] == pytest.approx((3.0, 1.0))  # the fit alone
