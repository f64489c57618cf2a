"""The replay venue serves real recorded Binance candles through the venue interface."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import FIXTURES, NOW
from trading import frames
from trading.venues.base import HaltError, OrderRequest
from trading.venues.replay import ReplayVenue

RECORDING = FIXTURES / "binance_spot_4h_2024q1.parquet"
START = datetime(2024, 1, 1, tzinfo=UTC)


def _venue() -> ReplayVenue:
    return ReplayVenue("binance_rec", RECORDING, ("BTC/USDT", "ETH/USDT"), clock=lambda: NOW)


def test_recorded_bars_come_back_in_the_candle_layout() -> None:
    bars = _venue().fetch_candles("BTC/USDT", "4h", START, START + timedelta(days=1))

    assert dict(bars.schema) == dict(frames.CANDLES)
    assert bars.height == 6
    assert bars["ts"][0] == START
    # Binance BTC/USDT opened 2024 at 42,283.58 (first 4h bar of the recording's year).
    assert bars["open"][0] == pytest.approx(42283.58)


def test_daily_bars_roll_up_complete_4h_bars_only() -> None:
    venue = _venue()
    four_hour = venue.fetch_candles("ETH/USDT", "4h", START, START + timedelta(days=3))

    daily = venue.fetch_candles("ETH/USDT", "1d", START, START + timedelta(days=3))

    assert daily.height == 3
    first_day = four_hour.filter(pl.col("ts") < START + timedelta(days=1))
    assert daily["open"][0] == first_day["open"][0]
    assert daily["close"][0] == first_day["close"][-1]
    assert daily["high"][0] == first_day["high"].max()
    assert daily["volume"][0] == pytest.approx(first_day["volume"].sum())


def test_a_timeframe_that_cannot_be_rolled_up_halts_with_what_is_recorded() -> None:
    with pytest.raises(HaltError, match=r"no 1h bars.*recorded: \['4h'\]"):
        _venue().fetch_candles("BTC/USDT", "1h", START, START + timedelta(days=1))


def test_replay_venue_refuses_orders() -> None:
    with pytest.raises(HaltError, match="read-only"):
        _venue().create_order(OrderRequest("BTC/USDT", "buy", 1.0, "x"))


def test_missing_recording_names_the_path(tmp_path: object) -> None:
    venue = ReplayVenue("r", FIXTURES / "nope.parquet", ("BTC/USDT",))

    with pytest.raises(FileNotFoundError, match=r"nope\.parquet does not exist"):
        venue.listed_symbols()


def test_a_recording_of_several_exchanges_is_refused(tmp_path: Path) -> None:
    bars = pl.read_parquet(RECORDING).head(4)
    mixed = pl.concat(
        [bars.with_columns(exchange=pl.lit("binance")), bars.with_columns(exchange=pl.lit("okx"))]
    )
    mixed.write_parquet(tmp_path / "mixed.parquet")
    venue = ReplayVenue("r", tmp_path / "mixed.parquet", ("BTC/USDT",), clock=lambda: NOW)

    with pytest.raises(ValueError, match=r"several exchanges \(exchange: binance, okx\)"):
        venue.fetch_candles("BTC/USDT", "4h", START, START + timedelta(days=1))


def test_a_recording_with_repeated_bars_is_refused(tmp_path: Path) -> None:
    bars = pl.read_parquet(RECORDING).head(3)
    pl.concat([bars, bars.tail(1)]).write_parquet(tmp_path / "dup.parquet")
    venue = ReplayVenue("r", tmp_path / "dup.parquet", ("BTC/USDT",), clock=lambda: NOW)

    with pytest.raises(ValueError, match="1 rows that repeat"):
        venue.listed_symbols()
