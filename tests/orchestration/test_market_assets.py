"""End to end, in process: market assets materialize a range of days into the lake through
Dagster, idempotently, and a bad payload leaves the lake as it was."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from dagster import AssetKey, DagsterInstance, Definitions

from assets.resources import KeelResource
from lake import catalog
from lake.research_trades import read_trades
from lake.store import Lake
from orchestration.definitions import build_definitions
from orchestration.schedules import range_tags
from trading.config import load_config
from trading.venues.sim.venue import SimVenue

CONFIG = """
[data]
history_start = "2024-01-01"
timeframes = ["1h"]
demo_days = { "1h" = 2 }

[simulation]
seed = 11

[[venues]]
kind = "sim"
name = "sim_a"
instruments = ["BTC/USDT", "ETH/USDT", "BTC/USDT:USDT"]

[[venues]]
kind = "sim"
name = "sim_b"
instruments = ["BTC/USDT", "SOL/USDT:USDT"]
"""


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Definitions, Lake, KeelResource]:
    path = tmp_path / "keel.toml"
    path.write_text(CONFIG)
    resource = KeelResource(
        config_path=str(path), lake_root=str(tmp_path / "lake"), sim_state_dir=str(tmp_path / "sim")
    )
    return build_definitions(load_config(path), str(path), resource), resource.lake(), resource


def _run(
    definitions: Definitions, start: str, end: str, keys: list[AssetKey] | None = None
) -> bool:
    job = definitions.resolve_job_def("market_data")
    result = job.execute_in_process(
        instance=DagsterInstance.ephemeral(),
        tags=range_tags(start, end),
        asset_selection=keys,
        raise_on_error=False,
    )
    return bool(result.success)


def _table(lake: Lake, spec: catalog.TableSpec) -> pl.DataFrame:
    return lake.scan(spec).collect().sort("venue", "symbol", "ts")


def test_range_materialization_writes_exactly_what_the_venues_serve(
    setup: tuple[Definitions, Lake, KeelResource],
) -> None:
    definitions, lake, resource = setup

    assert _run(definitions, "2024-03-01", "2024-03-02")

    candles = _table(lake, catalog.candles("1h"))
    venue = resource.venue("sim_a")
    expected = venue.fetch_candles(
        "ETH/USDT", "1h", datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 3, tzinfo=UTC)
    )
    assert candles.height == 5 * 48
    assert candles.filter(pl.col("venue") == "sim_a", pl.col("symbol") == "ETH/USDT").equals(
        expected
    )
    funding = _table(lake, catalog.funding_rates())
    assert funding.group_by("venue", "symbol").len().sort("venue")["len"].to_list() == [6, 6]


def test_rematerializing_a_partition_leaves_the_table_identical(
    setup: tuple[Definitions, Lake, KeelResource],
) -> None:
    definitions, lake, _ = setup
    assert _run(definitions, "2024-03-01", "2024-03-03")
    before = _table(lake, catalog.candles("1h"))
    version = lake.version(catalog.candles("1h"))

    assert _run(definitions, "2024-03-02", "2024-03-02")

    assert _table(lake, catalog.candles("1h")).equals(before)
    assert lake.version(catalog.candles("1h")) == version


def test_materialization_reports_rows_version_window_and_gaps(
    setup: tuple[Definitions, Lake, KeelResource],
) -> None:
    definitions, _, _ = setup
    instance = DagsterInstance.ephemeral()
    job = definitions.resolve_job_def("market_data")
    key = AssetKey(["market", "sim_b", "candles_1h"])

    job.execute_in_process(
        instance=instance, tags=range_tags("2024-03-01", "2024-03-01"), asset_selection=[key]
    )

    event = instance.get_latest_materialization_event(key)
    assert event is not None
    assert event.asset_materialization is not None
    meta = {k: v.value for k, v in event.asset_materialization.metadata.items()}
    assert meta["rows_written"] == 48
    assert meta["delta_version"] == 1  # version 0 is the empty table, created race-free
    assert meta["first_ts"] == "2024-03-01T00:00:00+00:00"
    assert meta["last_ts"] == "2024-03-01T23:00:00+00:00"
    assert meta["missing_bars"] == 0


def test_a_corrupt_payload_fails_its_venue_and_leaves_that_venue_as_it_was(
    setup: tuple[Definitions, Lake, KeelResource], monkeypatch: pytest.MonkeyPatch
) -> None:
    definitions, lake, _ = setup
    assert _run(definitions, "2024-03-01", "2024-03-01")
    before = _table(lake, catalog.candles("1h"))
    original = SimVenue.fetch_candles

    def corrupt(
        self: SimVenue, symbol: str, timeframe: str, start: datetime, end: datetime
    ) -> pl.DataFrame:
        bars = original(self, symbol, timeframe, start, end)
        if symbol == "ETH/USDT":
            return bars.with_columns(low=pl.col("high") * 2)  # low above high
        return bars

    monkeypatch.setattr(SimVenue, "fetch_candles", corrupt)

    assert not _run(definitions, "2024-03-01", "2024-03-05")

    after = _table(lake, catalog.candles("1h"))
    sim_a = pl.col("venue") == "sim_a"
    assert after.filter(sim_a).equals(before.filter(sim_a))  # not one row of the bad range
    # Venues are isolated: a bad payload from one exchange does not stall the others.
    assert after.filter(~sim_a).height == 5 * 24 * 2


def test_instruments_job_stores_every_venues_markets(
    setup: tuple[Definitions, Lake, KeelResource],
) -> None:
    definitions, lake, _ = setup

    result = definitions.resolve_job_def("instruments").execute_in_process(
        instance=DagsterInstance.ephemeral()
    )

    assert result.success
    markets = lake.scan(catalog.instruments()).collect().sort("venue", "symbol")
    assert markets.select("venue", "symbol", "kind").rows() == [
        ("sim_a", "BTC/USDT", "spot"),
        ("sim_a", "BTC/USDT:USDT", "swap"),
        ("sim_a", "ETH/USDT", "spot"),
        ("sim_b", "BTC/USDT", "spot"),
        ("sim_b", "SOL/USDT:USDT", "swap"),
    ]
    assert (markets["price_step"] > 0).all()


def test_features_of_one_day_equal_a_recompute_over_the_whole_history(
    setup: tuple[Definitions, Lake, KeelResource],
) -> None:
    from trading.features.inputs import feature_input
    from trading.features.registry import compute_features, registered_features

    definitions, lake, _ = setup
    assert _run(definitions, "2024-02-20", "2024-03-05")
    registry = registered_features()
    spec = catalog.features("1h", list(registry))
    day = pl.col("date") == datetime(2024, 3, 5).date()
    stored = lake.scan(spec).filter(day).collect().sort("venue", "symbol", "ts")

    assert _run(definitions, "2024-03-05", "2024-03-05")  # incremental: one day plus warm-up

    again = lake.scan(spec).filter(day).collect().sort("venue", "symbol", "ts")
    candles = lake.scan(catalog.candles("1h")).collect()
    funding = lake.scan(catalog.funding_rates()).collect()
    full = compute_features(feature_input(candles, funding, "1h"), registry.values())
    expected = full.filter(day).sort("venue", "symbol", "ts")
    assert stored.height == 5 * 24
    for name in ("ret_24", "vol_168", "zscore_48", "venue_basis", "funding_carry_72"):
        assert (again[name] - expected[name]).abs().max() < 1e-12, name  # type: ignore[operator]
        assert (stored[name] - expected[name]).abs().max() < 1e-12, name  # type: ignore[operator]


def test_research_backtests_every_strategy_reproducibly_and_ranks_them(
    setup: tuple[Definitions, Lake, KeelResource],
) -> None:
    from assets.research_run import load_market
    from trading.backtest.engine import plan_targets, run
    from trading.backtest.setup import settings
    from trading.features.registry import registered_features
    from trading.models.registry import strategy, strategy_names

    definitions, lake, keel = setup
    assert _run(definitions, "2024-02-01", "2024-02-20")
    names = strategy_names()
    instance = DagsterInstance.ephemeral()

    research = definitions.resolve_job_def("research").execute_in_process(
        instance=instance, tags=range_tags(names[0], names[-1])
    )
    again = definitions.resolve_job_def("research").execute_in_process(
        instance=instance, tags=range_tags(names[0], names[-1])
    )

    assert research.success
    assert again.success
    results = lake.scan(catalog.research_metrics()).collect()
    assert sorted(set(results["strategy"].to_list())) == sorted(names)
    assert results.height == 2 * len(names)  # one row per strategy and run: history is kept
    assert len(names) >= 6
    assert results["features_version"].n_unique() == 1
    assert results["code_version"].str.len_chars().min() == 16
    trend = results.filter(pl.col("strategy") == "trend").sort("recorded_at").row(-1, named=True)
    assert trend["sharpe_ci_low"] < trend["sharpe"] < trend["sharpe_ci_high"]
    assert 0.0 <= trend["deflated_sharpe"] <= 1.0
    assert trend["trials"] == len(names)

    # The leaderboard is materialized by the research run itself, with its ranking.
    board = instance.get_latest_materialization_event(AssetKey(["research", "leaderboard"]))
    assert board is not None
    table = board.asset_materialization.metadata["leaderboard"].value  # type: ignore[union-attr]
    assert "| trend |" in str(table)
    # Each partition shows its own metrics and report.
    event = instance.get_latest_materialization_event(AssetKey(["research", "backtests"]))
    assert event is not None
    materialization = event.asset_materialization
    assert materialization is not None
    own = str(materialization.metadata["metrics"].value)
    assert own.count("\n") == 2
    assert f"| {materialization.partition} |" in own
    assert "data:image/svg+xml;base64," in str(materialization.metadata["report"].value)

    # Reproduce from the recorded feature-table version, with time travel.
    features = lake.scan(
        catalog.features("1h", list(registered_features())), version=trend["features_version"]
    ).collect()
    _, _, market = load_market(lake, keel.config())
    matrix, groups = plan_targets(market, strategy("trend").targets(features))
    result = run(market, matrix, settings(keel.config()), groups)
    assert result.equity[-1] - 1.0 == pytest.approx(trend["total_return"], abs=1e-12)
    equity = lake.scan(catalog.research_equity()).filter(pl.col("strategy") == "trend").collect()
    assert equity.height == market.close.shape[0]


def test_a_broken_model_fails_its_own_strategies_and_the_rest_complete(
    setup: tuple[Definitions, Lake, KeelResource], monkeypatch: pytest.MonkeyPatch
) -> None:
    from assets.research_run import run_research
    from trading.models import registry

    definitions, lake, keel = setup
    assert _run(definitions, "2024-02-01", "2024-02-05")
    trend = registry.registered_models()["trend"]

    def explode(features: pl.DataFrame, params: object) -> pl.DataFrame:
        raise ZeroDivisionError("bad day")

    monkeypatch.setitem(registry._REGISTRY, "trend", replace(trend, fn=explode))
    registry._by_name.cache_clear()
    names = ["trend", "mean_reversion", "basis", "xs_momentum"]

    out = run_research(
        lake, keel.config(), names, "run-1", None, {"basis": "model 'basis' declares nothing"}
    )

    registry._by_name.cache_clear()
    assert out.failures == {
        "trend": "ZeroDivisionError: bad day",
        "basis": "ModelError: model 'basis' declares nothing",
    }
    assert sorted(r["strategy"] for r in out.rows) == ["mean_reversion", "xs_momentum"]
    failed = lake.scan(catalog.research_failures()).collect().sort("strategy")
    assert failed["strategy"].to_list() == ["basis", "trend"]


def test_live_targets_from_the_feature_table_tail_equal_the_backtests_last_bar(
    setup: tuple[Definitions, Lake, KeelResource],
) -> None:
    from trading.features.registry import registered_features
    from trading.models.registry import strategies

    definitions, lake, _ = setup
    assert _run(definitions, "2024-02-01", "2024-02-10")
    features = lake.scan(catalog.features("1h", list(registered_features()))).collect()
    last = features["ts"].max()

    for s in strategies():
        research = s.targets(features).filter(pl.col("ts") == last)
        live = s.targets(features.filter(pl.col("ts") == last))  # what the live job reads
        assert live.equals(research), s.name


def test_funding_rates_are_checked_for_duplicates_and_freshness(
    setup: tuple[Definitions, Lake, KeelResource],
) -> None:
    definitions, _, _ = setup
    job = definitions.resolve_job_def("market_data")
    key = AssetKey(["market", "sim_a", "funding_rates"])

    result = job.execute_in_process(
        instance=DagsterInstance.ephemeral(),
        tags=range_tags("2024-03-01", "2024-03-02"),
        asset_selection=[key],
    )

    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"unique_keys": True, "fresh": True, "no_gaps": True}


def test_a_strategy_that_never_trades_writes_typed_empty_trades() -> None:
    from assets.research_run import _frames
    from trading.backtest.engine import InstrumentCosts, Market, run
    from trading.costs import VenueCosts

    market = Market(
        ts=np.arange(3).astype("datetime64[h]").astype("datetime64[us]"),
        instruments=[("v", "X/USDT")],
        close=np.ones((3, 1)),
        quote_volume=np.ones((3, 1)),
        funding=np.zeros((3, 1)),
        costs=InstrumentCosts.uniform(1, VenueCosts(0.0, 0.0)),
        bars_per_year=365.0,
    )
    ts = pl.Series(market.ts).dt.replace_time_zone("UTC").dt.cast_time_unit("us")

    _, trades = _frames("flat", "run", market, run(market, np.zeros((3, 1))), ts)

    assert trades["ts"].to_list() == [[]]  # its row per instrument, holding no trade
    assert dict(trades.schema) == dict(catalog.RESEARCH_TRADE_LISTS)


def test_research_written_in_chunks_equals_research_written_at_once(
    setup: tuple[Definitions, Lake, KeelResource], monkeypatch: pytest.MonkeyPatch
) -> None:
    from assets import research_run
    from trading.models.registry import strategy_names

    definitions, lake, keel = setup
    assert _run(definitions, "2024-02-01", "2024-02-05")
    names = list(strategy_names())

    def written(run_id: str) -> tuple[pl.DataFrame, pl.DataFrame, list[dict[str, object]]]:
        out = research_run.run_research(lake, keel.config(), names, run_id, None)
        equity = lake.scan(catalog.research_equity()).collect().sort("strategy", "ts")
        trades = read_trades(lake)
        rows = [
            {k: v for k, v in r.items() if k not in ("run_id", "recorded_at")} for r in out.rows
        ]
        return equity, trades.sort("strategy", "venue", "symbol", "ts"), rows

    at_once = written("run-1")
    monkeypatch.setattr(research_run, "CHUNK_STRATEGIES", 2)
    in_chunks = written("run-2")

    assert len(names) > 2 * 2  # several chunks, the last one partial or full
    assert in_chunks[0].equals(at_once[0])
    assert in_chunks[1].equals(at_once[1])
    assert in_chunks[2] == at_once[2]
    assert sorted(in_chunks[0]["strategy"].unique().to_list()) == sorted(names)
