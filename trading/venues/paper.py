"""A paper venue: another venue's market data plus a simulated account. Orders fill against
the market venue's real (or simulated, or recorded) bars; nothing reaches an exchange."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from trading.timeframes import timeframe_minutes, utc_now
from trading.venues.base import (
    Capabilities,
    Instrument,
    Order,
    OrderRequest,
    UnknownSymbolError,
    Venue,
)
from trading.venues.kinds.paper import CAPABILITIES, PaperVenueConfig
from trading.venues.sim.account import SimAccount


class PaperVenue:
    """A simulated account named ``config.name`` quoting from ``market``."""

    def __init__(
        self,
        config: PaperVenueConfig,
        market: Venue,
        *,
        state_dir: Path | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._config = config
        self._market = market
        self._clock = clock
        self._state_dir = state_dir
        self._account_obj: SimAccount | None = None

    @property
    def name(self) -> str:
        return self._config.name

    @property
    def capabilities(self) -> Capabilities:
        return CAPABILITIES

    @property
    def account(self) -> SimAccount:
        """The simulated account; built on first use (the market venue's instruments may need
        the network, e.g. a ccxt venue's markets)."""
        if self._account_obj is None:
            settings = self._config
            path = self._state_dir / f"{self.name}.json" if self._state_dir else None
            self._account_obj = SimAccount(
                self.name,
                self.instruments(),
                self._bars,
                self._funding if self._market.capabilities.funding_history else None,
                settings,
                SimAccount.store_for(path, settings) if path is not None else None,
                self._clock,
                CAPABILITIES,
                bar_minutes=timeframe_minutes(settings.quote_timeframe),
            )
        return self._account_obj

    def instruments(self) -> list[Instrument]:
        listed = {i.symbol: i for i in self._market.instruments()}
        out = []
        for symbol in self._config.instruments:
            spec = listed.get(symbol)
            if spec is None:
                raise UnknownSymbolError(
                    self.name, "instruments", f"market venue {self._market.name} lacks {symbol!r}"
                )
            maker = self._config.maker_fee
            taker = self._config.taker_fee
            out.append(
                replace(
                    spec,
                    venue=self.name,
                    maker_fee=spec.maker_fee if maker is None else maker,
                    taker_fee=spec.taker_fee if taker is None else taker,
                )
            )
        return out

    def _bars(self, symbol: str, start: datetime, end: datetime) -> pl.DataFrame:
        return self._market.fetch_candles(symbol, self._config.quote_timeframe, start, end)

    def _funding(self, symbol: str, start: datetime, end: datetime) -> pl.DataFrame:
        return self._market.fetch_funding_rates(symbol, start - timedelta(seconds=1), end)

    def fetch_candles(
        self, symbol: str, timeframe: str, start: datetime, end: datetime
    ) -> pl.DataFrame:
        bars = self._market.fetch_candles(symbol, timeframe, start, end)
        return bars.with_columns(venue=pl.lit(self.name))

    def fetch_funding_rates(self, symbol: str, start: datetime, end: datetime) -> pl.DataFrame:
        rates = self._market.fetch_funding_rates(symbol, start, end)
        return rates.with_columns(venue=pl.lit(self.name))

    def fetch_balances(self) -> pl.DataFrame:
        return self.account.fetch_balances()

    def fetch_positions(self) -> pl.DataFrame:
        return self.account.fetch_positions()

    def fetch_open_orders(self) -> pl.DataFrame:
        return self.account.fetch_open_orders()

    def fetch_fills(self, since: datetime | None = None) -> pl.DataFrame:
        return self.account.fetch_fills(since)

    def fetch_order(self, symbol: str, client_order_id: str) -> Order | None:
        return self.account.fetch_order(symbol, client_order_id)

    def create_order(self, request: OrderRequest) -> Order:
        return self.account.create_order(request)

    def cancel_order(self, symbol: str, client_order_id: str) -> Order:
        return self.account.cancel_order(symbol, client_order_id)
