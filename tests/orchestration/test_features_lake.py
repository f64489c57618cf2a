"""A feature file added to a project whose lake already holds the feature table: the features
asset adds the column and computes it over the whole history."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from dagster import DagsterInstance

from assets.resources import KeelResource
from lake import catalog
from orchestration.definitions import build_definitions
from orchestration.schedules import range_tags
from tests.orchestration.test_market_assets import CONFIG
from trading.config import load_config
from trading.features import registry as feature_registry
from trading.features.inputs import feature_input


def test_a_new_feature_on_an_existing_lake_is_added_and_computed_over_all_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "keel.toml"
    path.write_text(CONFIG)
    config = load_config(path)
    keel = KeelResource(
        config_path=str(path), lake_root=str(tmp_path / "lake"), sim_state_dir=str(tmp_path / "sim")
    )
    job = build_definitions(config, "", keel).resolve_job_def("market_data")
    full = feature_registry.registered_features()
    older = {k: v for k, v in full.items() if k != "trend_strength_168"}

    def run(start: str, end: str) -> None:
        result = job.execute_in_process(
            instance=DagsterInstance.ephemeral(), tags=range_tags(start, end), raise_on_error=False
        )
        assert result.success

    monkeypatch.setattr(feature_registry, "registered_features", lambda: older)
    run("2024-02-01", "2024-02-10")  # the lake before the feature file existed
    lake = keel.lake()
    before = lake.scan(catalog.features("1h", list(full))).collect()
    assert "trend_strength_168" not in before.columns

    monkeypatch.setattr(feature_registry, "registered_features", lambda: full)
    run("2024-02-11", "2024-02-11")  # the next day, with the new file in place

    stored = lake.scan(catalog.features("1h", list(full))).collect().sort("venue", "symbol", "ts")
    candles = lake.scan(catalog.candles("1h")).collect()
    funding = lake.scan(catalog.funding_rates()).collect()
    expected = feature_registry.compute_features(
        feature_input(candles, funding, "1h"), [full["trend_strength_168"]]
    ).sort("venue", "symbol", "ts")
    assert stored.height == before.height + 5 * 24  # no row twice, one more day of 5 series
    assert stored["trend_strength_168"].equals(expected["trend_strength_168"])
    early = stored.filter(pl.col("date") == date(2024, 2, 9))["trend_strength_168"]
    assert early.null_count() == 0  # filled in days written before the feature existed
