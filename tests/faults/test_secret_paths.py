"""The leak test's three further paths: a credential pasted where a variable name belongs, a
secret shorter than six characters (an OKX passphrase) in ccxt's debug header log, and a log
handler added after the venue was built."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestration.cli import main
from tests.trading import recorded
from trading.config import parse_config
from trading.venues import factory
from trading.venues.kinds import ccxt as ccxt_kind  # where the ccxt builder lives

PASTED_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
OKX_KEY = "KEELOKXKEY-visible-if-leaked-11111"
OKX_SECRET = "KEELOKXSECRET-visible-if-leaked-22222"
OKX_PASSPHRASE = "Pw5x"  # four characters: below the old six-character redaction floor

PASTED_CONFIG = f"""
[data]
history_start = "2024-01-01"
timeframes = ["1h"]

[[venues]]
kind = "ccxt"
name = "binance_spot"
exchange = "binance"
instruments = ["BTC/USDT"]
api_key_env = "{PASTED_KEY}"
"""


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """Every record, at DEBUG, into a file; the handler is attached by the test itself."""
    path = tmp_path / "all.log"
    yield path
    for handler in list(logging.getLogger().handlers):
        if isinstance(handler, logging.FileHandler) and handler.baseFilename == str(path):
            logging.getLogger().removeHandler(handler)
            handler.close()


def _attach(path: Path) -> None:
    handler = logging.FileHandler(path)
    handler.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)


def test_a_key_pasted_as_a_variable_name_stops_everything_without_echoing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "keel.toml"
    config.write_text(PASTED_CONFIG)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("KEEL_CONFIG", str(config))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("KEEL_DAGSTER_STORAGE", str(home / "storage"))

    checked = main(["check-config"])
    backfilled = main(["backfill", "--start", "2024-02-01", "--end", "2024-02-01"])

    out = capsys.readouterr()
    assert (checked, backfilled) == (2, 2)
    assert "venues[0].api_key_env: Value error, must name an environment variable" in out.err
    assert PASTED_KEY not in out.out + out.err
    stored = [p.read_bytes() for p in home.rglob("*") if p.is_file()]
    assert not [s for s in stored if PASTED_KEY.encode() in s]


def _okx_venue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("KEEL_TEST_OKX_KEY", OKX_KEY)
    monkeypatch.setenv("KEEL_TEST_OKX_SECRET", OKX_SECRET)
    monkeypatch.setenv("KEEL_TEST_OKX_PASSPHRASE", OKX_PASSPHRASE)
    original = ccxt_kind.build_ccxt_exchange

    def build(venue: Any) -> Any:
        exchange = original(venue)
        exchange.set_markets(
            [
                exchange.safe_market_structure(recorded._tick_precision(exchange, m))
                for m in recorded.markets("okx")
            ]
        )
        balance = recorded.case("okx", "fetchBalance")["httpResponse"]
        recorded.over_http(exchange, lambda url, method, headers, body: balance)
        return exchange

    monkeypatch.setattr(ccxt_kind, "build_ccxt_exchange", build)
    raw: dict[str, Any] = {
        "data": {"history_start": "2024-01-01", "timeframes": ["1h"]},
        "venues": [
            {
                "kind": "ccxt",
                "name": "okx_spot",
                "exchange": "okx",
                "instruments": ["BTC/USDT"],
                "api_key_env": "KEEL_TEST_OKX_KEY",
                "secret_env": "KEEL_TEST_OKX_SECRET",
                "password_env": "KEEL_TEST_OKX_PASSPHRASE",
            }
        ],
    }
    config = parse_config(raw, tmp_path / "keel.toml")
    return factory.build_venue(config.venue("okx_spot"), config, state_dir=tmp_path / "s")


def test_a_short_passphrase_is_redacted_from_ccxt_debug_headers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log_file: Path
) -> None:
    _attach(log_file)
    monkeypatch.setattr(logging.getLogger(), "level", logging.DEBUG)
    venue = _okx_venue(tmp_path, monkeypatch)
    monkeypatch.setattr(logging.getLogger("ccxt"), "level", logging.DEBUG)  # an operator's choice

    venue.fetch_balances()  # a signed request

    text = log_file.read_text()
    assert "OK-ACCESS-PASSPHRASE" in text  # ccxt logged the signed request's headers
    assert f"'{OKX_PASSPHRASE}'" not in text
    assert OKX_KEY not in text
    assert "OK-ACCESS-PASSPHRASE': '***'" in text


def test_a_handler_added_after_the_venue_is_built_gets_clean_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log_file: Path
) -> None:
    _okx_venue(tmp_path, monkeypatch)
    _attach(log_file)  # after the venue (and its log filter) exist
    monkeypatch.setattr(logging.getLogger(), "level", logging.DEBUG)
    urllib3 = logging.getLogger("urllib3.connectionpool")
    monkeypatch.setattr(urllib3, "level", logging.DEBUG)

    urllib3.debug('https://www.okx.com:443 "GET /api/v5/account?key=%s HTTP/1.1" 200', OKX_KEY)
    urllib3.debug("passphrase=%s&sign=x", OKX_PASSPHRASE)

    text = log_file.read_text()
    assert "GET /api/v5/account?key=*** HTTP/1.1" in text
    assert "passphrase=***&sign=x" in text
    assert OKX_KEY not in text
