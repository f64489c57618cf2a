"""``keel costs``: what research prices with now, after the config's spread and impact were
edited since the newest calibration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from lake.live import cost_calibration_table
from lake.store import Lake
from orchestration.cli import main
from trading.costs import VenueCosts
from trading.live.calibration import CostCalibrationConfig, calibrate

T0 = datetime(2024, 3, 1, tzinfo=UTC)
PRIOR = VenueCosts(0.0002, 0.0005, half_spread_bps=1.0, impact_k=0.5)


def _orders(n: int, venue: str) -> pl.DataFrame:
    """``n`` taker orders whose slippage is a 3 bps half spread plus impact at k = 1."""
    x = [1e-5 * (1 + i % 7) for i in range(n)]
    return pl.DataFrame(
        {
            "venue": [venue] * n,
            "side": ["buy"] * n,
            "style": ["taker"] * n,
            "ts": [T0 + timedelta(minutes=i) for i in range(n)],
            "notional": [1_000.0] * n,
            "fee_bps": [5.0] * n,
            "slippage_bps": [3.0 + v * 1e4 for v in x],
            "impact_x": x,
        }
    )


def test_keel_costs_applies_an_edited_prior_in_full_to_a_venue_without_orders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    rows = calibrate(
        _orders(100, "sim_alpha"),
        {"sim_alpha": PRIOR, "sim_beta": PRIOR},
        CostCalibrationConfig(),
        1,
        T0,
    )
    Lake().upsert(cost_calibration_table(), rows)
    text = (Path(__file__).parents[2] / "keel.toml").read_text()
    edited = tmp_path / "keel.toml"  # sim_beta's spread and impact edited after calibrating
    edited.write_text(
        text + "\n[routing.venues.sim_beta]\nhalf_spread_bps = 7.5\nimpact_k = 1.25\n"
    )
    monkeypatch.setenv("KEEL_CONFIG", str(edited))

    assert main(["costs"]) == 0

    out = capsys.readouterr().out
    assert "sim_beta: half spread 7.50 bps, impact k 1.250 (config)" in out
    # sim_alpha: its fit (3 bps, k 1) shrunk toward its prior with weight 100 / (100 + 100)
    assert "sim_alpha: half spread 2.00 bps, impact k 0.750 (calibration v1)" in out
