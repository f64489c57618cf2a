"""A real exchange through ccxt, behind the same ``Venue`` interface as the simulated venue.

It wraps an already-constructed ccxt exchange, so tests inject recorded HTTP responses at
ccxt's ``fetch`` layer and every byte of ccxt's request building and parsing runs for real.
History is paged with since/limit loops; errors are translated once (``trading.venues.errors``);
order placement is refused unless trading was explicitly enabled.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import polars as pl

from trading import frames
from trading.timeframes import timeframe_minutes, utc_now
from trading.venues.base import (
    Capabilities,
    HaltError,
    Instrument,
    Order,
    OrderRequest,
    PayloadError,
    RetryableError,
    UnknownSymbolError,
)
from trading.venues.ccxt_orders import CcxtOrders
from trading.venues.ccxt_parse import (
    balances_frame,
    ohlcv_frame,
    order_record,
    positions_frame,
    trades_frame,
)
from trading.venues.client_ids import rule_for
from trading.venues.errors import RetryPolicy, call_with_retries
from trading.venues.secrets import redact

__all__ = ["CcxtVenue", "ohlcv_frame", "trades_frame"]

T = TypeVar("T")
DEFAULT_POLICY = RetryPolicy()
_DEFAULT_OHLCV_LIMIT = 500
_DEFAULT_FUNDING_LIMIT = 100
_FUNDING_PERIOD_MS = 8 * 3_600_000  # the longest common funding interval


def _ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


class CcxtVenue(CcxtOrders):
    """One account on a ccxt exchange."""

    def __init__(
        self,
        name: str,
        exchange: Any,
        instruments: Sequence[str],
        *,
        trading_enabled: bool = False,
        page_limit: int | None = None,
        balance_params: dict[str, Any] | None = None,
        capabilities: Capabilities | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self._name = name
        self._exchange = exchange
        self._symbols = tuple(instruments)
        self._trading_enabled = trading_enabled
        self._page_limit = page_limit
        self._balance_params = dict(balance_params or {})
        self._policy = policy
        self._clock = clock
        self._sleep = sleep
        self._draw = draw
        self._markets_loaded = False
        self._caps = capabilities or Capabilities(
            market_data=True,
            funding_history=True,
            account=True,
            trading=trading_enabled,
            post_only=True,
            reduce_only=True,
            time_in_force=frozenset({"GTC", "IOC", "FOK"}),
        )

    @property
    def name(self) -> str:
        return self._name

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    @property
    def exchange(self) -> Any:
        """The wrapped ccxt exchange (for tests and diagnostics)."""
        return self._exchange

    def _call(self, call: str, fn: Callable[[], T], retries: bool = True) -> T:
        policy = self._policy if retries else RetryPolicy(retries=0)
        return call_with_retries(
            fn,
            venue=self._name,
            call=call,
            policy=policy,
            redact=redact,
            sleep=self._sleep,
            draw=self._draw,
        )

    # ----------------------------------------------------------------- markets

    def markets(self) -> dict[str, Any]:
        """ccxt's markets, loaded once per venue object (ccxt caches them on the exchange)."""
        if not self._markets_loaded and not self._exchange.markets:
            self._call("load_markets", self._exchange.load_markets)
        self._markets_loaded = True
        markets: dict[str, Any] = self._exchange.markets
        return markets

    def _market(self, symbol: str, call: str) -> dict[str, Any]:
        if symbol not in self._symbols:
            raise UnknownSymbolError(
                self._name, call, f"{symbol!r} is not configured; configured: {list(self._symbols)}"
            )
        market = self.markets().get(symbol)
        if market is None:
            raise UnknownSymbolError(
                self._name,
                call,
                f"{self._exchange.id} does not list {symbol!r}; fix the venue's instruments",
            )
        if not (market.get("spot") or market.get("swap")):
            kind = market.get("type") or "derivative"
            raise UnknownSymbolError(
                self._name,
                call,
                f"{symbol!r} is a {kind} market; Keel trades spot and perpetual swaps only "
                "(dated futures and options would be mislabelled): remove it from instruments",
            )
        if market.get("inverse"):
            raise UnknownSymbolError(
                self._name,
                call,
                f"{symbol!r} is an inverse (coin-margined) swap, sized in USD contracts; Keel "
                "supports linear swaps (e.g. BTC/USDT:USDT): remove it from instruments",
            )
        return dict(market)

    def _contract_size(self, symbol: str) -> float:
        market = self.markets().get(symbol) or {}
        return float(market.get("contractSize") or 1.0) if market.get("contract") else 1.0

    def _step(self, value: Any) -> float:
        if value is None:
            return 0.0
        if self._exchange.precisionMode == 2:  # ccxt.DECIMAL_PLACES
            return float(10.0 ** -float(value))
        return float(value)  # TICK_SIZE: the step itself

    def instruments(self) -> list[Instrument]:
        out = []
        for symbol in self._symbols:
            m = self._market(symbol, "instruments")
            limits = m.get("limits") or {}
            size = float(m.get("contractSize") or 1.0) if m.get("contract") else 1.0
            out.append(
                Instrument(
                    venue=self._name,
                    symbol=symbol,
                    base=m["base"],
                    quote=m["quote"],
                    settle=m.get("settle") or m["quote"],
                    kind="swap" if m.get("swap") else "spot",
                    contract_size=size,
                    price_step=self._step((m.get("precision") or {}).get("price")),
                    amount_step=self._step((m.get("precision") or {}).get("amount")) * size,
                    min_amount=float((limits.get("amount") or {}).get("min") or 0.0) * size,
                    min_notional=float((limits.get("cost") or {}).get("min") or 0.0),
                    maker_fee=float(m.get("maker") or 0.0),
                    taker_fee=float(m.get("taker") or 0.0),
                )
            )
        return out

    def _limit(self, market: dict[str, Any], method: str, default: int) -> int:
        if self._page_limit:
            return self._page_limit
        features = self._exchange.features or {}
        kind = "spot" if market.get("spot") else "swap"
        section = features.get(kind) or {}
        if kind == "swap":
            section = section.get("linear" if market.get("linear", True) else "inverse") or {}
        limit = (section.get(method) or {}).get("limit")
        return int(limit) if limit else default

    # ----------------------------------------------------------------- history

    def _page(
        self,
        call: str,
        fetch: Callable[[int, int], list[Any]],
        stamp: Callable[[Any], int],
        start: datetime,
        end: datetime,
        limit: int,
        step_ms: int,
        period_ms: int | None = None,
    ) -> list[Any]:
        """since/limit paging: advance past the newest row of each page, stop at ``end`` or the
        present, keep the last copy of a timestamp seen on two pages."""
        since, end_ms = _ms(start), _ms(end)
        now_ms = _ms(self._clock())
        seen: dict[int, Any] = {}
        while since < end_ms:
            # a row should exist between `since` and the end (rows come every `period_ms`)
            expect = since + (period_ms or step_ms) <= min(end_ms, now_ms)
            page = self._call(call, partial(self._nonempty, call, fetch, since, limit, expect))
            if not page:
                break
            for row in page:
                ts = stamp(row)
                if since <= ts < end_ms or ts in seen:
                    seen[ts] = row
            newest = max(stamp(r) for r in page)
            if newest < since:  # the exchange ignored `since`; nothing more to learn
                break
            since = newest + step_ms
            if since > now_ms:
                break
        return [seen[k] for k in sorted(seen) if _ms(start) <= k < end_ms]

    def _nonempty(
        self,
        call: str,
        fetch: Callable[[int, int], list[Any]],
        since: int,
        limit: int,
        expect: bool,
    ) -> list[Any]:
        """One page; empty where rows must exist is retryable, never the end of history (ccxt
        hands back an unparseable 200 response, truncated JSON or an HTML page, as [])."""
        page = fetch(since, limit)
        if not page and expect:
            raise RetryableError(
                self._name,
                call,
                f"empty page at {datetime.fromtimestamp(since / 1000, UTC):%Y-%m-%d %H:%M} before "
                "the end of the requested range (an unreadable response?); retrying",
            )
        return page

    def fetch_candles(
        self, symbol: str, timeframe: str, start: datetime, end: datetime
    ) -> pl.DataFrame:
        market = self._market(symbol, "fetch_candles")
        step_ms = timeframe_minutes(timeframe) * 60_000
        rows = self._page(
            "fetch_ohlcv",
            lambda since, limit: self._exchange.fetch_ohlcv(symbol, timeframe, since, limit),
            lambda row: int(row[0]),
            start,
            end,
            self._limit(market, "fetchOHLCV", _DEFAULT_OHLCV_LIMIT),
            step_ms,
        )
        closed_before = _ms(self._clock()) - step_ms  # the newest bar is still forming
        rows = [r for r in rows if int(r[0]) <= closed_before]
        return ohlcv_frame(rows, self._name, symbol, timeframe)

    def fetch_funding_rates(self, symbol: str, start: datetime, end: datetime) -> pl.DataFrame:
        market = self._market(symbol, "fetch_funding_rates")
        if not market.get("swap"):
            raise HaltError(self._name, "fetch_funding_rates", f"{symbol} is not a perpetual swap")
        rows = self._page(
            "fetch_funding_rate_history",
            lambda since, limit: self._exchange.fetch_funding_rate_history(symbol, since, limit),
            lambda row: int(row["timestamp"]),
            start,
            end,
            self._limit(market, "fetchFundingRateHistory", _DEFAULT_FUNDING_LIMIT),
            1,
            _FUNDING_PERIOD_MS,
        )
        if not rows:
            return frames.empty(frames.FUNDING_RATES)
        raw = pl.DataFrame(
            {
                "ms": [r["timestamp"] for r in rows],
                "funding_rate": [r["fundingRate"] for r in rows],
                "mark_price": [(r.get("info") or {}).get("markPrice") for r in rows],
            },
            schema={"ms": pl.Int64, "funding_rate": pl.Float64, "mark_price": pl.String},
        )
        ts = pl.from_epoch("ms", time_unit="ms").dt.cast_time_unit("us").dt.replace_time_zone("UTC")
        out = raw.select(
            pl.lit(self._name).alias("venue"),
            pl.lit(symbol).alias("symbol"),
            ts.alias("ts"),
            ts.dt.date().alias("date"),
            "funding_rate",
            pl.col("mark_price").cast(pl.Float64, strict=False).replace(0.0, None),
        )
        return frames.conform(out, frames.FUNDING_RATES)

    # ----------------------------------------------------------------- account

    def fetch_balances(self) -> pl.DataFrame:
        balance = self._call(
            "fetch_balance", lambda: self._exchange.fetch_balance(self._balance_params)
        )
        return balances_frame(balance, self._name)

    def fetch_positions(self) -> pl.DataFrame:
        swaps = [s for s in self._symbols if self._market(s, "fetch_positions").get("swap")]
        if not swaps:
            return frames.empty(frames.POSITIONS)
        if rule_for(self._exchange.id) is rule_for("bybit"):  # bybit takes one symbol per call
            batches = [[s] for s in swaps]
        else:
            batches = [swaps]
        positions: list[Any] = []
        for batch in batches:
            positions += self._call(
                "fetch_positions", partial(self._exchange.fetch_positions, batch)
            )
        sizes = {s: self._contract_size(s) for s in swaps}
        out = positions_frame(positions, self._name, sizes)
        return out.filter(pl.col("symbol").is_in(swaps))

    def _record(
        self, o: dict[str, Any], call: str, symbol: str, request: OrderRequest | None = None
    ) -> Order:
        return order_record(
            o, self._name, call, self._contract_size(symbol), self._clock(), request
        )

    def fetch_open_orders(self) -> pl.DataFrame:
        rows = []
        for symbol in self._symbols:
            orders = self._call(
                "fetch_open_orders", partial(self._exchange.fetch_open_orders, symbol)
            )
            for o in orders:
                r = self._record(o, "fetch_open_orders", symbol)
                rows.append({f: getattr(r, f) for f in frames.ORDERS})
        if not rows:
            return frames.empty(frames.ORDERS)
        return frames.conform(pl.DataFrame(rows), frames.ORDERS)

    def fetch_fills(self, since: datetime | None = None) -> pl.DataFrame:
        since_ms = None if since is None else _ms(since)
        parts = []
        sizes = {s: self._contract_size(s) for s in self._symbols}
        for symbol in self._symbols:
            trades = self._call(
                "fetch_my_trades", partial(self._exchange.fetch_my_trades, symbol, since_ms)
            )
            parts.append(trades_frame(trades, self._name, sizes))
        out = pl.concat(parts) if parts else frames.empty(frames.FILLS)
        if not out["fill_id"].is_unique().all():
            dup = out.filter(pl.col("fill_id").is_duplicated())["fill_id"][0]
            raise PayloadError(self._name, "fetch_my_trades", "id", f"fill {dup} reported twice")
        return out
