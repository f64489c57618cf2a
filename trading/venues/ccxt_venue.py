"""A real exchange through ccxt, behind the same ``Venue`` interface as the simulated venue.

It wraps an already-constructed ccxt exchange, so tests inject recorded HTTP responses at
ccxt's ``fetch`` layer and every byte of ccxt's request building and parsing runs for real.
History is paged with since/limit loops; errors are translated once (``trading.venues.errors``);
order placement is refused unless trading was explicitly enabled.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import polars as pl

from trading import frames
from trading.timeframes import timeframe_minutes, utc_now
from trading.venues.base import (
    HaltError,
    Instrument,
    Order,
    OrderRequest,
    UnknownSymbolError,
)
from trading.venues.errors import RetryPolicy, call_with_retries
from trading.venues.secrets import redact

T = TypeVar("T")
DEFAULT_POLICY = RetryPolicy()
_DEFAULT_OHLCV_LIMIT = 500
_DEFAULT_FUNDING_LIMIT = 100
_ORDER_STATUS = {
    "open": "open",
    "closed": "closed",
    "canceled": "canceled",
    "expired": "canceled",
    "rejected": "rejected",
}


def _ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def ohlcv_frame(
    rows: Sequence[Sequence[Any]], venue: str, symbol: str, timeframe: str
) -> pl.DataFrame:
    """ccxt's unified OHLCV rows as a frame in the ``CANDLES`` layout (no per-row Python)."""
    if not rows:
        return frames.empty(frames.CANDLES)
    raw = pl.DataFrame(
        rows,
        schema={
            "ms": pl.Int64,
            "open": pl.Float64,
            "high": pl.Float64,
            "low": pl.Float64,
            "close": pl.Float64,
            "volume": pl.Float64,
        },
        orient="row",
    )
    ts = pl.from_epoch("ms", time_unit="ms").dt.cast_time_unit("us").dt.replace_time_zone("UTC")
    return raw.select(
        pl.lit(venue).alias("venue"),
        pl.lit(symbol).alias("symbol"),
        pl.lit(timeframe).alias("timeframe"),
        ts.alias("ts"),
        ts.dt.date().alias("date"),
        "open",
        "high",
        "low",
        "close",
        "volume",
    )


def trades_frame(trades: Sequence[dict[str, Any]], venue: str) -> pl.DataFrame:
    """ccxt's unified trades (own fills) as a frame in the ``FILLS`` layout."""
    if not trades:
        return frames.empty(frames.FILLS)
    raw = pl.DataFrame(
        {
            "symbol": [t["symbol"] for t in trades],
            "fill_id": [str(t["id"]) for t in trades],
            "order_id": [None if t.get("order") is None else str(t["order"]) for t in trades],
            "client_order_id": [_client_id(t) for t in trades],
            "side": [t["side"] for t in trades],
            "amount": [t["amount"] for t in trades],
            "price": [t["price"] for t in trades],
            "fee": [(t.get("fee") or {}).get("cost") for t in trades],
            "fee_asset": [(t.get("fee") or {}).get("currency") for t in trades],
            "liquidity": [t.get("takerOrMaker") for t in trades],
            "ms": [t["timestamp"] for t in trades],
        },
        schema_overrides={
            "amount": pl.Float64,
            "price": pl.Float64,
            "fee": pl.Float64,
            "ms": pl.Int64,
        },
    )
    ts = pl.from_epoch("ms", time_unit="ms").dt.cast_time_unit("us").dt.replace_time_zone("UTC")
    return frames.conform(raw.with_columns(venue=pl.lit(venue), ts=ts), frames.FILLS)


def _client_id(item: dict[str, Any]) -> str | None:
    value = item.get("clientOrderId")
    if value is None:
        info = item.get("info") or {}
        value = info.get("clientOrderId") or info.get("clOrdId") or info.get("orderLinkId")
    return None if value in (None, "") else str(value)


class CcxtVenue:
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
        policy: RetryPolicy = DEFAULT_POLICY,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
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
        self._markets_loaded = False

    @property
    def name(self) -> str:
        return self._name

    @property
    def exchange(self) -> Any:
        """The wrapped ccxt exchange (for tests and diagnostics)."""
        return self._exchange

    def _call(self, call: str, fn: Callable[[], T], retries: bool = True) -> T:
        policy = self._policy if retries else RetryPolicy(retries=0)
        return call_with_retries(
            fn, venue=self._name, call=call, policy=policy, redact=redact, sleep=self._sleep
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
        return dict(market)

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
            out.append(
                Instrument(
                    venue=self._name,
                    symbol=symbol,
                    base=m["base"],
                    quote=m["quote"],
                    settle=m.get("settle") or m["quote"],
                    kind="swap" if m.get("swap") else "spot",
                    contract_size=float(m.get("contractSize") or 1.0),
                    price_step=self._step((m.get("precision") or {}).get("price")),
                    amount_step=self._step((m.get("precision") or {}).get("amount")),
                    min_amount=float((limits.get("amount") or {}).get("min") or 0.0),
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
    ) -> list[Any]:
        """since/limit paging: advance past the newest row of each page, stop at ``end`` or the
        present, keep the last copy of a timestamp seen on two pages."""
        since, end_ms = _ms(start), _ms(end)
        now_ms = _ms(self._clock())
        seen: dict[int, Any] = {}
        while since < end_ms:
            page = self._call(call, partial(fetch, since, limit))
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
        rows = []
        for asset, total in sorted((balance.get("total") or {}).items()):
            if not total:
                continue
            rows.append(
                {
                    "venue": self._name,
                    "asset": asset,
                    "free": float((balance.get("free") or {}).get(asset) or 0.0),
                    "used": float((balance.get("used") or {}).get(asset) or 0.0),
                    "total": float(total),
                }
            )
        return (
            pl.DataFrame(rows, schema=dict(frames.BALANCES))
            if rows
            else frames.empty(frames.BALANCES)
        )

    def fetch_positions(self) -> pl.DataFrame:
        swaps = [s for s in self._symbols if self._market(s, "fetch_positions").get("swap")]
        if not swaps:
            return frames.empty(frames.POSITIONS)
        positions = self._call("fetch_positions", lambda: self._exchange.fetch_positions(swaps))
        rows = []
        for p in positions:
            contracts = float(p.get("contracts") or 0.0)
            if contracts == 0:
                continue
            size = contracts * float(p.get("contractSize") or 1.0)
            rows.append(
                {
                    "venue": self._name,
                    "symbol": p["symbol"],
                    "size": -size if p.get("side") == "short" else size,
                    "entry_price": float(p.get("entryPrice") or 0.0),
                    "mark_price": float(p.get("markPrice") or 0.0),
                    "unrealized_pnl": float(p.get("unrealizedPnl") or 0.0),
                }
            )
        return (
            pl.DataFrame(rows, schema=dict(frames.POSITIONS))
            if rows
            else frames.empty(frames.POSITIONS)
        )

    def _order_record(self, o: dict[str, Any], request: OrderRequest | None = None) -> Order:
        """ccxt's order as an ``Order``; some exchanges acknowledge a new order with ids only
        (bybit), so what the exchange left out comes from the request that was sent."""
        ms = o.get("timestamp") or _ms(self._clock())
        price = o.get("price")
        if price is None and request is not None:
            price = request.price
        return Order(
            venue=self._name,
            symbol=o.get("symbol") or (request.symbol if request else ""),
            client_order_id=_client_id(o) or (request.client_order_id if request else ""),
            order_id=str(o["id"]),
            side=o.get("side") or (request.side if request else "buy"),
            type=o.get("type") or (request.type if request else "limit"),
            amount=float(o.get("amount") or (request.amount if request is not None else 0.0)),
            price=None if price is None else float(price),
            filled=float(o.get("filled") or 0.0),
            status=_ORDER_STATUS.get(o.get("status") or "open", "open"),  # type: ignore[arg-type]
            ts=datetime.fromtimestamp(ms / 1000, tz=UTC),
        )

    def fetch_open_orders(self) -> pl.DataFrame:
        rows = []
        for symbol in self._symbols:
            orders = self._call(
                "fetch_open_orders", partial(self._exchange.fetch_open_orders, symbol)
            )
            for o in orders:
                r = self._order_record(o)
                rows.append({f: getattr(r, f) for f in frames.ORDERS})
        if not rows:
            return frames.empty(frames.ORDERS)
        return frames.conform(pl.DataFrame(rows), frames.ORDERS)

    def fetch_fills(self, since: datetime | None = None) -> pl.DataFrame:
        since_ms = None if since is None else _ms(since)
        parts = []
        for symbol in self._symbols:
            trades = self._call(
                "fetch_my_trades", partial(self._exchange.fetch_my_trades, symbol, since_ms)
            )
            parts.append(trades_frame(trades, self._name))
        return pl.concat(parts) if parts else frames.empty(frames.FILLS)

    # ----------------------------------------------------------------- orders

    def _require_trading(self, call: str) -> None:
        if not self._trading_enabled:
            raise HaltError(
                self._name,
                call,
                "order placement is disabled for this venue; set trading_enabled = true in its "
                "config to allow it (live trading is off unless explicitly enabled)",
            )

    def create_order(self, request: OrderRequest) -> Order:
        """Place an order with the client order id. Not retried: a timeout may hide an accepted
        order, so the caller reconciles by client order id instead of resending blindly."""
        self._require_trading("create_order")
        self._market(request.symbol, "create_order")
        params: dict[str, Any] = {"clientOrderId": request.client_order_id}
        if request.reduce_only:
            params["reduceOnly"] = True
        order = self._call(
            "create_order",
            lambda: self._exchange.create_order(
                request.symbol, request.type, request.side, request.amount, request.price, params
            ),
            retries=False,
        )
        return self._order_record(order, request)

    def cancel_order(self, symbol: str, client_order_id: str) -> Order:
        self._require_trading("cancel_order")
        self._market(symbol, "cancel_order")
        order = self._call(
            "cancel_order",
            lambda: self._exchange.cancel_order(None, symbol, {"clientOrderId": client_order_id}),
        )
        record = self._order_record(order)
        return (
            record if record.client_order_id else replace(record, client_order_id=client_order_id)
        )
