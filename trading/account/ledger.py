"""The consolidated view, the point of control: equity per venue and in total, free, used and
debt, net and gross exposure per venue and per asset, open orders, today's fills and fees,
each venue's use of its caps and the transfers that fix a breach, every stale or missing price.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from trading.account.caps import CapUse, Transfer, VenueCaps, cap_uses, transfers
from trading.account.valuation import value_balances, value_positions


@dataclass(frozen=True, slots=True)
class LedgerView:
    """Every table the trader reads, as frames (see ``build_view``)."""

    currency: str
    now: datetime
    venues: pl.DataFrame  # one row per venue
    assets: pl.DataFrame  # one row per asset: net units and value over every venue
    balances: pl.DataFrame  # valued balances
    positions: pl.DataFrame  # valued positions
    open_orders: pl.DataFrame
    fills_today: pl.DataFrame
    caps: tuple[CapUse, ...]
    transfers: tuple[Transfer, ...]
    unplaceable: float  # excess equity no venue has room for
    problems: tuple[str, ...]  # stale or missing prices, venues never synced

    @property
    def total_equity(self) -> float:
        """Equity over every venue, in the account currency."""
        return float(self.venues["equity"].sum()) if self.venues.height else 0.0

    @property
    def over_cap(self) -> tuple[CapUse, ...]:
        """Venues over any cap."""
        return tuple(u for u in self.caps if u.over)


def build_view(
    balances: pl.DataFrame,
    positions: pl.DataFrame,
    open_orders: pl.DataFrame,
    fills: pl.DataFrame,
    marks: pl.DataFrame,
    caps: Mapping[str, VenueCaps | None],
    *,
    currency: str,
    now: datetime,
    stale_after: timedelta,
    paper_venues: frozenset[str] = frozenset(),
) -> LedgerView:
    """The consolidated view of the account tables. ``marks`` holds the newest price per
    (venue, symbol) with its timestamp (``valuation.marks_from_candles``). Paper venues hold
    no real money: they are left out of cap shares and transfers."""
    valued = value_balances(balances, marks, currency, now, stale_after)
    held = value_positions(positions, marks, now, stale_after)
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    today = fills.filter(pl.col("ts") >= day_start)
    spot = valued.filter(pl.col("asset") != currency)
    per_venue = _per_venue(valued, spot, held, open_orders, today, list(caps))
    synced = per_venue.filter(  # a transfer needs a synced venue holding real money
        pl.col("synced_at").is_not_null() & ~pl.col("venue").is_in(list(paper_venues))
    )
    uses = cap_uses(
        dict(zip(synced["venue"], synced["equity"], strict=True)),
        dict(zip(synced["venue"], synced["gross_exposure"], strict=True)),
        caps,
    )
    moves, unplaceable = transfers(uses, currency)
    return LedgerView(
        currency=currency,
        now=now,
        venues=per_venue,
        assets=_per_asset(spot, held),
        balances=valued,
        positions=held,
        open_orders=open_orders,
        fills_today=today,
        caps=tuple(uses),
        transfers=tuple(moves),
        unplaceable=unplaceable,
        problems=_problems(valued, held, per_venue),
    )


def _sum_by_venue(df: pl.DataFrame, **aggs: pl.Expr) -> pl.DataFrame:
    return df.group_by("venue").agg(**aggs)


def _per_venue(
    valued: pl.DataFrame,
    spot: pl.DataFrame,
    held: pl.DataFrame,
    orders: pl.DataFrame,
    fills: pl.DataFrame,
    configured: list[str],
) -> pl.DataFrame:
    cash = _sum_by_venue(
        valued,
        balance_value=pl.col("value").sum(),
        free=(pl.col("free") * pl.col("price")).sum(),
        used=(pl.col("used") * pl.col("price")).sum(),
        debt=pl.col("debt_value").sum(),
        unpriced=pl.col("price").is_null().sum(),
        stale=(pl.col("problem") == "stale price").sum(),
        synced_at=pl.col("synced_at").max(),
    )
    spot_exp = _sum_by_venue(
        spot, spot_net=pl.col("value").sum(), spot_gross=pl.col("value").abs().sum()
    )
    perp = _sum_by_venue(
        held,
        pnl=pl.col("pnl").sum(),
        perp_net=pl.col("notional").sum(),
        perp_gross=pl.col("notional").abs().sum(),
        positions=pl.len(),
        unpriced_positions=pl.col("mark").is_null().sum(),
        stale_positions=(pl.col("problem") == "stale price").sum(),
        position_synced=pl.col("synced_at").max(),
    )
    order_count = _sum_by_venue(orders, open_orders=pl.len())
    fill_stats = _sum_by_venue(
        fills, fills_today=pl.len(), fees_today=pl.col("fee").fill_null(0.0).sum()
    )
    names = set(configured) | set(valued["venue"].to_list()) | set(held["venue"].to_list())
    base = pl.DataFrame({"venue": sorted(names)}, schema={"venue": pl.String()})
    out = base
    for part in (cash, spot_exp, perp, order_count, fill_stats):
        out = out.join(part, on="venue", how="left")
    zero = [
        "balance_value", "free", "used", "debt", "spot_net", "spot_gross", "pnl", "perp_net",
        "perp_gross", "positions", "open_orders", "fills_today", "fees_today", "unpriced",
        "stale", "unpriced_positions", "stale_positions",
    ]  # fmt: skip
    out = out.with_columns(pl.col(c).fill_null(0) for c in zero)
    return out.select(
        "venue",
        (pl.col("balance_value") + pl.col("pnl")).alias("equity"),
        "free",
        "used",
        "debt",
        (pl.col("spot_net") + pl.col("perp_net")).alias("net_exposure"),
        (pl.col("spot_gross") + pl.col("perp_gross")).alias("gross_exposure"),
        pl.col("positions").cast(pl.Int64),
        pl.col("open_orders").cast(pl.Int64),
        pl.col("fills_today").cast(pl.Int64),
        "fees_today",
        (pl.col("unpriced") + pl.col("unpriced_positions")).cast(pl.Int64).alias("unpriced"),
        (pl.col("stale") + pl.col("stale_positions")).cast(pl.Int64).alias("stale"),
        pl.max_horizontal("synced_at", "position_synced").alias("synced_at"),
    )


def _per_asset(spot: pl.DataFrame, held: pl.DataFrame) -> pl.DataFrame:
    holdings = spot.select(
        "asset",
        (pl.col("total") - pl.col("debt")).alias("units"),
        "value",
    )
    perps = held.select(
        pl.col("symbol").str.split("/").list.first().alias("asset"),
        pl.col("size").alias("units"),
        pl.col("notional").alias("value"),
    )
    both = pl.concat([holdings, perps])
    return (
        both.group_by("asset")
        .agg(
            pl.col("units").sum(),
            pl.col("value").sum().alias("net_value"),
            pl.col("value").abs().sum().alias("gross_value"),
        )
        .sort("gross_value", descending=True, nulls_last=True)
    )


def _problems(valued: pl.DataFrame, held: pl.DataFrame, venues: pl.DataFrame) -> tuple[str, ...]:
    out = []
    for r in valued.filter(pl.col("problem").is_not_null()).iter_rows(named=True):
        when = f" (price of {r['price_ts']:%Y-%m-%d %H:%M})" if r["price_ts"] else ""
        out.append(f"{r['venue']} {r['asset']}: {r['problem']}{when}")
    for r in held.filter(pl.col("problem").is_not_null()).iter_rows(named=True):
        when = f" (mark of {r['mark_ts']:%Y-%m-%d %H:%M})" if r["mark_ts"] else ""
        out.append(f"{r['venue']} {r['symbol']}: {r['problem']}{when}")
    for r in venues.filter(pl.col("synced_at").is_null()).iter_rows(named=True):
        out.append(f"{r['venue']}: never synced")
    return tuple(out)
