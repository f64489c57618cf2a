"""``keel halt|reduce|resume``, ``keel why``, ``keel adopt-positions``, ``keel paper-replay``:
the trading side of the CLI. States take effect before the next order of any run (runs read
them before each order); a halt also cancels open orders in its scope."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

import polars as pl

_STATE_OF = {"halt": "HALTED", "reduce": "REDUCING", "resume": "ACTIVE"}
_TABLE = {
    "tbl_hide_dataframe_shape": True,
    "tbl_hide_column_data_types": True,
    "tbl_rows": 100,
    "tbl_width_chars": 200,
    "fmt_str_lengths": 60,
}


def register(sub: Any) -> None:
    """Add the trading subcommands to the ``keel`` parser."""
    for name, help_text in (
        ("halt", "stop new orders (and cancel open ones) everywhere or in one scope"),
        ("reduce", "allow only orders that shrink positions, everywhere or in one scope"),
        ("resume", "back to normal trading, everywhere or in one scope"),
    ):
        p = sub.add_parser(name, help=help_text)
        scope = p.add_mutually_exclusive_group()
        scope.add_argument("--venue")
        scope.add_argument("--strategy")
        scope.add_argument("--instrument", help="a symbol, e.g. BTC/USDT:USDT")
        p.add_argument("--reason", default=f"keel {name} from the command line")
    why = sub.add_parser("why", help="why Keel placed an order: decisions, net targets, events")
    why.add_argument("client_order_id")
    adopt = sub.add_parser(
        "adopt-positions", help="accept a venue's positions where they disagree with the ledger"
    )
    adopt.add_argument("--venue", required=True)
    adopt.add_argument("--account", choices=("paper", "live"), default="live")
    adopt.add_argument("--reason", required=True)
    replay = sub.add_parser("paper-replay", help="paper-trade the last N bars on a simulated clock")
    replay.add_argument("--bars", type=int, default=48)
    sub.add_parser("states", help="trading states that are not ACTIVE")
    sub.add_parser(
        "costs", help="spread and impact research prices with: calibrated from fills, or config"
    )


def run(args: argparse.Namespace) -> int | None:
    """Run a trading subcommand; None when the command is not one of them."""
    if args.command in _STATE_OF:
        return set_state(args.command, args.venue, args.strategy, args.instrument, args.reason)
    if args.command == "why":
        return why(args.client_order_id)
    if args.command == "adopt-positions":
        return adopt_positions(args.venue, args.account, args.reason)
    if args.command == "paper-replay":
        return paper_replay(args.bars)
    if args.command == "states":
        print("\n".join(state_lines()))
        return 0
    if args.command == "costs":
        return costs()
    return None


def after(args: argparse.Namespace) -> None:
    """What the trading side adds under another command: trading states under ``keel status``
    (the point of control shows what may trade)."""
    if args.command == "status":
        print("\n" + "\n".join(state_lines()))


def _setup() -> Any:
    from assets.live import setup_for
    from assets.resources import KeelResource

    return setup_for(KeelResource())


def unknown_target(scope: str, target: str) -> str | None:
    """Why a kill-switch target is not one Keel trades (a typo must not look like a halt that
    worked while the real venue keeps trading); None when it is known."""
    from assets.resources import KeelResource
    from trading.models.registry import strategy_names

    config = KeelResource().config()
    known: tuple[str, ...] = ()
    if scope == "venue":
        known = tuple(v.name for v in config.venues)
    elif scope == "strategy":
        known = strategy_names()
    elif scope == "instrument":
        known = tuple(sorted({s for v in config.venues for s in v.instruments}))
    if scope == "all" or target in known:
        return None
    shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
    return f"--{scope} {target}: unknown; use one of: {shown}"


def set_state(
    command: str, venue: str | None, strategy: str | None, instrument: str | None, reason: str
) -> int:
    """Record the state change; on halt, cancel open orders in its scope."""
    from lake.live import LakeJournal
    from trading.live.states import change

    setup = _setup()
    scope, target = next(
        (
            (s, t)
            for s, t in (("venue", venue), ("strategy", strategy), ("instrument", instrument))
            if t
        ),
        ("all", "*"),
    )
    unknown = unknown_target(scope, target)
    if unknown:
        print(f"keel {command}: {unknown}; nothing recorded", file=sys.stderr)
        return 2
    now = datetime.now(UTC)
    journal = LakeJournal(setup.journal_lake)
    c = change(_STATE_OF[command], now, reason, "cli", scope, target)  # type: ignore[arg-type]
    journal.append("trading_states", [c.row()])
    print(f"{c.state} {scope} {target}: {reason}")
    if c.state == "HALTED":
        for line in cancel_open_orders(setup, journal, scope, target, now):
            print(f"  {line}")
    return 0


def cancel_open_orders(
    setup: Any, journal: Any, scope: str, target: str, now: datetime
) -> list[str]:
    """Cancel the open orders a halt covers; each cancel is journalled."""
    from trading.live.ledger import Ledger
    from trading.venues.base import VenueError

    ledger = Ledger.from_journal(journal)
    accounts = setup.accounts()
    lines, events = [], []
    for o in [o for o in ledger.orders.values() if o.status in ("open", "accepted")]:
        covered = (
            scope == "all"
            or (scope == "venue" and o.venue == target)
            or (scope == "instrument" and o.symbol == target)
            or (scope == "strategy" and target in o.strategy.split(","))
        )
        account = accounts.get((o.account, o.venue))
        if not covered or account is None:
            continue
        try:
            done = account.venue.cancel_order(o.symbol, o.client_order_id)
        except VenueError as exc:
            lines.append(f"{o.client_order_id} on {o.venue}: not cancelled ({exc}); runs retry")
            continue
        events.append(
            {
                "run_id": "cli", "bar": o.bar, "strategy": o.strategy, "account": o.account,
                "venue": o.venue, "symbol": o.symbol, "client_order_id": o.client_order_id,
                "event": done.status, "order_id": done.order_id, "filled": done.filled,
                "detail": "cancelled by halt", "at": now,
            }
        )  # fmt: skip
        lines.append(f"cancelled {o.client_order_id} ({o.account} {o.venue} {o.symbol})")
    journal.append("order_events", events)
    # the journal holds the orders Keel's runs placed; others on the venue (keel account-demo's,
    # a human's) are not Keel's to cancel, and `keel status` still counts them
    return lines or [
        "no open orders of Keel's trading runs to cancel (orders placed outside them are left)"
    ]


def why(client_order_id: str) -> int:
    """Print the order, its events and fills, and the decisions and net targets behind it."""
    from assets.paths import VAR
    from lake.live import LakeJournal
    from lake.store import Lake
    from trading.live.ledger import EVENT_RANK

    newest: list[str] = []
    for lake in (_setup().journal_lake, Lake(VAR / "replay" / "lake")):  # live, then replay
        journal = LakeJournal(lake)
        every = journal.read("orders")
        # the whole id or its start, as the README writes it (keel0605...)
        orders = every.filter(pl.col("client_order_id").str.starts_with(client_order_id))
        ids = orders["client_order_id"].unique().sort().to_list()
        if len(ids) > 1:
            print(f"{len(ids)} orders start with {client_order_id}; give more of the id:")
            print("\n".join(f"  {i}" for i in ids[:10]) + ("\n  ..." if len(ids) > 10 else ""))
            return 1
        if ids:
            client_order_id = ids[0]
            orders = orders.filter(pl.col("client_order_id") == client_order_id)
            break
        newest += _newest_orders(every)
    else:
        print(f"no order {client_order_id} in the journal (live/orders); check the id")
        if newest:
            print("newest orders (live, then paper replay):\n" + "\n".join(newest))
        return 1
    o = orders.row(0, named=True)
    print(
        f"{client_order_id}: {o['side']} {o['amount']:g} {o['symbol']} on {o['venue']} "
        f"({o['account']}), bar {o['bar']:%Y-%m-%d %H:%M}, run {o['run_id']}"
    )
    # The router picks venues: decisions on the instrument at any venue, and net targets per
    # instrument (venue "*"), explain an order on one venue.
    same = (pl.col("run_id") == o["run_id"]) & (pl.col("symbol") == o["symbol"])
    sections = {
        "decisions": journal.read("decisions")
        .filter(same, pl.col("strategy").is_in(o["strategy"].split(",")))
        .select("strategy", "stage", "venue", "weight", "features_version", "code_version"),
        "net targets": journal.read("net_targets")
        .filter(same, pl.col("account") == o["account"], pl.col("venue").is_in([o["venue"], "*"]))
        .select("strategy", "weight", "capital", "price", "contribution", "net_target", "position"),
        "events": journal.read("order_events")
        .filter(pl.col("client_order_id") == client_order_id)
        .with_columns(rank=pl.col("event").replace_strict(EVENT_RANK, default=9))
        .sort("at", "rank")
        .select("at", "event", "filled", "detail"),
        "fills": journal.read("fills")
        .filter(pl.col("client_order_id") == client_order_id)
        .select("fill_id", "amount", "price", "fee", "origin"),
    }
    with pl.Config(**_TABLE):  # type: ignore[arg-type]
        for title, frame in sections.items():
            print(f"\n{title}:")
            print(frame if frame.height else "  none")
    return 0


def _newest_orders(orders: pl.DataFrame, n: int = 5) -> list[str]:
    """The newest orders' ids, each with what it was, to pick one for ``keel why``."""
    if not orders.height:
        return []
    rows = orders.sort("bar", descending=True).head(n).iter_rows(named=True)
    return [
        f"  {o['client_order_id']}  {o['side']} {o['symbol']} on {o['venue']}, bar "
        f"{o['bar']:%Y-%m-%d %H:%M}"
        for o in rows
    ]


def adopt_positions(venue: str, account: str, reason: str) -> int:
    """Record adjustments that make the ledger equal the venue's positions (the trader's call)."""
    from lake.live import LakeJournal
    from trading.live.ledger import Ledger
    from trading.live.reconcile import venue_positions

    setup = _setup()
    acct = setup.accounts().get((account, venue))
    if acct is None:
        known = ", ".join(f"{k} {v}" for k, v in sorted(setup.accounts()))
        print(f"no {account} account on {venue}; accounts: {known}")
        return 1
    journal = LakeJournal(setup.journal_lake)
    ledger = Ledger.from_journal(journal)
    held = venue_positions(acct.venue, list(acct.instruments))
    now = datetime.now(UTC)
    rows = []
    for symbol in sorted(
        set(held) | {s for (a, v, s) in ledger.positions if (a, v) == (account, venue)}
    ):
        mine, theirs = ledger.position(account, venue, symbol), held.get(symbol, 0.0)
        if mine != theirs:
            rows.append(
                {
                    "run_id": "cli", "bar": now, "strategy": "*", "account": account,
                    "venue": venue, "symbol": symbol, "ledger": mine, "venue_position": theirs,
                    "difference": theirs - mine, "action": "adjusted", "detail": reason, "at": now,
                }
            )  # fmt: skip
            print(f"{symbol}: ledger {mine:g} -> venue {theirs:g}")
    journal.append("reconciliations", rows)
    print("ledger equals the venue" if rows else "nothing to adopt: ledger equals the venue")
    return 0


def state_lines() -> list[str]:
    """Scopes that are not ACTIVE (for ``keel status``)."""
    from assets.live import state_lines as lines

    changed = lines(_setup())
    if not changed:
        return ["trading states: all ACTIVE"]
    return ["trading states:"] + [f"  {line}" for line in changed]


def paper_replay(bars: int) -> int:
    """The last ``bars`` bars of the feature table, paper-traded on a simulated clock."""
    from orchestration.replay_report import run_paper_replay

    return run_paper_replay(bars)


def costs() -> int:
    """Print the newest cost calibration (venue, fills, prior, fitted, used) and what research
    prices with now."""
    from assets.live_costs import calibration_view, current_calibration, research_costs
    from lake.live import read_calibration
    from lake.store import Lake
    from trading.backtest.setup import venue_costs
    from trading.config import load_config

    config, lake = load_config(), Lake()
    stored = read_calibration(lake)  # read once: the view and research's costs
    current = current_calibration(config, stored)
    if current.is_empty():
        print("live/cost_calibration: none yet (no Keel fills calibrated); research uses config")
    else:
        start, end = current["window_start"][0], current["window_end"][0]
        print(
            f"live/cost_calibration v{current['version'][0]}: fills {start:%Y-%m-%d %H:%M} .. "
            f"{end:%Y-%m-%d %H:%M} UTC, fitted {current['fitted_at'][0]:%Y-%m-%d %H:%M} UTC"
        )
        with pl.Config(**_TABLE):  # type: ignore[arg-type]
            print(calibration_view(current))
    cal = config.research.calibration
    source = research_costs(lake, config, stored)
    print(
        f"\nresearch prices with ({'calibration on' if cal.enabled else 'calibration off'}, "
        f"[research.calibration] min_fills={cal.min_fills}, prior_fills={cal.prior_fills:g}):"
    )
    for name, c in venue_costs(config, source.calibrated).items():
        where = f"calibration v{source.version}" if name in source.calibrated else "config"
        spread, k = c.half_spread_bps, c.impact_k
        print(f"  {name}: half spread {spread:.2f} bps, impact k {k:.3f} ({where})")
    return 0
