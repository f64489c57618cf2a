"""The simulated venue: market data from the synthetic market, an account that matches orders.

It implements the whole ``Venue`` interface without a network, so the system runs end to end
on a machine with no exchange access. The account half is a ``SimAccount`` (the same one paper
venues use) matched against this venue's own minute bars; its state lives in one JSON file per
venue, locked and written atomically, so it survives between runs and processes.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from trading import frames
from trading.configbase import SimAccountFields
from trading.timeframes import MINUTES_PER_DAY, floor_time, timeframe_minutes, utc_now
from trading.venues.base import (
    Capabilities,
    HaltError,
    Instrument,
    Order,
    OrderRequest,
    UnknownSymbolError,
)
from trading.venues.kinds.sim import CAPABILITIES, FaultConfig
from trading.venues.sim.account import SimAccount
from trading.venues.sim.market import (
    ASSET_INDEX,
    ASSETS,
    FUNDING_HOURS,
    SyntheticMarket,
    VenueMarket,
    aggregate,
)

QUOTE = "USDT"
MIN_NOTIONAL = 5.0
_DAY_FRAMES = 128  # (symbol, timeframe, day) frames kept built; a day of 1m bars is ~160 kB


def sim_symbols() -> dict[str, tuple[str, str]]:
    """Every symbol the simulated venues can list: ``symbol -> (asset, kind)``."""
    out: dict[str, tuple[str, str]] = {}
    for asset in ASSETS:
        out[f"{asset.name}/{QUOTE}"] = (asset.name, "spot")
        out[f"{asset.name}/{QUOTE}:{QUOTE}"] = (asset.name, "swap")
    return out


def _step(value: float, digits_below: int) -> float:
    return float(10.0 ** (math.floor(math.log10(value)) - digits_below))


class SimVenue:
    """A simulated exchange account over a ``SyntheticMarket``."""

    def __init__(
        self,
        name: str,
        market: SyntheticMarket,
        instruments: tuple[str, ...],
        *,
        liquidity: float = 1.0,
        basis_bps: float = 5.0,
        maker_fee: float = 0.0002,
        taker_fee: float = 0.0005,
        account: SimAccountFields | None = None,
        state_dir: Path | None = None,
        clock: Callable[[], datetime] = utc_now,
        faults: FaultConfig | None = None,
    ) -> None:
        listing = sim_symbols()
        unknown = [s for s in instruments if s not in listing]
        if unknown:
            raise UnknownSymbolError(name, "init", f"does not list {unknown}")
        self._name = name
        self._symbols = instruments
        self._listing = listing
        self._market = VenueMarket(market, name, basis_bps=basis_bps, liquidity=liquidity)
        self._maker_fee = maker_fee
        self._taker_fee = taker_fee
        self._clock = clock
        self._faults = faults or FaultConfig()
        self._days: OrderedDict[tuple[str, str, date], pl.DataFrame] = OrderedDict()
        settings = account or SimAccountFields()
        path = state_dir / f"{name}.json" if state_dir is not None else None
        self._account = SimAccount(
            name,
            self.instruments(),
            self._closed_bars,
            self.fetch_funding_rates,
            settings,
            SimAccount.store_for(path, settings) if path is not None else None,
            clock,
            CAPABILITIES,
        )

    @property
    def name(self) -> str:
        return self._name

    @property
    def capabilities(self) -> Capabilities:
        return CAPABILITIES

    # ----------------------------------------------------------------- market data

    def instruments(self) -> list[Instrument]:
        out = []
        for symbol in self._symbols:
            asset_name, kind = self._listing[symbol]
            spec = ASSETS[ASSET_INDEX[asset_name]]
            out.append(
                Instrument(
                    venue=self._name,
                    symbol=symbol,
                    base=asset_name,
                    quote=QUOTE,
                    settle=QUOTE,
                    kind="spot" if kind == "spot" else "swap",
                    contract_size=1.0,
                    price_step=_step(spec.price0, 4),
                    amount_step=_step(10.0 / spec.price0, 0) if spec.price0 < 10 else 1e-5,
                    min_amount=_step(10.0 / spec.price0, 0) if spec.price0 < 10 else 1e-5,
                    min_notional=MIN_NOTIONAL,
                    maker_fee=self._maker_fee,
                    taker_fee=self._taker_fee,
                )
            )
        return out

    def _resolve(self, symbol: str, call: str) -> tuple[int, str]:
        if symbol not in self._symbols:
            raise UnknownSymbolError(
                self._name,
                call,
                f"{symbol!r} is not configured on this venue; configured: {list(self._symbols)}",
            )
        asset_name, kind = self._listing[symbol]
        return ASSET_INDEX[asset_name], kind

    def fetch_candles(
        self, symbol: str, timeframe: str, start: datetime, end: datetime
    ) -> pl.DataFrame:
        return self._inject(self._candles(symbol, timeframe, start, end), symbol)

    def _closed_bars(self, symbol: str, start: datetime, end: datetime) -> pl.DataFrame:
        """Closed minute bars as the market traded them (the account's quotes: no faults)."""
        return self._candles(symbol, "1m", start, end)

    def _candles(self, symbol: str, timeframe: str, start: datetime, end: datetime) -> pl.DataFrame:
        column, kind = self._resolve(symbol, "fetch_candles")
        minutes = timeframe_minutes(timeframe)
        closed_before = floor_time(self._clock(), "1m")
        last_open = closed_before - timedelta(minutes=minutes)  # newest bar that has closed
        days = _days(start, min(end, last_open + timedelta(minutes=minutes)))
        if not days:
            return frames.empty(frames.CANDLES)
        parts = [self._day_frame(symbol, timeframe, column, kind, day) for day in days]
        df = parts[0] if len(parts) == 1 else pl.concat(parts, rechunk=False)
        # Row i opens at first + i steps: cut [start, end) and at the newest closed bar by
        # index (a datetime literal in a polars filter costs ~1 ms to build).
        first = datetime(days[0].year, days[0].month, days[0].day, tzinfo=UTC)
        step = timedelta(minutes=minutes)
        lo = max(0, -((first - start) // step))  # ceil((start - first) / step)
        hi = min(-((first - end) // step), (last_open - first) // step + 1, df.height)
        return df.slice(lo, max(0, hi - lo))

    def _day_frame(
        self, symbol: str, timeframe: str, column: int, kind: str, day: date
    ) -> pl.DataFrame:
        """A whole day of one symbol's bars, in the candles layout. A day of the synthetic
        market never changes, so it is built once and kept (the account prices a symbol from
        a day of minute bars several times a bar); the clock only cuts what a call returns."""
        key = (symbol, timeframe, day)
        cached = self._days.get(key)
        if cached is not None:
            self._days.move_to_end(key)
            return cached
        minutes = timeframe_minutes(timeframe)
        bars = self._market.day(day)
        o, h, lo, c, v = aggregate(bars.spot if kind == "spot" else bars.swap, column, minutes)
        first = datetime(day.year, day.month, day.day, tzinfo=UTC)
        n_bars = MINUTES_PER_DAY // minutes
        epoch_us = (
            int(first.timestamp()) * 1_000_000
            + np.arange(n_bars, dtype=np.int64) * minutes * 60_000_000
        )
        df = frames.conform(
            pl.DataFrame(
                {
                    "ts": pl.Series(epoch_us).cast(frames.UTC_TS),
                    "open": o,
                    "high": h,
                    "low": lo,
                    "close": c,
                    "volume": v,
                }
            ).with_columns(
                venue=pl.lit(self._name),
                symbol=pl.lit(symbol),
                timeframe=pl.lit(timeframe),
                date=pl.col("ts").dt.date(),
            ),
            frames.CANDLES,
        )
        self._days[key] = df
        if len(self._days) > _DAY_FRAMES:
            self._days.popitem(last=False)
        return df

    def _inject(self, bars: pl.DataFrame, symbol: str) -> pl.DataFrame:
        """Apply the configured faults: what a misbehaving exchange would have sent."""
        f = self._faults
        for gap in f.gaps:
            if gap.symbol == symbol:
                bars = bars.filter((pl.col("ts") < gap.start) | (pl.col("ts") >= gap.end))
        for bar in f.bars:
            if bar.symbol != symbol:
                continue
            hit = pl.col("ts") == bar.ts
            if bar.kind == "spike":
                bars = bars.with_columns(
                    pl.when(hit).then(pl.col(c) * bar.factor).otherwise(pl.col(c)).alias(c)
                    for c in ("open", "high", "low", "close")
                )
            else:
                bars = bars.with_columns(
                    low=pl.when(hit).then(pl.col("high") * 1.01).otherwise(pl.col("low"))
                )
        if f.duplicates and bars.height:
            bars = pl.concat([bars, bars.tail(3)])
        if f.out_of_order:
            bars = bars.sample(fraction=1.0, shuffle=True, seed=7)
        return bars

    def fetch_funding_rates(self, symbol: str, start: datetime, end: datetime) -> pl.DataFrame:
        column, kind = self._resolve(symbol, "fetch_funding_rates")
        if kind != "swap":
            raise HaltError(self._name, "fetch_funding_rates", f"{symbol} is not a perpetual swap")
        now = self._clock()
        rows: list[tuple[datetime, float, float]] = []
        for day in _days(start - timedelta(days=1), end):
            for hour in FUNDING_HOURS:
                ts = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
                if not (start <= ts < end) or ts > now:
                    continue
                rate, mark = self._funding_at(ts, column)
                rows.append((ts, rate, mark))
        if not rows:
            return frames.empty(frames.FUNDING_RATES)
        df = pl.DataFrame(rows, schema=["ts", "funding_rate", "mark_price"], orient="row")
        return frames.conform(
            df.with_columns(
                pl.col("ts").dt.cast_time_unit("us"),
                venue=pl.lit(self._name),
                symbol=pl.lit(symbol),
                date=pl.col("ts").dt.date(),
            ),
            frames.FUNDING_RATES,
        )

    def _funding_at(self, ts: datetime, column: int) -> tuple[float, float]:
        """Funding paid at ``ts``: the average perp premium over the 8 hours before it, plus the
        usual interest term clamped to ±5 bp, capped at ±0.75% (the common exchange formula)."""
        window_end = ts - timedelta(minutes=1)
        day = window_end.date()
        bars = self._market.day(day)
        end_minute = window_end.hour * 60 + window_end.minute + 1
        premium = float(np.mean(bars.premium[end_minute - 480 : end_minute, column]))
        rate = premium + float(np.clip(1.0e-4 - premium, -5.0e-4, 5.0e-4))
        mark = float(bars.swap[3][end_minute - 1, column])
        return float(np.clip(rate, -0.0075, 0.0075)), mark

    # ----------------------------------------------------------------- account

    @property
    def account(self) -> SimAccount:
        """The simulated account (for fault injection in tests and demos)."""
        return self._account

    def fetch_balances(self) -> pl.DataFrame:
        return self._account.fetch_balances()

    def fetch_positions(self) -> pl.DataFrame:
        return self._account.fetch_positions()

    def fetch_open_orders(self) -> pl.DataFrame:
        return self._account.fetch_open_orders()

    def fetch_fills(self, since: datetime | None = None) -> pl.DataFrame:
        return self._account.fetch_fills(since)

    def fetch_order(self, symbol: str, client_order_id: str) -> Order | None:
        return self._account.fetch_order(symbol, client_order_id)

    def create_order(self, request: OrderRequest) -> Order:
        return self._account.create_order(request)

    def cancel_order(self, symbol: str, client_order_id: str) -> Order:
        return self._account.cancel_order(symbol, client_order_id)


def _days(start: datetime, end: datetime) -> list[date]:
    """UTC calendar days that intersect ``[start, end)``."""
    if end <= start:
        return []
    first, last = start.astimezone(UTC).date(), (end - timedelta(microseconds=1)).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
