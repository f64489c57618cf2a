"""ccxt's unified account payloads as Keel records and frames, trusting nothing.

Amounts come back from ccxt in contracts for derivatives; Keel works in base units, so every
amount is multiplied by the market's contract size here. A field Keel cannot read (missing,
not a number, NaN, negative where it cannot be, an unknown status or side) raises a
``PayloadError`` naming venue, call and field: bad data never passes on as zero, "open" or "buy".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import polars as pl

from trading import frames
from trading.venues.base import Order, OrderRequest, PayloadError

# ccxt's unified order statuses; anything else is an error, never "open".
ORDER_STATUS = {
    "open": "open",
    "closed": "closed",
    "canceled": "canceled",
    "cancelled": "canceled",
    "expired": "canceled",
    "rejected": "rejected",
}


class Reader:
    """Reads fields of one venue call's payload, raising ``PayloadError`` on anything odd."""

    def __init__(self, venue: str, call: str) -> None:
        self.venue = venue
        self.call = call

    def fail(self, field: str, message: str) -> PayloadError:
        """The error for a field that cannot be trusted."""
        return PayloadError(self.venue, self.call, field, message)

    def number(
        self,
        item: Mapping[str, Any],
        field: str,
        *,
        required: bool = True,
        min_value: float | None = None,
        positive: bool = False,
    ) -> float | None:
        """A finite float, or None when absent and not required."""
        value = item.get(field)
        if value is None or value == "":
            if required:
                raise self.fail(field, "missing")
            return None
        try:
            out = float(value)
        except (TypeError, ValueError):
            raise self.fail(field, f"not a number: {str(value)[:40]!r}") from None
        if not math.isfinite(out):
            raise self.fail(field, f"not finite: {out}")
        if positive and out <= 0:
            raise self.fail(field, f"must be positive, got {out}")
        if min_value is not None and out < min_value:
            raise self.fail(field, f"must be >= {min_value}, got {out}")
        return out

    def required(self, item: Mapping[str, Any], field: str) -> float:
        """A finite float that must be present."""
        out = self.number(item, field)
        assert out is not None
        return out

    def side(self, item: Mapping[str, Any], field: str = "side") -> str:
        """buy or sell; a missing or other side is an error, never read as buy."""
        value = item.get(field)
        if value not in ("buy", "sell"):
            raise self.fail(field, f"side must be buy or sell, got {value!r}")
        return str(value)

    def text(self, item: Mapping[str, Any], field: str) -> str:
        """A non-empty id or label."""
        value = item.get(field)
        if value is None or str(value) in ("", "None"):
            raise self.fail(field, "missing")
        return str(value)

    def status(self, item: Mapping[str, Any]) -> str:
        """The unified order status; an unknown one is an error, never read as open."""
        value = item.get("status")
        if value not in ORDER_STATUS:
            raise self.fail("status", f"unknown order status {value!r}")
        return ORDER_STATUS[str(value)]


def client_id(item: Mapping[str, Any]) -> str | None:
    """The client order id ccxt parsed, or the exchange's own field for it."""
    value = item.get("clientOrderId")
    if value is None:
        info = item.get("info") or {}
        value = info.get("clientOrderId") or info.get("clOrdId") or info.get("orderLinkId")
    return None if value in (None, "") else str(value)


def _ts(ms: Any) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)


def balances_frame(balance: Mapping[str, Any], venue: str) -> pl.DataFrame:
    """ccxt's balance structure as ``BALANCES`` rows: free, used, total and debt (borrowed)."""
    read = Reader(venue, "fetch_balance")
    totals = balance.get("total") or {}
    debts = balance.get("debt") or {}
    rows = []
    for asset in sorted(set(totals) | set(debts)):
        entry = balance.get(asset) or {}
        total = read.number(totals, asset, required=False) or 0.0
        debt = read.number(debts, asset, required=False, min_value=0.0) or 0.0
        if total == 0.0 and debt == 0.0:
            continue
        rows.append(
            {
                "venue": venue,
                "asset": asset,
                "free": read.number(balance.get("free") or {}, asset, required=False) or 0.0,
                "used": read.number(balance.get("used") or {}, asset, required=False) or 0.0,
                "total": total,
                "debt": debt if debt else (read.number(entry, "debt", required=False) or 0.0),
            }
        )
    return (
        pl.DataFrame(rows, schema=dict(frames.BALANCES)) if rows else frames.empty(frames.BALANCES)
    )


def positions_frame(
    positions: Sequence[Mapping[str, Any]], venue: str, contract_sizes: Mapping[str, float]
) -> pl.DataFrame:
    """ccxt positions as ``POSITIONS`` rows in base units, signed by side (hedge-mode shorts
    are short); a missing mark price stays null, never 0."""
    read = Reader(venue, "fetch_positions")
    rows = []
    for p in positions:
        contracts = read.number(p, "contracts", required=False) or 0.0
        if contracts == 0:
            continue
        symbol = read.text(p, "symbol")
        side = p.get("side")
        if side not in ("long", "short"):
            raise read.fail("side", f"position side must be long or short, got {side!r}")
        size_cs = read.number(p, "contractSize", required=False, positive=True)
        size = abs(contracts) * (size_cs or contract_sizes.get(symbol, 1.0))
        rows.append(
            {
                "venue": venue,
                "symbol": symbol,
                "size": -size if side == "short" else size,
                "entry_price": read.number(p, "entryPrice", positive=True),
                "mark_price": read.number(p, "markPrice", required=False, positive=True),
                "unrealized_pnl": read.number(p, "unrealizedPnl", required=False) or 0.0,
            }
        )
    return (
        pl.DataFrame(rows, schema=dict(frames.POSITIONS))
        if rows
        else frames.empty(frames.POSITIONS)
    )


def order_record(
    o: Mapping[str, Any],
    venue: str,
    call: str,
    contract_size: float,
    now: datetime,
    request: OrderRequest | None = None,
) -> Order:
    """ccxt's order as an ``Order`` in base units. Some exchanges acknowledge a new order with
    ids only (bybit, okx): what the exchange left out comes from the request that was sent;
    without a request every field must be there."""
    read = Reader(venue, call)
    ack = request is not None and o.get("status") is None
    amount = read.number(o, "amount", required=not ack, min_value=0.0)
    price = read.number(o, "price", required=False, min_value=0.0)
    if price is None and request is not None:
        price = request.price
    return Order(
        venue=venue,
        symbol=str(o.get("symbol") or (request.symbol if request else read.text(o, "symbol"))),
        client_order_id=client_id(o) or (request.client_order_id if request else ""),
        order_id=read.text(o, "id"),
        side=request.side if ack and request else read.side(o),  # type: ignore[arg-type]
        type=str(o.get("type") or (request.type if request else read.text(o, "type"))),  # type: ignore[arg-type]
        amount=request.amount if amount is None and request else (amount or 0.0) * contract_size,
        price=None if price is None else float(price),
        filled=(read.number(o, "filled", required=False, min_value=0.0) or 0.0) * contract_size,
        status="open" if ack else read.status(o),  # type: ignore[arg-type]
        ts=_ts(o["timestamp"]) if o.get("timestamp") else now,
    )


def trades_frame(
    trades: Sequence[Mapping[str, Any]], venue: str, contract_sizes: Mapping[str, float]
) -> pl.DataFrame:
    """ccxt's own trades as ``FILLS`` rows in base units. NaN, zero or negative amounts, a
    missing price, side or id raise; a fill id seen twice is kept once when both reports agree
    and raises when they differ."""
    read = Reader(venue, "fetch_my_trades")
    rows: dict[str, dict[str, Any]] = {}
    for t in trades:
        symbol = read.text(t, "symbol")
        fee = t.get("fee") or {}
        fill_id = read.text(t, "id")
        amount = read.required(t, "amount") * contract_sizes.get(symbol, 1.0)
        if not amount > 0:
            raise read.fail("amount", f"fill {fill_id} amount must be positive, got {amount}")
        row: dict[str, Any] = {
            "venue": venue,
            "symbol": symbol,
            "fill_id": fill_id,
            "order_id": None if t.get("order") in (None, "") else str(t["order"]),
            "client_order_id": client_id(t),
            "side": read.side(t),
            "amount": amount,
            "price": read.number(t, "price", positive=True),
            "fee": read.number(fee, "cost", required=False),
            "fee_asset": fee.get("currency"),
            "liquidity": t.get("takerOrMaker"),
            "ts": _ts(read.required(t, "timestamp")),
        }
        if not row["amount"] > 0:
            raise read.fail(
                "amount", f"fill {row['fill_id']} amount must be positive, got {row['amount']}"
            )
        seen = rows.get(fill_id)
        if seen is not None and seen != row:
            raise read.fail("id", f"fill {fill_id} reported twice with different contents")
        rows[fill_id] = row
    if not rows:
        return frames.empty(frames.FILLS)
    return frames.conform(
        pl.DataFrame(list(rows.values()), schema=dict(frames.FILLS)), frames.FILLS
    )


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
