"""The trading run of one bar: reconcile → decide → net → route → risk → submit → record.

Pure orchestration over injected parts (journal, venues, clock, trading states), so the Dagster
job, the paper replay on a simulated clock and the tests run exactly this code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from trading.execution.config import RoutingConfig
from trading.execution.inputs import CapsLike
from trading.execution.types import MarketStat
from trading.live.decide import Deployed, decide, refusal
from trading.live.engine import Outcome, Submitter, event_row
from trading.live.journal import Journal
from trading.live.ledger import Ledger
from trading.live.reconcile import Reconciliation, reconcile
from trading.live.route import (
    Books,
    Contribution,
    Plan,
    pinned_holdings,
    plan_account,
    previous_holdings,
    reference_marks,
    state_rules,
)
from trading.live.states import TradingStates, change
from trading.risk.config import RiskConfig
from trading.text import counted
from trading.venues.base import Instrument, RetryableError, Venue, VenueError


@dataclass(frozen=True, slots=True)
class Account:
    """One account Keel trades: a venue itself (live) or its paper twin."""

    kind: str  # paper | live
    venue: Venue
    instruments: tuple[Instrument, ...]
    trading_enabled: bool = True


@dataclass(frozen=True, slots=True)
class BarData:
    """What the run reads from the lake for one bar: one version of the feature table."""

    bar: datetime
    tail: pl.DataFrame
    features_version: int
    prices: Mapping[tuple[str, str], float]  # (venue, symbol) -> close of the bar
    failing_checks: tuple[str, ...] = ()
    market: Mapping[tuple[str, str], MarketStat] = field(default_factory=dict)  # liquidity


@dataclass(frozen=True, slots=True)
class RunParts:
    """The run's collaborators and settings."""

    journal: Journal
    accounts: Mapping[tuple[str, str], Account]  # (kind, venue) -> account
    deployed: list[Deployed]
    bar_length: timedelta
    stale_bars: int
    lookups: int
    risk: RiskConfig
    routing: RoutingConfig
    clock: Callable[[], datetime]
    sleep: Callable[[float], None]
    caps: Mapping[str, CapsLike | None] = field(default_factory=dict)  # venue -> its caps


@dataclass(slots=True)
class RunReport:
    """What one run did, for asset metadata, the CLI and tests."""

    run_id: str
    bar: datetime
    decided: bool = False
    decisions: int = 0
    orders: list[Outcome] = field(default_factory=list)
    denials: list[dict[str, Any]] = field(default_factory=list)
    fills: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """A short human summary."""
        head = f"bar {self.bar:%Y-%m-%d %H:%M}: {counted(self.decisions, 'decision')}, "
        head += f"{counted(len(self.orders), 'order')}, {counted(len(self.fills), 'fill')}, "
        head += counted(len(self.denials), "denial")
        return [head, *self.refused, *self.notes]


class TradingRun:
    """One run of one bar."""

    def __init__(self, run_id: str, data: BarData, parts: RunParts) -> None:
        self.run_id, self.data, self.parts = run_id, data, parts
        self.report = RunReport(run_id, data.bar)
        self.recorded: set[tuple[str, str, str]] = set()  # fills journalled by this run

    def stamp(self, **columns: Any) -> dict[str, Any]:
        """A journal row with the run's id, bar and time."""
        return {"run_id": self.run_id, "bar": self.data.bar, "at": self.parts.clock(), **columns}

    def states(self) -> TradingStates:
        """Trading states, read afresh: a halt takes effect before the next order."""
        return TradingStates.from_log(self.parts.journal.read("trading_states"))

    def execute(self) -> RunReport:
        """The whole run; every step journals what it did before the next one starts."""
        journal = self.parts.journal
        ledger = Ledger.from_journal(journal)
        recons = self._reconcile(ledger)
        contributions = self._decide()
        positions = {
            (r.account, r.venue, s): p for r in recons.values() for s, p in r.positions.items()
        }
        equity = {
            (r.account, r.venue): r.cash
            + sum(
                p * self.data.prices.get((r.venue, s), 0.0)
                for s, p in r.positions.items()
                if s in spot
            )
            for r in recons.values()
            for spot in [self._spot_symbols(r.account, r.venue)]
        }
        books = Books(
            positions,
            equity,
            frozenset((r.account, r.venue) for r in recons.values() if r.refused),
            {a.venue.name: a.trading_enabled for a in self.parts.accounts.values()},
            frozenset((kind, cid) for (kind, _, cid) in ledger.orders),
            pinned_holdings(journal.read("fills")),
        )
        states = self.states()
        risk = state_rules(self.parts.risk, states)
        previous = previous_holdings(journal.read("net_targets"))
        marks = reference_marks(
            self.parts.accounts.values(),
            {c.symbol for c in contributions},
            self.data.prices,
            self.data.bar + self.parts.bar_length,
            self.parts.clock(),
            risk.max_price_age_seconds,
        )
        plan = Plan()
        for kind in sorted({a.kind for a in self.parts.accounts.values()}):
            instruments = {
                (a.venue.name, i.symbol): i
                for a in self.parts.accounts.values()
                if a.kind == kind
                for i in a.instruments
            }
            part = plan_account(
                kind, contributions, books, previous.filter(account=kind).drop("account"),
                instruments, self.data.market, marks, risk, self.parts.routing,
                self.parts.clock(), self.data.bar, self.parts.caps,
                {d.strategy.name: d.deployment.capital for d in self.parts.deployed
                 if d.deployment.stage == kind and self.report.decided},
            )  # fmt: skip
            plan.net_targets += part.net_targets
            plan.orders += part.orders
            plan.denials += part.denials
        self._record_plan(plan)
        self._submit(plan, ledger, positions)
        return self.report

    # ----------------------------------------------------------------- steps

    def _reconcile(self, ledger: Ledger) -> dict[tuple[str, str], Reconciliation]:
        out = {}
        for key, account in sorted(self.parts.accounts.items()):
            r = reconcile(
                account.kind,
                account.venue,
                ledger,
                list(account.instruments),
                self.data.bar,
                self.stamp,
            )
            self.report.fills += [f for f in r.fills if f["origin"] != "before_keel"]
            self.recorded |= {(f["account"], f["venue"], f["fill_id"]) for f in r.fills}
            if r.refused:
                self.report.refused.append(r.refused)
            out[key] = r
        # One commit per table for all accounts: a Delta commit costs more than its rows.
        for table, rows in (
            ("order_events", [e for r in out.values() for e in r.events]),
            ("fills", [f for r in out.values() for f in r.fills]),
            ("reconciliations", [x for r in out.values() for x in r.rows]),
        ):
            self.parts.journal.append(table, rows)
        return out

    def _decide(self) -> list[Contribution]:
        d = self.data
        why = refusal(
            d.bar, self.parts.clock(), self.parts.bar_length, self.parts.stale_bars,
            list(d.failing_checks),
        )  # fmt: skip
        if why is None and not self.parts.deployed:
            why = "no strategy is deployed in paper or live (live.strategies in the config)"
        if why is not None:
            self.report.notes.append(f"no decision: {why}")
            return []
        targets, rows = decide(self.parts.deployed, d.tail, d.bar, d.features_version)
        if not rows:
            self.report.notes.append(f"no decision: no feature rows at {d.bar:%Y-%m-%d %H:%M}")
            return []
        self.parts.journal.append("decisions", [self.stamp(**r) for r in rows])
        self.report.decided, self.report.decisions = True, len(rows)
        stage = {x.strategy.name: x.deployment for x in self.parts.deployed}
        venues: dict[tuple[str, str], list[str]] = {}  # (stage, symbol) -> venues listing it
        for (kind, name), account in sorted(self.parts.accounts.items()):
            for i in account.instruments:
                venues.setdefault((kind, i.symbol), []).append(name)
        out = []
        for t in targets.iter_rows(named=True):
            dep = stage[t["strategy"]]
            # A venue-neutral target may trade on any venue of its stage listing the
            # instrument; a pinned leg only on its own venue.
            where = venues.get((dep.stage, t["symbol"]), [])
            if t["venue"] is not None:
                where = [v for v in where if v == t["venue"]]
            price = next(
                (p for v in where if (p := d.prices.get((v, t["symbol"]))) is not None), None
            )
            if price is None:
                continue
            out.append(
                Contribution(
                    t["strategy"],
                    dep.stage,
                    t["venue"],
                    t["symbol"],
                    t["weight"],
                    dep.capital,
                    price,
                )
            )
        return out

    def _spot_symbols(self, kind: str, venue: str) -> set[str]:
        account = self.parts.accounts.get((kind, venue))
        return {i.symbol for i in account.instruments if i.kind == "spot"} if account else set()

    def _record_plan(self, plan: Plan) -> None:
        j = self.parts.journal
        j.append("net_targets", [self.stamp(**r) for r in plan.net_targets])
        denials = [self.stamp(**d) for d in plan.denials]
        j.append("denials", denials)
        self.report.denials += denials
        # Write-ahead: every order is in the journal before the first one is sent.
        j.append(
            "orders",
            [
                self.stamp(
                    strategy=o.strategy, account=o.account, venue=o.venue, symbol=o.symbol,
                    client_order_id=o.client_order_id, side=o.side, amount=o.amount,
                    type="market", price=o.price, reduce_only=o.reduce_only,
                )
                for o in plan.orders
            ],
        )  # fmt: skip
        j.append(
            "order_events",
            [
                self.stamp(
                    strategy=o.strategy, account=o.account, venue=o.venue, symbol=o.symbol,
                    client_order_id=o.client_order_id, event="intent", order_id=None,
                    filled=0.0, detail=None,
                )
                for o in plan.orders
            ],
        )  # fmt: skip

    def _submit(
        self, plan: Plan, ledger: Ledger, positions: Mapping[tuple[str, str, str], float]
    ) -> None:
        j = self.parts.journal
        events: list[dict[str, Any]] = []
        denials: list[dict[str, Any]] = []
        fills: list[dict[str, Any]] = []
        by_account: dict[tuple[str, str], list[Any]] = {}
        for o in plan.orders:
            by_account.setdefault((o.account, o.venue), []).append(o)
        for (kind, venue_name), intents in sorted(by_account.items()):
            account = self.parts.accounts[(kind, venue_name)]
            submitter = Submitter(account.venue, self.parts.lookups, self.parts.sleep)
            down = False
            for intent in intents:
                states = self.states()  # a halt during the run stops the next order
                state = states.of(venue=venue_name, symbol=intent.symbol)
                strategy_halted = all(
                    states.of(strategy=s) == "HALTED" for s in intent.strategy.split(",")
                )
                if down or state == "HALTED" or strategy_halted:
                    reason = "venue_down" if down else "halted"
                    detail = states.why(venue=venue_name, symbol=intent.symbol) or "venue down"
                    denials.append(self._denial(intent, reason, detail))
                    events.append(self._event(intent, "canceled", f"not sent: {detail}"))
                    continue
                if state == "REDUCING" and not self._reduces(intent, positions):
                    detail = states.why(venue=venue_name, symbol=intent.symbol)
                    denials.append(self._denial(intent, "reducing", detail))
                    events.append(self._event(intent, "canceled", f"not sent: {detail}"))
                    continue
                outcome = submitter.submit(intent)
                self.report.orders.append(outcome)
                events.append(event_row(outcome, self.stamp))
                if outcome.venue_down:
                    down = True
                    self._reduce_venue(venue_name, outcome.detail)
                if outcome.venue_halted:
                    down = True
                    self.report.notes.append(
                        f"{venue_name}: venue refuses orders ({outcome.detail}); "
                        "no more orders to it this run"
                    )
            fills += self._collect_fills(kind, account.venue, ledger)
        # Outcomes are recorded after all sends: were the run killed before this, the intents
        # (written ahead) let the next run's reconciliation find every order at its venue.
        j.append("order_events", events)
        j.append("denials", denials)
        j.append("fills", fills)
        self.report.denials += denials
        self.report.fills += fills

    @staticmethod
    def _reduces(intent: Any, positions: Mapping[tuple[str, str, str], float]) -> bool:
        """Whether the order shrinks its position without flipping it (allowed when REDUCING)."""
        before = positions.get((intent.account, intent.venue, intent.symbol), 0.0)
        after = before + (intent.amount if intent.side == "buy" else -intent.amount)
        return bool(abs(after) <= abs(before) and after * before >= 0)

    def _reduce_venue(self, venue: str, detail: str) -> None:
        reason = f"an order's outcome is unknown after {self.parts.lookups} look-ups: {detail}"
        c = change("REDUCING", self.parts.clock(), reason, f"run {self.run_id}", "venue", venue)
        self.parts.journal.append("trading_states", [c.row()])
        self.report.notes.append(f"{venue} set to REDUCING: {reason}")

    def _denial(self, intent: Any, reason: str, detail: str) -> dict[str, Any]:
        return self.stamp(
            strategy=intent.strategy, account=intent.account, venue=intent.venue,
            symbol=intent.symbol, side=intent.side, amount=intent.amount, reason=reason,
            detail=detail,
        )  # fmt: skip

    def _event(self, intent: Any, event: str, detail: str) -> dict[str, Any]:
        return self.stamp(
            strategy=intent.strategy, account=intent.account, venue=intent.venue,
            symbol=intent.symbol, client_order_id=intent.client_order_id, event=event,
            order_id=None, filled=0.0, detail=detail,
        )  # fmt: skip

    def _collect_fills(self, kind: str, venue: Venue, ledger: Ledger) -> list[dict[str, Any]]:
        """The fills of this run's orders (and any other unseen ones), each recorded once."""
        try:
            fills = venue.fetch_fills(self.data.bar - timedelta(days=1))
        except (RetryableError, VenueError) as exc:
            self.report.notes.append(f"{venue.name}: fills not read ({exc}); next run adopts them")
            return []
        mine = {
            o.intent.client_order_id: o.intent
            for o in self.report.orders
            if (o.intent.account, o.intent.venue) == (kind, venue.name)
        }
        own = {cid for (a, v, cid) in ledger.orders if a == kind and v == venue.name}
        rows = []
        for f in fills.iter_rows(named=True):
            key = (kind, venue.name, f["fill_id"])
            if key in ledger.fills or key in self.recorded:
                continue  # one row per (venue, fill id), however often the venue reports it
            self.recorded.add(key)
            intent = mine.get(f["client_order_id"] or "")
            origin = "keel" if intent is not None or f["client_order_id"] in own else "adopted"
            rows.append(
                self.stamp(
                    strategy=intent.strategy if intent else "*", account=kind,
                    **{k: f[k] for k in ("venue", "symbol", "fill_id", "order_id",
                                         "client_order_id", "side", "amount", "price", "fee",
                                         "fee_asset", "liquidity", "ts")},
                    origin=origin,
                )
            )  # fmt: skip
        return rows
