"""``keel status`` (the point of control on one screen) and ``keel account-demo`` (seed the
simulated accounts, place paper orders through the venue interface, sync, print the status)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

_DEMO_ORDERS = (  # symbol, side, share of the starting USDT, order type (limits rest 2% away)
    ("BTC/USDT", "buy", 0.15, "market"),
    ("ETH/USDT", "buy", 0.08, "market"),
    ("BTC/USDT:USDT", "sell", 0.20, "market"),
    ("ETH/USDT:USDT", "buy", 0.12, "market"),
    ("BTC/USDT", "buy", 0.05, "limit"),
)


def register(sub: Any) -> None:
    """Add the account subcommands."""
    status = sub.add_parser("status", help="equity, balances, exposure and caps of every venue")
    status.add_argument("--sync", action="store_true", help="sync every venue first (a run)")
    status.add_argument("--no-color", action="store_true", help="plain text, no highlighting")
    demo = sub.add_parser("account-demo", help="seed sim accounts, paper-trade, sync, status")
    demo.add_argument("--keep", action="store_true", help="keep existing simulated accounts")


def run(args: argparse.Namespace) -> int | None:
    """Run an account subcommand; None when the command is not one of these."""
    if args.command == "status":
        if args.sync and not sync_run():
            print("the account sync run failed; showing what the lake holds", file=sys.stderr)
        return status(color=not args.no_color and sys.stdout.isatty())
    if args.command == "account-demo":
        return account_demo(keep=args.keep)
    return None


def sync_run() -> bool:
    """Sync every venue and rebuild the ledger as one Dagster run (it shows in the UI); True
    when the ledger was rebuilt (a venue over its caps fails only the blocking check)."""
    from dagster import DagsterInstance

    from assets.account import ACCOUNT_JOB
    from orchestration.cli import _QUIET, _definitions

    began = time.perf_counter()
    job = _definitions().resolve_job_def(ACCOUNT_JOB)
    result = job.execute_in_process(
        instance=DagsterInstance.get(), run_config=_QUIET, raise_on_error=False
    )
    failed = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    built = all(str(k).endswith("venues_within_caps") for k in failed)
    verdict = "ok" if built else f"FAILED ({', '.join(map(str, failed))})"
    caps = "caps check failed: see Caps below" if failed and built else ""
    print(
        f"account sync {verdict} in {time.perf_counter() - began:.1f}s "
        f"(run {result.run_id}) {caps}".rstrip()
    )
    return built


def status(color: bool = False) -> int:
    """Print the status screen from the lake; 1 when a venue is over a cap."""
    from assets.account import load_ledger
    from assets.resources import KeelResource
    from trading.account.report import status_text

    started = time.perf_counter()
    view = load_ledger(KeelResource())
    print(status_text(view, color=color))
    print(f"\n(built in {time.perf_counter() - started:.2f}s from the lake)")
    return 1 if view.over_cap else 0


def account_demo(keep: bool = False) -> int:
    """Seed every simulated account, place a few paper orders on each through the venue
    interface, sync them all and print the status."""
    from assets.paths import sim_state_dir
    from assets.resources import KeelResource
    from trading.venues.base import OrderRejectedError, OrderRequest, derive_client_order_id
    from trading.venues.kinds import capabilities_of

    keel = KeelResource()
    config = keel.config()
    state = sim_state_dir()
    traded = [v for v in config.venues if capabilities_of(v).simulated]
    for venue_config in traded:
        if not keep:
            (state / f"{venue_config.name}.json").unlink(missing_ok=True)
        venue = keel.venue(venue_config.name)
        placed = 0
        capital = float(getattr(venue_config, "starting_balances", {}).get("USDT", 0.0))
        for i, (symbol, side, share, kind) in enumerate(_DEMO_ORDERS):
            if symbol not in venue_config.instruments:
                continue
            notional = share * capital
            last = venue.fetch_candles(symbol, "1m", *_last_minutes())["close"][-1]
            price = last * (0.98 if side == "buy" else 1.02) if kind == "limit" else None
            cid = derive_client_order_id("demo", venue_config.name, symbol, i)
            request = OrderRequest(symbol, side, notional / last, cid, kind, price)  # type: ignore[arg-type]
            try:
                venue.create_order(request)
                placed += 1
            except OrderRejectedError as exc:
                print(f"  {exc}")
        print(f"{venue_config.name}: {placed} paper orders placed")
    sync_run()  # a venue over its caps fails the run's blocking check: the status shows it
    status(color=sys.stdout.isatty())
    return 0


def _last_minutes() -> tuple[Any, Any]:
    from datetime import timedelta

    from trading.timeframes import floor_time, utc_now

    end = floor_time(utc_now(), "1m")
    return end - timedelta(minutes=10), end
