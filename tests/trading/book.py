"""Builders of small execution inputs: markets, venue states and snapshots at a fixed time."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from trading.execution.types import Mark, MarketStat, PlannedOrder, Snapshot, VenueState
from trading.venues.base import Instrument, InstrumentKind, Side

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
BAR = T0 - timedelta(hours=1)


def market(
    venue: str,
    symbol: str = "BTC/USDT:USDT",
    *,
    step: float = 0.001,
    min_amount: float = 0.001,
    min_notional: float = 5.0,
    maker: float = 0.0002,
    taker: float = 0.0005,
    kind: InstrumentKind = "swap",
    price_step: float = 0.1,
) -> Instrument:
    """One venue's market of an instrument."""
    base, rest = symbol.split("/")
    quote = rest.split(":")[0]
    return Instrument(
        venue=venue,
        symbol=symbol,
        base=base,
        quote=quote,
        settle=quote,
        kind=kind,
        contract_size=1.0,
        price_step=price_step,
        amount_step=step,
        min_amount=min_amount,
        min_notional=min_notional,
        maker_fee=maker,
        taker_fee=taker,
    )


def venue(
    name: str,
    *,
    equity: float = 100_000.0,
    gross: float = 0.0,
    pending: float = 0.0,
    cap: float | None = None,
    equity_cap: float | None = None,
    healthy: bool = True,
) -> VenueState:
    """A venue's account state."""
    return VenueState(name, equity, gross, pending, cap, equity_cap, healthy)


def snapshot(
    venues: Mapping[str, VenueState],
    marks: Mapping[tuple[str, str], float],
    positions: Mapping[tuple[str, str], float] | None = None,
    *,
    mark_age: timedelta = timedelta(seconds=5),
    data_age_bars: int = 0,
    daily_pnl: float = 0.0,
    sent: Mapping[str, int] | None = None,
    spent: float = 0.0,
) -> Snapshot:
    """A snapshot at ``T0`` whose marks are ``mark_age`` old."""
    return Snapshot(
        ts=T0,
        bar_ts=BAR,
        positions=dict(positions or {}),
        venues=dict(venues),
        marks={k: Mark(p, T0 - mark_age) for k, p in marks.items()},
        data_age_bars=data_age_bars,
        daily_pnl_usd=daily_pnl,
        orders_last_minute=dict(sent or {}),
        rewards_spent_today_usd=spent,
    )


def stat(adv: float = 1e9, vol: float = 0.03, bar: float = 4e7) -> MarketStat:
    """Liquidity of one market."""
    return MarketStat(adv_usd=adv, daily_vol=vol, bar_volume_usd=bar)


def order(
    venue: str = "a",
    side: Side = "buy",
    amount: float = 1.0,
    price: float = 100.0,
    *,
    symbol: str = "BTC/USDT:USDT",
    kind: InstrumentKind = "swap",
    later: timedelta = timedelta(0),
    cid: str = "c1",
) -> PlannedOrder:
    """A child order at ``T0``."""
    return PlannedOrder(
        client_order_id=cid,
        bar_ts=BAR,
        instrument=symbol,
        venue=venue,
        side=side,
        amount=amount,
        price=price,
        style="taker",
        pinned=False,
        slice=0,
        not_before=T0 + later,
        kind=kind,
    )
