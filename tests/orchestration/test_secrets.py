"""A recognizable fake API key runs through a whole ccxt ingestion (recorded Binance responses)
and is then searched for in logs, console output, lake files and the Dagster event log."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance

from assets.resources import KeelResource
from lake import catalog
from orchestration.definitions import build_definitions
from orchestration.schedules import range_tags
from tests.trading import recorded
from trading.config import load_config
from trading.venues.kinds import ccxt as factory  # where the ccxt builder lives

FAKE_KEY = "KEELSECRETKEY-visible-if-leaked-1234567890"
FAKE_SECRET = "KEELSECRETSECRET-visible-if-leaked-0987654321"

CONFIG = """
[data]
history_start = "2021-11-01"
timeframes = ["1h"]
demo_days = { "1h" = 2 }

[[venues]]
kind = "ccxt"
name = "binance_usdm"
exchange = "binance"
market_type = "swap"
instruments = ["XRP/USDT:USDT"]
api_key_env = "KEEL_TEST_BINANCE_KEY"
secret_env = "KEEL_TEST_BINANCE_SECRET"
page_limit = 24
"""


def _with_recorded_responses(original: Any) -> Any:
    def build(venue: Any) -> Any:
        exchange = original(venue)  # credentials come from the environment, as in production
        exchange.set_markets(
            [
                exchange.safe_market_structure(recorded._tick_precision(exchange, m))
                for m in recorded.markets("binance")
            ]
        )
        history = recorded.BinanceFuturesHistory()
        balance = recorded.case("binance", "fetchBalance", 1)["httpResponse"]

        def answer(url: str, method: str, headers: Any, body: Any) -> Any:
            if "/klines" in url or "/fundingRate" in url:
                return history(url, method, headers, body)
            return balance  # signed account endpoints: the key travels in a header

        recorded.over_http(exchange, answer)
        logging.getLogger("ccxt").setLevel(logging.DEBUG)  # as if an operator turned it up
        return exchange

    return build


def test_credentials_never_reach_logs_lake_or_event_log(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("KEEL_TEST_BINANCE_KEY", FAKE_KEY)
    monkeypatch.setenv("KEEL_TEST_BINANCE_SECRET", FAKE_SECRET)
    monkeypatch.setattr(
        factory, "build_ccxt_exchange", _with_recorded_responses(factory.build_ccxt_exchange)
    )
    log_file = tmp_path / "all.log"
    handler = logging.FileHandler(log_file)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    monkeypatch.setattr(root, "level", logging.DEBUG)
    path = tmp_path / "keel.toml"
    path.write_text(CONFIG)
    resource = KeelResource(
        config_path=str(path), lake_root=str(tmp_path / "lake"), sim_state_dir=str(tmp_path / "s")
    )
    definitions = build_definitions(load_config(path), str(path), resource)
    (tmp_path / "dagster").mkdir()
    instance = DagsterInstance.local_temp(str(tmp_path / "dagster"))

    try:
        markets = definitions.resolve_job_def("instruments").execute_in_process(instance=instance)
        candles = definitions.resolve_job_def("market_data").execute_in_process(
            instance=instance, tags=range_tags("2021-11-18", "2021-11-19")
        )
        balances = resource.venue("binance_usdm").fetch_balances()  # a signed request
    finally:
        root.removeHandler(handler)
        handler.close()

    assert markets.success
    assert candles.success
    lake = resource.lake()
    assert lake.scan(catalog.candles("1h")).collect().height == 48
    assert lake.scan(catalog.funding_rates()).collect().height == 6
    assert {e.check_name for e in candles.get_asset_check_evaluations() if e.passed} >= {
        "no_gaps",
        "great_expectations",
    }
    out, err = capfd.readouterr()
    haystacks = {
        "console": out + err,
        "log file": log_file.read_text(),
        "event log": "\n".join(
            str(e) for run in (markets, candles) for e in instance.all_logs(run.run_id)
        ),
        "run tags and config": "\n".join(
            str(instance.get_run_by_id(run.run_id)) for run in (markets, candles)
        ),
    }
    for file in (tmp_path / "lake").rglob("*"):
        if file.is_file():
            haystacks[str(file)] = file.read_bytes().decode("latin-1")
    for file in (tmp_path / "dagster").rglob("*"):
        if file.is_file():
            haystacks[str(file)] = file.read_bytes().decode("latin-1")
    assert not balances.is_empty()
    assert "X-MBX-APIKEY" in haystacks["log file"]  # ccxt logged the signed request's headers
    for name, text in haystacks.items():
        assert FAKE_KEY not in text, f"API key leaked into {name}"
        assert FAKE_SECRET not in text, f"secret leaked into {name}"
