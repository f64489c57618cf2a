"""One price source: every balance and position valued in the account currency from the
freshest mark available, each value carrying its price's timestamp. A price older than the
stale limit is flagged; a missing price leaves the value unknown (null) and flagged, never
valued at 1.0 or 0. Only the account currency itself is worth exactly 1.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

MARKS_SCHEMA = {
    "venue": pl.String(),
    "symbol": pl.String(),
    "price": pl.Float64(),
    "price_ts": pl.Datetime("us", "UTC"),
}


def marks_from_candles(candles: pl.DataFrame) -> pl.DataFrame:
    """The newest close per (venue, symbol) of candle rows, with the bar's close time."""
    if candles.is_empty():
        return pl.DataFrame(schema=MARKS_SCHEMA)
    return (
        candles.sort("ts")
        .group_by("venue", "symbol")
        .agg(pl.col("close").last().alias("price"), pl.col("ts").last().alias("price_ts"))
        .select(list(MARKS_SCHEMA))
        .cast(MARKS_SCHEMA)  # type: ignore[arg-type]
    )


def _asset_marks(marks: pl.DataFrame, currency: str) -> pl.DataFrame:
    """Marks of each asset in the currency, from ``ASSET/CUR`` spot or ``ASSET/CUR:CUR`` swap
    symbols: per (venue, asset) and, as a fallback, the freshest over every venue."""
    parsed = marks.with_columns(
        asset=pl.col("symbol").str.split("/").list.first(),
        quote=pl.col("symbol").str.split("/").list.get(1).str.split(":").list.first(),
    ).filter(pl.col("quote") == currency)
    return parsed.sort("price_ts").select("venue", "asset", "price", "price_ts")


def value_balances(
    balances: pl.DataFrame,
    marks: pl.DataFrame,
    currency: str,
    now: datetime,
    stale_after: timedelta,
) -> pl.DataFrame:
    """Balances with ``price``, ``price_ts``, ``value`` (total - debt, in the currency),
    ``debt_value`` and ``problem`` (null, 'stale price' or 'no price')."""
    asset_marks = _asset_marks(marks, currency)
    own = asset_marks.group_by("venue", "asset").agg(pl.all().last())
    anywhere = asset_marks.group_by("asset").agg(
        pl.col("price").last().alias("any_price"), pl.col("price_ts").last().alias("any_ts")
    )
    now_lit = pl.lit(now).cast(pl.Datetime("us", "UTC"))
    out = (
        balances.join(own, on=["venue", "asset"], how="left")
        .join(anywhere, on="asset", how="left")
        .with_columns(
            price=pl.when(pl.col("asset") == currency)
            .then(1.0)
            .otherwise(pl.coalesce("price", "any_price")),
            price_ts=pl.when(pl.col("asset") == currency)
            .then(now_lit)
            .otherwise(pl.coalesce("price_ts", "any_ts")),
        )
        .drop("any_price", "any_ts")
    )
    return out.with_columns(
        value=(pl.col("total") - pl.col("debt")) * pl.col("price"),
        debt_value=pl.col("debt") * pl.col("price"),
        problem=_problem(now_lit, stale_after),
    )


def value_positions(
    positions: pl.DataFrame, marks: pl.DataFrame, now: datetime, stale_after: timedelta
) -> pl.DataFrame:
    """Positions marked at the fresher of the venue's own mark (as of the sync) and the
    lake's newest close of the symbol: ``mark``, ``mark_ts``, ``notional`` (signed),
    ``pnl`` and ``problem``."""
    own = marks.group_by("venue", "symbol").agg(pl.all().sort_by("price_ts").last())
    now_lit = pl.lit(now).cast(pl.Datetime("us", "UTC"))
    venue_is_fresher = pl.col("mark_price").is_not_null() & (
        pl.col("price_ts").is_null() | (pl.col("synced_at") >= pl.col("price_ts"))
    )
    out = positions.join(own, on=["venue", "symbol"], how="left").with_columns(
        price=pl.when(venue_is_fresher).then(pl.col("mark_price")).otherwise(pl.col("price")),
        price_ts=pl.when(venue_is_fresher).then(pl.col("synced_at")).otherwise(pl.col("price_ts")),
    )
    return out.with_columns(
        mark=pl.col("price"),
        mark_ts=pl.col("price_ts"),
        notional=pl.col("size") * pl.col("price"),
        pnl=pl.col("size") * (pl.col("price") - pl.col("entry_price")),
        problem=_problem(now_lit, stale_after),
    ).drop("price", "price_ts")


def _problem(now: pl.Expr, stale_after: timedelta) -> pl.Expr:
    return (
        pl.when(pl.col("price").is_null())
        .then(pl.lit("no price"))
        .when(now - pl.col("price_ts") > pl.lit(stale_after))
        .then(pl.lit("stale price"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
