"""Paper venues: another venue's market data plus a simulated account, from the config."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import NOW, small_config_dict
from trading.config import ConfigError, parse_config
from trading.venues.base import OrderRequest, Venue
from trading.venues.factory import build_venue
from trading.venues.kinds import capabilities_of, market_venues


def _config(tmp_path: Path, **paper: Any) -> Any:
    raw = small_config_dict()
    entry = {"kind": "paper", "name": "paper_a", "market": "sim_a", "instruments": ["BTC/USDT"]}
    raw["venues"] = [*raw["venues"], {**entry, **paper}]  # type: ignore[misc]
    return parse_config(raw, tmp_path / "keel.toml")


def test_paper_venue_fills_at_its_market_venues_prices(tmp_path: Path) -> None:
    config = _config(tmp_path, starting_balances={"USDT": 5_000.0}, taker_fee=0.001)
    paper = build_venue(config.venue("paper_a"), config, state_dir=tmp_path, clock=lambda: NOW)
    market = build_venue(config.venue("sim_a"), config, clock=lambda: NOW)
    last = market.fetch_candles("BTC/USDT", "1m", NOW - timedelta(minutes=3), NOW)["close"][-1]

    order = paper.create_order(OrderRequest("BTC/USDT", "buy", 0.01, "p-1"))
    fill = paper.fetch_fills().row(0, named=True)

    assert isinstance(paper, Venue)
    assert order.status == "closed"
    assert fill["price"] == pytest.approx(last, rel=5e-4)  # last close plus spread and impact
    assert fill["fee"] == pytest.approx(0.01 * fill["price"] * 0.001)
    assert market.fetch_fills().is_empty()  # the market venue's own account is untouched


def test_paper_venues_store_no_market_data_of_their_own(tmp_path: Path) -> None:
    config = _config(tmp_path)

    caps = capabilities_of(config.venue("paper_a"))

    assert (caps.market_data, caps.account, caps.trading) == (False, True, True)
    assert [v.name for v in market_venues(config.venues)] == ["sim_a", "sim_b"]


def test_paper_venue_naming_an_unknown_market_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no venue named 'nowhere'.*sim_a"):
        _config(tmp_path, market="nowhere")


def test_paper_venue_listing_a_symbol_its_market_lacks_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not list 'DOGE/USDT'"):
        _config(tmp_path, instruments=["DOGE/USDT"])


def test_unknown_venue_kind_error_lists_every_kind(tmp_path: Path) -> None:
    raw = small_config_dict()
    raw["venues"] = [{"kind": "kraken", "name": "k", "instruments": ["BTC/USDT"]}]

    with pytest.raises(ConfigError) as err:
        parse_config(raw, tmp_path / "keel.toml")

    for kind in ("sim", "replay", "ccxt", "paper"):
        assert f"{kind} (" in str(err.value)


def test_caps_sub_table_is_read_and_rejects_unknown_keys(tmp_path: Path) -> None:
    config = _config(tmp_path, caps={"max_equity_usd": 50_000, "max_equity_share": 0.4})
    caps = config.venue("paper_a").caps

    assert caps is not None
    assert (caps.max_equity_usd, caps.max_equity_share) == (50_000, 0.4)
    with pytest.raises(ConfigError, match=r"caps\.max_equty_usd: unknown key"):
        _config(tmp_path, caps={"max_equty_usd": 1})


def test_paper_venue_over_recorded_binance_candles_fills_at_the_recorded_close(
    tmp_path: Path,
) -> None:
    from datetime import UTC, datetime

    from tests.conftest import FIXTURES
    from trading.config import PaperVenueConfig
    from trading.venues.paper import PaperVenue
    from trading.venues.replay import ReplayVenue

    at = datetime(2024, 1, 2, 0, 30, tzinfo=UTC)  # inside the recording
    market = ReplayVenue(
        "binance_rec", FIXTURES / "binance_spot_4h_2024q1.parquet", ("BTC/USDT",), clock=lambda: at
    )
    config = PaperVenueConfig(
        kind="paper",
        name="paper_rec",
        market="binance_rec",
        instruments=("BTC/USDT",),
        quote_timeframe="4h",
        taker_fee=0.001,
    )
    paper = PaperVenue(config, market, clock=lambda: at)
    last_bar = market.fetch_candles("BTC/USDT", "4h", at - timedelta(hours=8), at)

    paper.create_order(OrderRequest("BTC/USDT", "buy", 0.1, "rec-1"))
    fill = paper.fetch_fills().row(0, named=True)

    assert last_bar["ts"][-1] == datetime(2024, 1, 1, 20, tzinfo=UTC)  # the last closed 4h bar
    assert fill["price"] == pytest.approx(last_bar["close"][-1], rel=2e-4)
    assert fill["fee"] == pytest.approx(0.1 * fill["price"] * 0.001)
