"""The config file is validated whole before anything runs; errors name file, key and fix."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, small_config_dict
from trading.config import ConfigError, load_config, parse_config


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "keel.toml"
    path.write_text(text)
    return path


def _parse(raw: dict[str, Any], tmp_path: Path) -> None:
    parse_config(raw, tmp_path / "keel.toml")


def test_shipped_config_loads_with_three_sim_venues_a_paper_venue_and_ten_plus_instruments() -> (
    None
):
    config = load_config(Path(__file__).parents[2] / "keel.toml")

    assert [v.kind for v in config.venues] == ["sim", "sim", "sim", "paper"]
    symbols = {s for v in config.venues for s in v.instruments}
    assert len(symbols) >= 10
    assert any(":" in s for s in symbols)
    assert any(":" not in s for s in symbols)
    assert {"1h", "1m"} <= set(config.data.timeframes)


def test_unknown_top_level_key_is_named_with_the_file(tmp_path: Path) -> None:
    raw = small_config_dict() | {"venuez": []}

    with pytest.raises(ConfigError) as err:
        _parse(raw, tmp_path)

    assert str(tmp_path / "keel.toml") in str(err.value)
    assert "venuez: unknown key" in str(err.value)


def test_unknown_key_inside_a_venue_names_its_position(tmp_path: Path) -> None:
    raw = copy.deepcopy(small_config_dict())
    raw["venues"][1]["liquidty"] = 2.0  # type: ignore[index]

    with pytest.raises(ConfigError, match=r"venues\[1\]\.liquidty: unknown key"):
        _parse(raw, tmp_path)


def test_the_only_venue_rejected_reports_its_own_error_not_an_empty_list(tmp_path: Path) -> None:
    raw = copy.deepcopy(small_config_dict())
    raw["venues"] = [raw["venues"][0] | {"liquidty": 2.0}]  # type: ignore[index, operator]

    with pytest.raises(ConfigError) as err:
        _parse(raw, tmp_path)

    assert str(err.value).splitlines()[1:] == [
        "  venues[0].liquidty: unknown key; remove it or check its spelling"
    ]


def test_unknown_venue_kind_lists_the_known_kinds(tmp_path: Path) -> None:
    raw = copy.deepcopy(small_config_dict())
    raw["venues"][0]["kind"] = "kraken"  # type: ignore[index]

    with pytest.raises(ConfigError, match=r"venues\[0\]\.kind: unknown venue kind 'kraken'.*sim"):
        _parse(raw, tmp_path)


def test_duplicate_venue_names_are_rejected(tmp_path: Path) -> None:
    raw = copy.deepcopy(small_config_dict())
    raw["venues"][1]["name"] = "sim_a"  # type: ignore[index]

    with pytest.raises(ConfigError, match="'sim_a' is used twice"):
        _parse(raw, tmp_path)


def test_bad_timeframe_names_the_valid_ones(tmp_path: Path) -> None:
    raw = copy.deepcopy(small_config_dict())
    raw["data"]["timeframes"] = ["1h", "7m"]  # type: ignore[index]

    with pytest.raises(ConfigError, match=r"data\.timeframes: .*'7m'.*1m, 3m, 5m"):
        _parse(raw, tmp_path)


def test_symbol_the_venue_does_not_list_names_venue_key_and_fix(tmp_path: Path) -> None:
    raw = copy.deepcopy(small_config_dict())
    raw["venues"][1]["instruments"] = ["BTC/USDT", "PEPE/USDT"]  # type: ignore[index]

    with pytest.raises(ConfigError) as err:
        _parse(raw, tmp_path)

    message = str(err.value)
    assert r"venues[1].instruments[1]" in message
    assert "sim_b does not list 'PEPE/USDT'" in message
    assert "remove it or use a listed symbol" in message


def test_replay_symbol_missing_from_the_recording_is_rejected(tmp_path: Path) -> None:
    raw = copy.deepcopy(small_config_dict())
    raw["venues"] = [
        {
            "kind": "replay",
            "name": "binance_rec",
            "path": str(FIXTURES / "binance_spot_4h_2024q1.parquet"),
            "instruments": ["BTC/USDT", "DOGE/USDT"],
        }
    ]

    with pytest.raises(ConfigError, match="binance_rec does not list 'DOGE/USDT'"):
        _parse(raw, tmp_path)


def test_missing_required_key_says_add_it(tmp_path: Path) -> None:
    raw = copy.deepcopy(small_config_dict())
    del raw["data"]["history_start"]  # type: ignore[attr-defined]

    with pytest.raises(ConfigError, match=r"data\.history_start: required key is missing"):
        _parse(raw, tmp_path)


def test_missing_file_says_how_to_point_at_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not found.*KEEL_CONFIG"):
        load_config(tmp_path / "absent.toml")


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "[data\nhistory_start = 1")

    with pytest.raises(ConfigError, match=rf"{path}: not valid TOML"):
        load_config(path)


def test_config_is_frozen(tmp_path: Path) -> None:
    config = parse_config(small_config_dict(), tmp_path / "keel.toml")

    with pytest.raises(ValueError, match="frozen"):
        config.data.history_start = config.data.history_start  # type: ignore[misc]


def test_bad_cron_is_rejected(tmp_path: Path) -> None:
    raw = copy.deepcopy(small_config_dict())
    raw["data"]["refresh_cron"] = "hourly"  # type: ignore[index]

    with pytest.raises(ConfigError, match="not a 5-field cron"):
        _parse(raw, tmp_path)


def test_example_ccxt_config_validates_without_keys_or_network() -> None:
    config = load_config(Path(__file__).parents[2] / "docs" / "examples" / "keel.binance.toml")

    kinds = {(v.kind, v.name) for v in config.venues}
    assert ("ccxt", "binance_usdm") in kinds
    assert not any(getattr(v, "trading_enabled", False) for v in config.venues)


def test_unknown_ccxt_exchange_id_is_named(tmp_path: Path) -> None:
    raw = copy.deepcopy(small_config_dict())
    raw["venues"] = [
        {"kind": "ccxt", "name": "x", "exchange": "binanse", "instruments": ["BTC/USDT"]}
    ]

    with pytest.raises(ConfigError, match="'binanse' is not a ccxt exchange id; did you mean"):
        _parse(raw, tmp_path)


def test_swap_symbol_on_a_spot_ccxt_venue_is_rejected(tmp_path: Path) -> None:
    raw = copy.deepcopy(small_config_dict())
    raw["venues"] = [
        {"kind": "ccxt", "name": "x", "exchange": "okx", "instruments": ["BTC/USDT:USDT"]}
    ]

    with pytest.raises(ConfigError, match="not a unified spot symbol"):
        _parse(raw, tmp_path)


def test_a_secret_pasted_where_a_variable_name_belongs_is_rejected(tmp_path: Path) -> None:
    raw = copy.deepcopy(small_config_dict())
    raw["venues"] = [
        {
            "kind": "ccxt",
            "name": "x",
            "exchange": "okx",
            "instruments": ["BTC/USDT"],
            "secret_env": "k3y/With+Base64==",
        }
    ]

    with pytest.raises(ConfigError, match="must name an environment variable"):
        _parse(raw, tmp_path)


def test_missing_credential_variable_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from trading.venues.factory import build_venue
    from trading.venues.secrets import MissingCredentialError

    monkeypatch.delenv("BINANCE_API_KEY", raising=False)
    config = load_config(Path(__file__).parents[2] / "docs" / "examples" / "keel.binance.toml")

    with pytest.raises(
        MissingCredentialError,
        match=r"BINANCE_API_KEY .* is not set; export it, or remove api_key_env from",
    ):
        build_venue(config.venue("binance_spot"), config)


def test_ccxt_venue_is_built_with_its_configured_options(monkeypatch: pytest.MonkeyPatch) -> None:
    from trading.venues.ccxt_venue import CcxtVenue
    from trading.venues.factory import build_venue

    monkeypatch.setenv("OKX_API_KEY", "k" * 12)
    monkeypatch.setenv("OKX_API_SECRET", "s" * 12)
    monkeypatch.setenv("OKX_API_PASSPHRASE", "p" * 12)
    config = load_config(Path(__file__).parents[2] / "docs" / "examples" / "keel.binance.toml")

    venue = build_venue(config.venue("okx_swap"), config)

    assert isinstance(venue, CcxtVenue)
    assert venue._balance_params == {"type": "trading"}
    assert venue.exchange.options["defaultType"] == "swap"
    assert venue.exchange.enableRateLimit is True
    assert venue.exchange.apiKey == "k" * 12
