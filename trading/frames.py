"""Column layouts shared by venues, the lake and research: one definition, used everywhere.

Every venue (simulated, replayed, or ccxt) returns frames with exactly these columns and
dtypes, so the lake, features and models never care where data came from.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

UTC_TS = pl.Datetime("us", "UTC")

CANDLES: Mapping[str, pl.DataType] = {
    "venue": pl.String(),
    "symbol": pl.String(),
    "timeframe": pl.String(),
    "ts": UTC_TS,  # bar open time
    "date": pl.Date(),  # UTC day of ts: the daily partition
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "volume": pl.Float64(),  # base units (contracts × contract size for swaps)
}
CANDLES_KEY = ("venue", "symbol", "ts")

FUNDING_RATES: Mapping[str, pl.DataType] = {
    "venue": pl.String(),
    "symbol": pl.String(),
    "ts": UTC_TS,  # funding settlement time
    "date": pl.Date(),
    "funding_rate": pl.Float64(),  # per funding interval, as a fraction
    "mark_price": pl.Float64(),
}
FUNDING_RATES_KEY = ("venue", "symbol", "ts")

INSTRUMENTS: Mapping[str, pl.DataType] = {
    "venue": pl.String(),
    "symbol": pl.String(),
    "base": pl.String(),
    "quote": pl.String(),
    "settle": pl.String(),
    "kind": pl.String(),  # spot | swap
    "contract_size": pl.Float64(),
    "price_step": pl.Float64(),
    "amount_step": pl.Float64(),
    "min_amount": pl.Float64(),
    "min_notional": pl.Float64(),
    "maker_fee": pl.Float64(),
    "taker_fee": pl.Float64(),
}
INSTRUMENTS_KEY = ("venue", "symbol")

BALANCES: Mapping[str, pl.DataType] = {
    "venue": pl.String(),
    "asset": pl.String(),
    "free": pl.Float64(),
    "used": pl.Float64(),
    "total": pl.Float64(),
    "debt": pl.Float64(),  # borrowed (margin loans); equity counts total - debt
}

POSITIONS: Mapping[str, pl.DataType] = {
    "venue": pl.String(),
    "symbol": pl.String(),
    "size": pl.Float64(),  # signed, in base units: long > 0, short < 0
    "entry_price": pl.Float64(),
    "mark_price": pl.Float64(),  # null when the venue did not say: never read as 0
    "unrealized_pnl": pl.Float64(),
}

ORDERS: Mapping[str, pl.DataType] = {
    "venue": pl.String(),
    "symbol": pl.String(),
    "client_order_id": pl.String(),
    "order_id": pl.String(),
    "side": pl.String(),
    "type": pl.String(),
    "amount": pl.Float64(),
    "price": pl.Float64(),
    "filled": pl.Float64(),
    "status": pl.String(),  # open | closed | canceled | rejected
    "ts": UTC_TS,
}

FILLS: Mapping[str, pl.DataType] = {
    "venue": pl.String(),
    "symbol": pl.String(),
    "fill_id": pl.String(),
    "order_id": pl.String(),
    "client_order_id": pl.String(),
    "side": pl.String(),
    "amount": pl.Float64(),
    "price": pl.Float64(),
    "fee": pl.Float64(),
    "fee_asset": pl.String(),
    "liquidity": pl.String(),  # maker | taker
    "ts": UTC_TS,
}


def empty(layout: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """An empty frame with the layout's columns, for venues that have nothing to report."""
    return pl.DataFrame(schema=dict(layout))


def conform(df: pl.DataFrame, layout: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """Select and cast to the layout, failing loudly on a missing column rather than guessing."""
    missing = [c for c in layout if c not in df.columns]
    if missing:
        raise ValueError(f"frame lacks columns {missing}; expected {list(layout)}")
    schema = df.schema
    if all(schema[c] == t for c, t in layout.items()):  # nothing to cast (the common case)
        return df if list(schema) == list(layout) else df.select(list(layout))
    return df.select([pl.col(c).cast(t, strict=True) for c, t in layout.items()])
