"""Net → route → risk for one bar, through the portfolio, execution and risk packages.

The run hands over each account's decisions (research weights per canonical instrument, or
per venue for pinned legs) and gets back the orders to send, the denials and the net targets
with attribution. The router decides venues: a strategy's venue-neutral weight on an
instrument is netted with the other strategies' and split across the venues that list it
(fees, impact, rewards, caps); a pinned leg nets with the other legs on its venue and trades
only there. A null weight is no signal: the strategy keeps its previous holding, in base units
valued at this bar's price (as in the backtest); a deployed strategy with no row for something
it holds keeps it too. A pinned leg starts from what its own orders filled on its venue. Every
order passes the risk gate.
Trading states come from the journal (``keel halt`` and the runs) on top of ``[risk].states``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from trading.execution.config import RoutingConfig
from trading.execution.inputs import CapsLike, venue_state
from trading.execution.orders import PINNED_PREFIX
from trading.execution.plan import plan_orders as route_orders
from trading.execution.types import Mark, MarketStat, Snapshot
from trading.live.engine import OrderIntent
from trading.live.states import TradingStates
from trading.risk.config import RiskConfig, StateRule
from trading.venues.base import Instrument, VenueError

Key = tuple[str, str, str]  # account, venue, symbol
TARGETS = {
    "strategy": pl.String(),
    "instrument": pl.String(),
    "venue": pl.String(),
    "weight": pl.Float64(),
}


@dataclass(frozen=True, slots=True)
class Contribution:
    """One strategy's decision on one instrument for one account: venue None for a
    venue-neutral target, else a leg pinned to that venue; weight None is no signal."""

    strategy: str
    account: str
    venue: str | None
    symbol: str
    weight: float | None
    capital: float
    price: float


@dataclass(slots=True)
class Plan:
    """Net targets (with attribution), the orders to send, and what was denied or dropped."""

    net_targets: list[dict[str, Any]] = field(default_factory=list)
    orders: list[OrderIntent] = field(default_factory=list)
    denials: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Books:
    """What the run knows of each account before trading (from reconciliation)."""

    positions: Mapping[Key, float]
    equity_usd: Mapping[tuple[str, str], float]  # (account, venue)
    refused: frozenset[tuple[str, str]]  # (account, venue) failing reconciliation
    trading_enabled: Mapping[str, bool]  # venue -> live orders allowed
    known_orders: frozenset[tuple[str, str]]  # (account, client order id) in the journal
    pinned: Mapping[Key, float] = field(default_factory=dict)  # what pinned legs' fills hold


def previous_holdings(net_targets: pl.DataFrame) -> pl.DataFrame:
    """Each strategy's last journalled holding per account and instrument (venue null) or
    pinned leg (its venue), in base units (``quantity``): what it keeps without a signal.
    Units, not USD: a held position drifts with the price, it is not traded back."""
    return (
        net_targets.sort("bar", "at")
        .unique(["strategy", "account", "symbol", "venue"], keep="last")
        .select(
            "strategy",
            "account",
            pl.col("symbol").alias("instrument"),
            pl.when(pl.col("venue") != "*").then(pl.col("venue")).alias("venue"),
            pl.col("contribution").alias("quantity"),
        )
        .sort("strategy", "account", "instrument", "venue", nulls_last=False)
    )


def pinned_holdings(fills: pl.DataFrame) -> dict[Key, float]:
    """Per (account, venue, symbol), the signed base units the fills of pinned legs' orders
    (told by their client ids) hold: where a pinned leg stands, whatever its target was."""
    out: dict[Key, float] = {}
    mine = fills.filter(
        pl.col("origin") != "before_keel",
        pl.col("client_order_id").str.starts_with(PINNED_PREFIX).fill_null(False),
    )
    for account, venue, symbol, side, amount in mine.select(
        "account", "venue", "symbol", "side", "amount"
    ).iter_rows():
        key = (account, venue, symbol)
        out[key] = out.get(key, 0.0) + (amount if side == "buy" else -amount)
    return out


def state_rules(risk: RiskConfig, states: TradingStates) -> RiskConfig:
    """``[risk].states`` with the journal's current states on top (the journal wins)."""
    rules: dict[tuple[str, str], StateRule] = {(r.scope, r.name): r for r in risk.states}
    for (scope, target), c in states.current.items():
        name = "" if scope == "all" else target
        rules[(scope, name)] = StateRule(scope=c.scope, name=name, state=c.state)
    return risk.model_copy(update={"states": tuple(rules.values())})


def reference_marks(
    accounts: Iterable[Any],
    symbols: set[str],
    closes: Mapping[tuple[str, str], float],
    closed: datetime,
    now: datetime,
    max_age_seconds: float,
) -> dict[tuple[str, str], Mark]:
    """Reference prices for the router and the gate: the bar's closes while they are fresh (a
    replay, or a run right after the close); otherwise each account venue's last closed minute
    of the ``symbols`` decided on, so a run that starts minutes after the bar (features land
    late) still trades at a fresh price. A venue that cannot quote keeps the close, and the
    gate refuses what it would price stale."""
    marks = {k: Mark(p, closed) for k, p in closes.items()}
    if (now - closed).total_seconds() <= max_age_seconds / 2:
        return marks
    for account in accounts:
        for i in account.instruments:
            if i.symbol not in symbols:
                continue
            try:
                bars = account.venue.fetch_candles(i.symbol, "1m", now - timedelta(minutes=5), now)
            except VenueError:
                continue
            if bars.height:
                last = bars.row(-1, named=True)
                marks[(account.venue.name, i.symbol)] = Mark(
                    float(last["close"]), last["ts"] + timedelta(minutes=1)
                )
    return marks


def plan_account(
    account: str,
    contributions: list[Contribution],
    books: Books,
    previous: pl.DataFrame,
    instruments: Mapping[tuple[str, str], Instrument],
    market: Mapping[tuple[str, str], MarketStat],
    marks: Mapping[tuple[str, str], Mark],
    risk: RiskConfig,
    routing: RoutingConfig,
    now: datetime,
    bar: datetime,
    caps: Mapping[str, CapsLike | None] | None = None,
    deployed: Mapping[str, float] | None = None,
) -> Plan:
    """One account's orders for the bar; ``previous`` is the last holdings (strategy,
    instrument, venue or null, ``quantity`` in base units — ``previous_holdings`` — or
    ``notional_usd``; rows of other accounts are ignored), kept by strategies without a signal,
    without a row, or HALTED. ``deployed``: capital of every strategy deployed on this account
    (those hold what they have when they give no row; empty when the run made no decision, so
    nothing trades); the contributing strategies are always in. Prices
    are the reference ``marks`` of every venue and instrument (price and when it was observed).
    ``caps`` (each venue config's ``caps``) bound the live account's venues; paper accounts
    hold no real money and have none."""
    plan = Plan()
    mine = [c for c in contributions if c.account == account]
    if "account" in previous.columns and previous.height:
        previous = previous.filter(account=account).drop("account")
    capital = {**(deployed or {}), **{c.strategy: c.capital for c in mine}}
    if not mine and (
        previous.is_empty() or previous.filter(pl.col("strategy").is_in(list(capital))).is_empty()
    ):
        return plan  # nothing decided, nothing held: nothing to trade
    prices = {k: m.price for k, m in marks.items() if k in instruments}
    weight = pl.col("weight")
    targets = (
        pl.DataFrame(
            [
                {
                    "strategy": c.strategy,
                    "instrument": c.symbol,
                    "venue": c.venue,
                    "weight": c.weight,
                }
                for c in mine
            ],
            schema=TARGETS,
        )
        .group_by("strategy", "instrument", "venue")
        .agg(pl.when(weight.count() > 0).then(weight.sum().clip(-1.0, 1.0)))  # null stays null
        .sort("strategy", "instrument", "venue", nulls_last=False)
    )
    venues = sorted({v for (v, _) in instruments})
    positions = {(v, s): q for (a, v, s), q in books.positions.items() if a == account}
    gross: dict[str, float] = {}
    for (v, s), q in positions.items():
        gross[v] = gross.get(v, 0.0) + abs(q) * prices.get((v, s), 0.0)
    bounds = (caps or {}) if account == "live" else {}
    total_equity = sum(max(books.equity_usd.get((account, v), 0.0), 0.0) for v in venues)
    snapshot = Snapshot(
        ts=now,
        bar_ts=bar,
        positions=positions,
        venues={
            v: venue_state(
                v,
                equity_usd=books.equity_usd.get((account, v), 0.0),
                gross_exposure_usd=gross.get(v, 0.0),
                pending_notional_usd=0.0,
                caps=bounds.get(v),
                total_equity_usd=total_equity,
                healthy=(account, v) not in books.refused
                and (account != "live" or books.trading_enabled.get(v, False)),
            )
            for v in venues
        },
        marks={k: m for k, m in marks.items() if k in instruments},
        pinned_positions={(v, s): q for (a, v, s), q in books.pinned.items() if a == account},
    )
    for v in venues:
        if (account, v) in books.refused:
            detail = f"{v} ({account}) failed reconciliation: no orders there this run"
            plan.denials.append(_row("*", account, v, "*", "", 0.0, "unreconciled", detail))
    if account == "live":
        for v in venues:
            if not books.trading_enabled.get(v, False):
                detail = f"{v} does not set trading_enabled = true: no live orders there"
                plan.denials.append(_row("*", account, v, "*", "", 0.0, "trading_disabled", detail))
    routed = route_orders(
        targets, capital, snapshot, instruments, market, risk, routing,
        previous if previous.height else None,
    )  # fmt: skip
    net = routed.attribution
    wanted = {(t[0], t[1], t[2]): t[3] for t in targets.iter_rows()}
    totals = {
        (symbol, venue): usd
        for symbol, venue, usd in net.group_by("instrument", "venue")
        .agg(pl.col("notional_usd").sum())
        .iter_rows()
    }
    for r in net.iter_rows(named=True):
        symbol, venue = r["instrument"], r["venue"]
        price = r["price"] or 0.0  # the reference price valuing the strategy's holding
        total = totals[(symbol, venue)]
        plan.net_targets.append(
            {
                "strategy": r["strategy"],
                "account": account,
                "venue": venue or "*",  # "*": the router picks venues (live/orders per leg)
                "symbol": symbol,
                "weight": wanted.get((r["strategy"], symbol, venue)),  # null: no signal
                "capital": capital.get(r["strategy"], 0.0),
                "price": price,
                "contribution": r["quantity"] or 0.0,  # base units held once filled
                "net_target": total / price if price else 0.0,
                "position": sum(
                    q for (v, s), q in positions.items() if s == symbol and venue in (None, v)
                ),
            }
        )
    owners = {
        (symbol, venue): ",".join(sorted(set(group["strategy"])))
        for (symbol, venue), group in net.filter(pl.col("notional_usd") != 0.0).group_by(
            "instrument", "venue"
        )
    }
    for o in routed.orders:
        who = owners.get((o.instrument, o.venue if o.pinned else None), "*")
        if (account, o.client_order_id) in books.known_orders:
            continue  # this bar's order exists already (a retried run): reconciliation owns it
        if o.not_before > now:
            plan.denials.append(
                _row(who, account, o.venue, o.instrument, o.side, o.amount, "twap_later",
                     f"TWAP slice {o.slice} due {o.not_before:%H:%M}; the next bar re-plans")
            )  # fmt: skip
            continue
        before = positions.get((o.venue, o.instrument), 0.0)
        after = before + o.signed_amount
        shrinks = abs(after) < abs(before) and after * before >= 0
        plan.orders.append(
            OrderIntent(
                account, o.venue, o.instrument, o.side, o.amount, o.price, o.client_order_id,
                who, reduce_only=o.kind == "swap" and shrinks,
            )
        )  # fmt: skip
    for d in routed.denials:
        venue = d.name if d.scope == "venue" else "*"
        plan.denials.append(
            _row(d.name if d.scope == "strategy" else "*", account, venue,
                 d.name if d.scope == "instrument" else "*", "", 0.0, d.reason,
                 f"{d.detail} {d.client_order_id}".strip())
        )  # fmt: skip
    for x in routed.dropped:
        if x.reason == "step remainder":
            continue  # less than one amount step: not worth a row per order
        owner = owners.get((x.instrument, x.venue if x.pinned else None))
        plan.denials.append(
            _row(owner or "*", account, x.venue or "*", x.instrument, "", x.amount, "dropped",
                 x.reason)
        )  # fmt: skip
    return plan


def _row(
    strategy: str,
    account: str,
    venue: str,
    symbol: str,
    side: str,
    amount: float,
    reason: str,
    detail: str,
) -> dict[str, Any]:
    return {
        "strategy": strategy,
        "account": account,
        "venue": venue,
        "symbol": symbol,
        "side": side or "none",
        "amount": abs(amount),
        "reason": reason,
        "detail": detail,
    }
