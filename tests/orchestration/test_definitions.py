"""The code location loads, cheaply, with every configured asset, job and schedule."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dagster import AssetKey, Definitions

from orchestration.definitions import defs
from trading.config import load_config
from trading.venues.kinds import market_venues

ROOT = Path(__file__).parents[2]


def test_all_definitions_load_and_validate() -> None:
    loaded = defs()

    Definitions.validate_loadable(loaded)
    config = load_config(ROOT / "keel.toml")
    keys = loaded.resolve_asset_graph().get_all_asset_keys()
    markets = market_venues(config.venues)  # a paper venue stores no market data
    expected = (
        {
            AssetKey(["market", v.name, f"candles_{tf}"])
            for v in markets
            for tf in config.data.timeframes
        }
        | {
            AssetKey(["market", v.name, dataset])
            for v in markets
            for dataset in ("funding_rates", "instruments")
        }
        | {
            AssetKey(["features", "features_1h"]),
            AssetKey(["research", "backtests"]),
            AssetKey(["research", "leaderboard"]),
            AssetKey(["live", "trading_run"]),
            AssetKey(["live", "implementation_shortfall"]),
            AssetKey(["execution", "rewards_daily"]),
            AssetKey(["account", "sync"]),
            AssetKey(["account", "ledger"]),
            AssetKey(["execution", "rewards_daily"]),
            AssetKey(["ideas", "pipeline"]),
            AssetKey(["portfolio", "allocation"]),
            AssetKey(["portfolio", "regime_report"]),
            AssetKey(["portfolio", "diversity"]),
        }
    )
    assert keys == expected
    assert loaded.resolve_job_def("market_data") is not None
    assert loaded.resolve_job_def("research") is not None
    assert loaded.resolve_job_def("instruments") is not None
    assert loaded.resolve_job_def("trading") is not None
    assert loaded.resolve_sensor_def("trading_on_new_bar").minimum_interval_seconds == 1
    assert loaded.resolve_job_def("execution_report") is not None
    assert loaded.resolve_job_def("portfolio") is not None
    assert loaded.resolve_schedule_def("portfolio_refresh").cron_schedule == "30 0 * * *"
    assert loaded.resolve_schedule_def("market_refresh").cron_schedule == "5 * * * *"
    assert loaded.resolve_schedule_def("account_sync").cron_schedule == "*/5 * * * *"


def test_loading_definitions_imports_no_heavy_or_network_library() -> None:
    code = (
        "import sys; from orchestration.definitions import defs; defs();"
        "heavy = [m for m in ('pandera', 'great_expectations', 'ccxt', 'deltalake') "
        "if m in sys.modules]; print(','.join(heavy))"
    )

    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )

    assert out.stdout.strip() == ""
