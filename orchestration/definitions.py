"""Keel's Dagster code location. Thin: reads the config and wires assets, jobs, schedules and
resources. Nothing here builds a venue, touches the lake or imports pandera or ccxt."""

from __future__ import annotations

import warnings

from dagster import BetaWarning, Definitions, PreviewWarning, definitions

from assets.account import account_assets, account_checks, account_job, account_schedule
from assets.checks import market_checks
from assets.execution import execution_assets
from assets.features import feature_assets
from assets.ideas import idea_assets
from assets.live import live_assets
from assets.market import instrument_assets, market_assets
from assets.portfolio import portfolio_assets
from assets.research import research_assets
from assets.resources import KeelResource
from jobs.execution import execution_report_job
from jobs.market import instruments_job, market_data_job
from jobs.portfolio import portfolio_job, portfolio_schedule
from jobs.research import research_job
from jobs.trading import trading_job
from orchestration.executors import definitions_executor
from orchestration.recovery import stale_runs_sensor
from orchestration.schedules import instruments_schedule, refresh_schedule
from orchestration.sensors import trading_sensor
from trading.config import KeelConfig, default_config_path, load_config

# backfill_policy and pool are marked beta; Keel relies on them knowingly (see README).
warnings.filterwarnings("ignore", category=BetaWarning)
warnings.filterwarnings("ignore", category=PreviewWarning)


def build_definitions(
    config: KeelConfig, config_path: str = "", keel: KeelResource | None = None
) -> Definitions:
    """All Keel definitions for one config; ``keel`` overrides where the lake and simulated
    account state live (tests point them at temporary folders)."""
    job = market_data_job()
    markets = instruments_job()
    research = research_job()
    trading = trading_job()
    account = account_job()
    portfolio = portfolio_job()
    return Definitions(
        assets=[
            *market_assets(config),
            *instrument_assets(config),
            *feature_assets(config),
            *research_assets(config),
            *live_assets(config),
            *account_assets(config),
            *execution_assets(config),
            *idea_assets(),
            *portfolio_assets(),
        ],
        asset_checks=[*market_checks(config), *account_checks(config)],
        jobs=[job, markets, research, account, trading, execution_report_job(), portfolio],
        sensors=[trading_sensor(trading), stale_runs_sensor()],
        schedules=[
            refresh_schedule(job, config.data.refresh_cron),
            instruments_schedule(markets),
            account_schedule(account, config.account.sync_cron),
            portfolio_schedule(portfolio, config.portfolio.refresh_cron),
        ],
        resources={"keel": keel or KeelResource(config_path=config_path)},
        executor=definitions_executor(),  # KEEL_EXECUTOR=celery: steps on Celery workers
    )


@definitions
def defs() -> Definitions:
    """The code location Dagster loads (``[tool.dagster]`` in pyproject.toml)."""
    path = default_config_path()
    return build_definitions(load_config(path), str(path))
