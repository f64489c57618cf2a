"""Write-time rules of the account tables, as strict as the market tables': keys and required
columns not null, quantities finite (and positive where they must be), sides, statuses and
liquidity from a closed set, timestamps not in the future."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from lake.schemas import Rule
from trading.timeframes import utc_now
from trading.venues.base import ORDER_STATUSES, SIDES


def _not_null(columns: Sequence[str]) -> Rule:
    return Rule(
        f"{', '.join(columns)} not null",
        pl.all_horizontal(pl.col(c).is_not_null() for c in columns),
    )


def _finite(*columns: str) -> list[Rule]:
    return [Rule(f"{c} is finite", pl.col(c).is_finite()) for c in columns]


def _positive(*columns: str) -> list[Rule]:
    return [Rule(f"{c} > 0 and finite", (pl.col(c) > 0) & pl.col(c).is_finite()) for c in columns]


def _null_or_positive(column: str) -> Rule:
    return Rule(
        f"{column} > 0 when known",
        pl.col(column).is_null() | ((pl.col(column) > 0) & pl.col(column).is_finite()),
    )


def _not_in_future(column: str = "ts") -> Rule:
    return Rule(f"{column} is not in the future", pl.col(column) <= pl.lit(utc_now()))


def _side() -> Rule:
    return Rule("side is buy or sell", pl.col("side").is_in(list(SIDES)))


def balances_rules() -> list[Rule]:
    """Balances: every amount finite, debt never negative."""
    return [
        _not_null(("venue", "asset", "free", "used", "total", "debt", "synced_at")),
        *_finite("free", "used", "total", "debt"),
        Rule("debt >= 0", pl.col("debt") >= 0),
        _not_in_future("synced_at"),
    ]


def positions_rules() -> list[Rule]:
    """Positions: a non-zero finite size in base units, a positive entry price."""
    return [
        _not_null(("venue", "symbol", "size", "entry_price", "unrealized_pnl", "synced_at")),
        Rule("size is finite and not 0", pl.col("size").is_finite() & (pl.col("size") != 0)),
        *_positive("entry_price"),
        _null_or_positive("mark_price"),
        *_finite("unrealized_pnl"),
        _not_in_future("synced_at"),
    ]


def orders_rules() -> list[Rule]:
    """Orders: known side, type and status; positive amount; filled within [0, amount]."""
    return [
        _not_null(("venue", "symbol", "order_id", "side", "type", "amount", "filled", "status")),
        _side(),
        Rule("type is market or limit", pl.col("type").is_in(["market", "limit"])),
        Rule(f"status is one of {ORDER_STATUSES}", pl.col("status").is_in(list(ORDER_STATUSES))),
        *_positive("amount"),
        Rule(
            "0 <= filled <= amount",
            pl.col("filled").is_finite()
            & (pl.col("filled") >= 0)
            & (pl.col("filled") <= pl.col("amount") * (1 + 1e-9)),
        ),
        _null_or_positive("price"),
        _not_in_future(),
    ]


def fills_rules() -> list[Rule]:
    """Fills: known side, positive amount and price, finite fee, maker or taker."""
    return [
        _not_null(("venue", "symbol", "fill_id", "side", "amount", "price", "ts")),
        _side(),
        *_positive("amount", "price"),
        Rule("fee is finite or null", pl.col("fee").is_null() | pl.col("fee").is_finite()),
        Rule(
            "liquidity is maker, taker or null",
            pl.col("liquidity").is_null() | pl.col("liquidity").is_in(["maker", "taker"]),
        ),
        _not_in_future(),
    ]


def equity_rules() -> list[Rule]:
    """Equity snapshots: finite values in the account currency."""
    return [
        _not_null(("venue", "ts", "equity")),
        *_finite("equity", "gross_exposure", "net_exposure", "debt"),
        _not_in_future(),
    ]
