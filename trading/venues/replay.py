"""A venue that replays recorded candles from a file, for research and tests on real history.

The file is tidy: one row per bar with columns ``symbol``, ``timeframe``, ``ts`` (bar open, in
milliseconds since the epoch or a datetime) and ``open high low close volume``, as in the
Binance data under ``../shared/data``. A timeframe missing from the file is rolled up from the
largest recorded timeframe that divides it, only where every constituent bar is present.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path

import polars as pl

from trading import frames
from trading.timeframes import TIMEFRAME_MINUTES, timeframe_minutes, utc_now
from trading.venues.base import (
    Capabilities,
    HaltError,
    Instrument,
    Order,
    OrderRequest,
    UnknownSymbolError,
)
from trading.venues.kinds.replay import CAPABILITIES

_REQUIRED = ("symbol", "timeframe", "ts", "open", "high", "low", "close", "volume")


def read_recording(path: Path) -> pl.DataFrame:
    """Load a recording and normalise ``ts`` to UTC microseconds; errors name the file."""
    if not path.is_file():
        raise FileNotFoundError(f"replay file {path} does not exist; fix the venue's path")
    if path.suffix == ".parquet":
        df = pl.read_parquet(path)
    elif path.suffix in (".feather", ".arrow", ".ipc"):
        df = pl.read_ipc(path)
    else:
        raise ValueError(f"replay file {path}: use a .parquet or .feather file")
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        raise ValueError(f"replay file {path} lacks columns {missing}; need {list(_REQUIRED)}")
    for column in ("exchange", "venue"):
        if column in df.columns:
            found = sorted(str(x) for x in df.get_column(column).unique().to_list())
            if len(found) > 1:
                raise ValueError(
                    f"replay file {path} holds bars of several exchanges ({column}: "
                    f"{', '.join(found)}); a replay venue serves one exchange: write one file "
                    "per exchange and configure one replay venue for each"
                )
    ts = pl.col("ts")
    if df.schema["ts"].is_integer():
        ts = pl.from_epoch(ts, time_unit="ms")
    out = df.with_columns(ts.dt.replace_time_zone(None).dt.replace_time_zone("UTC")).with_columns(
        pl.col("ts").dt.cast_time_unit("us")
    )
    repeated = out.filter(pl.struct("symbol", "timeframe", "ts").is_duplicated())
    if repeated.height:
        first = repeated.row(0, named=True)
        extra = out.height - out.unique(["symbol", "timeframe", "ts"]).height
        raise ValueError(
            f"replay file {path} holds {extra} rows that repeat a (symbol, timeframe, "
            f"ts), e.g. {first['symbol']} {first['timeframe']} {first['ts']}; keep one bar each"
        )
    return out


class ReplayVenue:
    """Serves a recording's candles through the ``Venue`` interface; it has no account."""

    def __init__(
        self,
        name: str,
        path: Path,
        instruments: tuple[str, ...],
        *,
        maker_fee: float = 0.0002,
        taker_fee: float = 0.0005,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._name = name
        self._path = path
        self._symbols = instruments
        self._maker_fee = maker_fee
        self._taker_fee = taker_fee
        self._clock = clock

    @property
    def name(self) -> str:
        return self._name

    @property
    def capabilities(self) -> Capabilities:
        return CAPABILITIES

    @cached_property
    def _data(self) -> pl.DataFrame:
        return read_recording(self._path)

    def listed_symbols(self) -> set[str]:
        """Symbols present in the recording."""
        return set(self._data.get_column("symbol").unique().to_list())

    def instruments(self) -> list[Instrument]:
        out = []
        for symbol in self._symbols:
            base, _, rest = symbol.partition("/")
            quote, _, settle = rest.partition(":")
            out.append(
                Instrument(
                    venue=self._name,
                    symbol=symbol,
                    base=base,
                    quote=quote,
                    settle=settle or quote,
                    kind="swap" if settle else "spot",
                    contract_size=1.0,
                    price_step=1e-8,
                    amount_step=1e-8,
                    min_amount=0.0,
                    min_notional=0.0,
                    maker_fee=self._maker_fee,
                    taker_fee=self._taker_fee,
                )
            )
        return out

    def fetch_candles(
        self, symbol: str, timeframe: str, start: datetime, end: datetime
    ) -> pl.DataFrame:
        if symbol not in self._symbols:
            raise UnknownSymbolError(self._name, "fetch_candles", f"{symbol!r} is not configured")
        want = timeframe_minutes(timeframe)
        rows = self._data.filter(pl.col("symbol") == symbol)
        recorded = {tf for tf in rows.get_column("timeframe").unique().to_list()}
        closed = pl.col("ts") + timedelta(minutes=want) <= self._clock()
        window = (pl.col("ts") >= start) & (pl.col("ts") < end)
        if timeframe in recorded:
            bars = rows.filter(pl.col("timeframe") == timeframe)
        else:
            divisors = [
                tf
                for tf in recorded
                if tf in TIMEFRAME_MINUTES and want % TIMEFRAME_MINUTES[tf] == 0
            ]
            if not divisors:
                raise HaltError(
                    self._name,
                    "fetch_candles",
                    f"{symbol} has no {timeframe} bars and none that roll up to it; "
                    f"recorded: {sorted(recorded)}",
                )
            source = max(divisors, key=TIMEFRAME_MINUTES.__getitem__)
            per_bar = want // TIMEFRAME_MINUTES[source]
            bars = (
                rows.filter(pl.col("timeframe") == source)
                .sort("ts")
                .group_by_dynamic("ts", every=f"{want}m")
                .agg(
                    pl.col("open").first(),
                    pl.col("high").max(),
                    pl.col("low").min(),
                    pl.col("close").last(),
                    pl.col("volume").sum(),
                    pl.len().alias("n"),
                )
                .filter(pl.col("n") == per_bar)
            )
        out = (
            bars.filter(window & closed)
            .sort("ts")
            .with_columns(
                venue=pl.lit(self._name),
                symbol=pl.lit(symbol),
                timeframe=pl.lit(timeframe),
                date=pl.col("ts").dt.date(),
            )
        )
        return frames.conform(out.unique("ts", keep="last", maintain_order=True), frames.CANDLES)

    def fetch_funding_rates(self, symbol: str, start: datetime, end: datetime) -> pl.DataFrame:
        return frames.empty(frames.FUNDING_RATES)

    def fetch_balances(self) -> pl.DataFrame:
        return frames.empty(frames.BALANCES)

    def fetch_positions(self) -> pl.DataFrame:
        return frames.empty(frames.POSITIONS)

    def fetch_open_orders(self) -> pl.DataFrame:
        return frames.empty(frames.ORDERS)

    def fetch_fills(self, since: datetime | None = None) -> pl.DataFrame:
        return frames.empty(frames.FILLS)

    def create_order(self, request: OrderRequest) -> Order:
        raise HaltError(
            self._name, "create_order", "a replay venue is read-only; it takes no orders"
        )

    def fetch_order(self, symbol: str, client_order_id: str) -> Order | None:
        raise HaltError(self._name, "fetch_order", "a replay venue is read-only; it has no orders")

    def cancel_order(self, symbol: str, client_order_id: str) -> Order:
        raise HaltError(self._name, "cancel_order", "a replay venue is read-only; it has no orders")
