"""The simulated venue: market data from the synthetic market, an account that matches orders.

It implements the whole ``Venue`` interface without a network, so the system runs end to end
on a machine with no exchange access. Account state (balances, positions, orders, fills) lives
in one JSON file per venue, written atomically, so it survives between runs.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from trading import frames
from trading.config import FaultConfig
from trading.timeframes import MINUTES_PER_DAY, floor_time, timeframe_minutes, utc_now
from trading.venues.base import (
    HaltError,
    Instrument,
    Order,
    OrderRequest,
    UnknownSymbolError,
)
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
        starting_balances: Mapping[str, float] | None = None,
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
        self._start_balances = dict(starting_balances or {QUOTE: 100_000.0})
        self._state_path = state_dir / f"{name}.json" if state_dir is not None else None
        self._memory_state: dict[str, Any] | None = None
        self._clock = clock
        self._faults = faults or FaultConfig()

    @property
    def name(self) -> str:
        return self._name

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
        column, kind = self._resolve(symbol, "fetch_candles")
        minutes = timeframe_minutes(timeframe)
        closed_before = floor_time(self._clock(), "1m")
        last_open = closed_before - timedelta(minutes=minutes)  # newest bar that has closed
        days = _days(start, min(end, last_open + timedelta(minutes=minutes)))
        if not days:
            return frames.empty(frames.CANDLES)
        columns: list[list[np.ndarray]] = [[] for _ in range(5)]
        for day in days:
            bars = self._market.day(day)
            for out, values in zip(
                columns,
                aggregate(bars.spot if kind == "spot" else bars.swap, column, minutes),
                strict=True,
            ):
                out.append(values)
        first = datetime(days[0].year, days[0].month, days[0].day, tzinfo=UTC)
        step_us = minutes * 60_000_000
        n_bars = len(days) * (MINUTES_PER_DAY // minutes)
        epoch_us = int(first.timestamp()) * 1_000_000 + np.arange(n_bars, dtype=np.int64) * step_us
        o, h, lo, c, v = (np.concatenate(parts) for parts in columns)
        df = pl.DataFrame(
            {
                "ts": pl.Series(epoch_us).cast(frames.UTC_TS),
                "open": o,
                "high": h,
                "low": lo,
                "close": c,
                "volume": v,
            }
        ).filter((pl.col("ts") >= start) & (pl.col("ts") < end) & (pl.col("ts") <= last_open))
        served = frames.conform(
            df.with_columns(
                venue=pl.lit(self._name),
                symbol=pl.lit(symbol),
                timeframe=pl.lit(timeframe),
                date=pl.col("ts").dt.date(),
            ),
            frames.CANDLES,
        )
        return self._inject(served, symbol)

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

    def _load(self) -> dict[str, Any]:
        if self._state_path is not None and self._state_path.exists():
            return dict(json.loads(self._state_path.read_text()))
        if self._state_path is None and self._memory_state is not None:
            return self._memory_state
        return {
            "balances": {k: float(v) for k, v in self._start_balances.items()},
            "positions": {},
            "orders": {},
            "fills": [],
            "seq": 0,
        }

    def _save(self, state: dict[str, Any]) -> None:
        if self._state_path is None:
            self._memory_state = state
            return
        self._state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, sort_keys=True))
        os.replace(tmp, self._state_path)

    def _last_price(self, column: int, kind: str, at: datetime) -> tuple[float, float]:
        """Close of the last closed minute at ``at`` and that minute's dollar volume."""
        minute = floor_time(at, "1m") - timedelta(minutes=1)
        bars = self._market.day(minute.date())
        series = bars.spot if kind == "spot" else bars.swap
        i = minute.hour * 60 + minute.minute
        close = float(series[3][i, column])
        return close, close * float(series[4][i, column])

    def _sync(self, state: dict[str, Any]) -> None:
        """Fill resting limit orders that the market has traded through since they were placed."""
        now = self._clock()
        for order in state["orders"].values():
            if order["status"] != "open":
                continue
            column, kind = self._resolve(order["symbol"], "sync")
            since = datetime.fromisoformat(order["ts"])
            minute = floor_time(since, "1m")
            while minute + timedelta(minutes=1) <= now:
                bars = self._market.day(minute.date())
                series = bars.spot if kind == "spot" else bars.swap
                i = minute.hour * 60 + minute.minute
                low, high = float(series[2][i, column]), float(series[1][i, column])
                price = float(order["price"])
                if (order["side"] == "buy" and low < price) or (
                    order["side"] == "sell" and high > price
                ):
                    self._fill(state, order, price, "maker", minute + timedelta(minutes=1))
                    break
                minute += timedelta(minutes=1)

    def _fill(
        self, state: dict[str, Any], order: dict[str, Any], price: float, liq: str, ts: datetime
    ) -> None:
        symbol = order["symbol"]
        _, kind = self._listing[symbol]
        base = self._listing[symbol][0]
        amount = float(order["amount"]) - float(order["filled"])
        signed = amount if order["side"] == "buy" else -amount
        notional = amount * price
        fee = notional * (self._maker_fee if liq == "maker" else self._taker_fee)
        bal: dict[str, float] = state["balances"]
        if kind == "spot":
            bal[QUOTE] = bal.get(QUOTE, 0.0) - signed * price - fee
            bal[base] = bal.get(base, 0.0) + signed
        else:
            pos = state["positions"].setdefault(symbol, {"size": 0.0, "entry_price": 0.0})
            size, entry = float(pos["size"]), float(pos["entry_price"])
            new_size = size + signed
            if size == 0 or (size > 0) == (signed > 0):
                entry = (abs(size) * entry + abs(signed) * price) / abs(new_size)
            else:
                closed = min(abs(size), abs(signed))
                bal[QUOTE] = bal.get(QUOTE, 0.0) + closed * (price - entry) * np.sign(size)
                if abs(signed) > abs(size):
                    entry = price
                elif new_size == 0:
                    entry = 0.0
            bal[QUOTE] = bal.get(QUOTE, 0.0) - fee
            pos["size"], pos["entry_price"] = new_size, entry
            if abs(new_size) < 1e-12:
                del state["positions"][symbol]
        state["seq"] += 1
        order["filled"] = float(order["amount"])
        order["status"] = "closed"
        state["fills"].append(
            {
                "symbol": symbol,
                "fill_id": f"{self._name}-f{state['seq']}",
                "order_id": order["order_id"],
                "client_order_id": order["client_order_id"],
                "side": order["side"],
                "amount": amount,
                "price": price,
                "fee": fee,
                "fee_asset": QUOTE,
                "liquidity": liq,
                "ts": ts.isoformat(),
            }
        )

    def _order_record(self, raw: dict[str, Any]) -> Order:
        return Order(
            venue=self._name,
            symbol=raw["symbol"],
            client_order_id=raw["client_order_id"],
            order_id=raw["order_id"],
            side=raw["side"],
            type=raw["type"],
            amount=float(raw["amount"]),
            price=None if raw["price"] is None else float(raw["price"]),
            filled=float(raw["filled"]),
            status=raw["status"],
            ts=datetime.fromisoformat(raw["ts"]),
        )

    def create_order(self, request: OrderRequest) -> Order:
        state = self._load()
        existing = state["orders"].get(request.client_order_id)
        if existing is not None:
            return self._order_record(existing)  # idempotent: a retry never doubles an order
        column, kind = self._resolve(request.symbol, "create_order")
        spec = {i.symbol: i for i in self.instruments()}[request.symbol]
        now = self._clock()
        last, minute_usd = self._last_price(column, kind, now)
        self._validate(request, spec, last, state, kind)
        state["seq"] += 1
        raw: dict[str, Any] = {
            "symbol": request.symbol,
            "client_order_id": request.client_order_id,
            "order_id": f"{self._name}-o{state['seq']}",
            "side": request.side,
            "type": request.type,
            "amount": request.amount,
            "price": request.price,
            "filled": 0.0,
            "status": "open",
            "ts": now.isoformat(),
        }
        state["orders"][request.client_order_id] = raw
        direction = 1.0 if request.side == "buy" else -1.0
        # Square-root impact against one minute of the venue's traded value, plus half a spread.
        impact = 0.0002 + 0.1 * math.sqrt(request.amount * last / max(minute_usd, 1.0)) * 0.01
        taker_price = last * (1.0 + direction * impact)
        marketable = request.type == "market" or (
            request.price is not None and direction * (request.price - last) >= 0
        )
        if marketable:
            fill_price = taker_price
            if request.type == "limit" and request.price is not None:
                # A marketable limit never fills worse than its limit.
                worst = min if direction > 0 else max
                fill_price = worst(taker_price, request.price)
            self._fill(state, raw, fill_price, "taker", now)
        self._save(state)
        return self._order_record(raw)

    def _validate(
        self,
        request: OrderRequest,
        spec: Instrument,
        last: float,
        state: dict[str, Any],
        kind: str,
    ) -> None:
        def reject(why: str) -> HaltError:
            return HaltError(self._name, "create_order", f"{request.symbol}: {why}")

        if request.amount <= 0 or not math.isfinite(request.amount):
            raise reject(f"amount must be positive, got {request.amount}")
        if request.amount < spec.min_amount:
            raise reject(f"amount {request.amount} is below the minimum {spec.min_amount}")
        price = request.price if request.type == "limit" else last
        if request.type == "limit" and (request.price is None or request.price <= 0):
            raise reject("a limit order needs a positive price")
        assert price is not None
        if request.amount * price < spec.min_notional:
            raise reject(f"notional {request.amount * price:.2f} is below {spec.min_notional}")
        if kind == "spot":
            bal: dict[str, float] = state["balances"]
            if request.side == "buy":
                need = request.amount * price * (1 + 0.01 + self._taker_fee)
                if bal.get(QUOTE, 0.0) < need:
                    raise reject(f"insufficient {QUOTE}: need {need:.2f}, have {bal.get(QUOTE, 0)}")
            elif bal.get(spec.base, 0.0) < request.amount:
                raise reject(f"insufficient {spec.base}: have {bal.get(spec.base, 0.0)}")

    def cancel_order(self, symbol: str, client_order_id: str) -> Order:
        state = self._load()
        self._sync(state)
        raw = state["orders"].get(client_order_id)
        if raw is None or raw["symbol"] != symbol:
            raise HaltError(self._name, "cancel_order", f"no order {client_order_id} on {symbol}")
        if raw["status"] == "open":
            raw["status"] = "canceled"
        self._save(state)
        return self._order_record(raw)

    def fetch_balances(self) -> pl.DataFrame:
        state = self._load()
        self._sync(state)
        self._save(state)
        reserved: dict[str, float] = {}
        for o in state["orders"].values():
            if o["status"] == "open" and self._listing[o["symbol"]][1] == "spot":
                asset, amount = (
                    (QUOTE, o["amount"] * o["price"])
                    if o["side"] == "buy"
                    else (self._listing[o["symbol"]][0], o["amount"])
                )
                reserved[asset] = reserved.get(asset, 0.0) + amount
        rows = [
            {
                "venue": self._name,
                "asset": asset,
                "free": total - reserved.get(asset, 0.0),
                "used": reserved.get(asset, 0.0),
                "total": total,
            }
            for asset, total in sorted(state["balances"].items())
        ]
        return (
            pl.DataFrame(rows, schema=dict(frames.BALANCES))
            if rows
            else frames.empty(frames.BALANCES)
        )

    def fetch_positions(self) -> pl.DataFrame:
        state = self._load()
        self._sync(state)
        self._save(state)
        now = self._clock()
        rows = []
        for symbol, pos in sorted(state["positions"].items()):
            column, kind = self._resolve(symbol, "fetch_positions")
            mark, _ = self._last_price(column, kind, now)
            size, entry = float(pos["size"]), float(pos["entry_price"])
            rows.append(
                {
                    "venue": self._name,
                    "symbol": symbol,
                    "size": size,
                    "entry_price": entry,
                    "mark_price": mark,
                    "unrealized_pnl": size * (mark - entry),
                }
            )
        return (
            pl.DataFrame(rows, schema=dict(frames.POSITIONS))
            if rows
            else frames.empty(frames.POSITIONS)
        )

    def fetch_open_orders(self) -> pl.DataFrame:
        state = self._load()
        self._sync(state)
        self._save(state)
        rows = [
            {**asdict(self._order_record(o))}
            for o in state["orders"].values()
            if o["status"] == "open"
        ]
        if not rows:
            return frames.empty(frames.ORDERS)
        return frames.conform(pl.DataFrame(rows), frames.ORDERS)

    def fetch_fills(self, since: datetime | None = None) -> pl.DataFrame:
        state = self._load()
        self._sync(state)
        self._save(state)
        rows = [
            {**f, "venue": self._name, "ts": datetime.fromisoformat(f["ts"])}
            for f in state["fills"]
            if since is None or datetime.fromisoformat(f["ts"]) >= since
        ]
        if not rows:
            return frames.empty(frames.FILLS)
        return frames.conform(pl.DataFrame(rows), frames.FILLS)


def _days(start: datetime, end: datetime) -> list[date]:
    """UTC calendar days that intersect ``[start, end)``."""
    if end <= start:
        return []
    first, last = start.astimezone(UTC).date(), (end - timedelta(microseconds=1)).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
