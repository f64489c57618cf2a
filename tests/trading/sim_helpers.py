"""A tiny hand-made market for simulated-account tests: every bar written out, so expected
fills, fees and balances can be written out too."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from trading import frames
from trading.configbase import SimAccountFields
from trading.venues.base import Capabilities, Instrument
from trading.venues.sim.account import SimAccount
from trading.venues.sim.store import StateStore

T0 = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
CAPS = Capabilities(
    account=True,
    trading=True,
    post_only=True,
    reduce_only=True,
    time_in_force=frozenset({"GTC", "IOC", "FOK"}),
)


def instrument(symbol: str, maker: float = -0.0001, taker: float = 0.0005) -> Instrument:
    swap = ":" in symbol
    return Instrument(
        venue="acct",
        symbol=symbol,
        base="BTC",
        quote="USDT",
        settle="USDT",
        kind="swap" if swap else "spot",
        contract_size=1.0,
        price_step=0.01,
        amount_step=0.001,
        min_amount=0.001,
        min_notional=5.0,
        maker_fee=maker,
        taker_fee=taker,
    )


def bars_from(rows: list[tuple[int, float, float, float, float, float]]) -> pl.DataFrame:
    """Minute bars ``(minutes after T0, open, high, low, close, volume)``."""
    return pl.DataFrame(
        {
            "venue": "acct",
            "symbol": "X",
            "timeframe": "1m",
            "ts": [T0 + timedelta(minutes=m) for m, *_ in rows],
            "date": [(T0 + timedelta(minutes=m)).date() for m, *_ in rows],
            "open": [r[1] for r in rows],
            "high": [r[2] for r in rows],
            "low": [r[3] for r in rows],
            "close": [r[4] for r in rows],
            "volume": [r[5] for r in rows],
        }
    ).pipe(frames.conform, frames.CANDLES)


def flat_bars(volume: float = 1e9, price: float = 100.0, minutes: int = 120) -> pl.DataFrame:
    """Bars from T0-10m on, all at one price."""
    return bars_from([(m, price, price, price, price, volume) for m in range(-10, minutes)])


def account(
    bars: pl.DataFrame,
    now: list[datetime],
    *,
    path: Path | None = None,
    funding: pl.DataFrame | None = None,
    symbols: tuple[str, ...] = ("BTC/USDT", "BTC/USDT:USDT"),
    **settings: Any,
) -> SimAccount:
    """A simulated account over ``bars`` (the same for every symbol) at clock ``now[0]``."""

    def fetch(symbol: str, start: datetime, end: datetime) -> pl.DataFrame:
        return bars.filter((pl.col("ts") >= start) & (pl.col("ts") < end))

    def rates(symbol: str, start: datetime, end: datetime) -> pl.DataFrame:
        assert funding is not None
        return funding.filter((pl.col("ts") >= start) & (pl.col("ts") < end))

    fields = SimAccountFields(**settings)
    clock: Callable[[], datetime] = lambda: now[0]  # noqa: E731
    return SimAccount(
        "acct",
        [instrument(s) for s in symbols],
        fetch,
        rates if funding is not None else None,
        fields,
        SimAccount.store_for(path, fields) if path is not None else None,
        clock,
        CAPS,
    )


def store(path: Path) -> StateStore:
    """The raw store at ``path`` (to read state as another process would)."""
    return StateStore(path, dict)
