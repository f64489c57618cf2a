"""Backfills and research through the ``keel`` CLI on both instance profiles: SQLite (local)
and PostgreSQL (prod), with wall time, events stored per second, the share of wall time spent
storing events, and peak memory (RSS) of each case, each in a fresh process.

Cases: a 2-year hourly backfill of candles and funding rates (3 venues, 29 instruments, the
demo config), a 30-day minute-bar backfill, and a research sweep of 224 strategies (the built-in
ones with the trend model swept 14 x 15) on 1 and 2 workers.

Run: ``.venv/bin/python -m bench.backfill`` (``--days``/``--minute-days`` shorten it;
``--profiles local`` skips PostgreSQL; ``--cases hourly,research1`` runs only those of
hourly, minute, features, research1, research2). PostgreSQL comes from ``$KEEL_POSTGRES_URL``
or a throwaway server started here (Debian's binaries, see orchestration/services.py).

After the table, a breakdown per case of the events stored in the measured process: count and
time inside ``handle_new_event`` per event type (a batch's write is counted against the event
that closed the batch), which is where the event-log share goes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

# Registers a 14 x 15 sweep of the trend model in every process (the CLI's research workers
# included) through sitecustomize: 224 strategies in all.
WIDE = """
from dataclasses import replace
from trading.models.registry import registered_models, _REGISTRY
_trend = registered_models()["trend"]
_REGISTRY["trend"] = replace(_trend, sweep={
    "scale": [0.05 * i for i in range(1, 15)],
    "min_strength": [0.1 * i for i in range(15)],
})
"""


def _child(args: list[str]) -> None:
    """Run one CLI command in this process, timing the event log; print one JSON line."""
    from dagster._core.instance.methods.event_methods import EventMethods

    from orchestration.cli import main

    spent = [0.0, 0]
    by_type: dict[str, list[float]] = {}
    handle = EventMethods.handle_new_event

    def timed(self: object, event: Any, **kwargs: object) -> None:
        began = time.perf_counter()
        handle(self, event, **kwargs)  # type: ignore[arg-type]
        took = time.perf_counter() - began
        spent[0] += took
        spent[1] += 1
        data = event.dagster_event
        kind = data.event_type_value if data is not None else "LOG_MESSAGE"
        entry = by_type.setdefault(kind, [0, 0.0])
        entry[0] += 1
        entry[1] += took

    EventMethods.handle_new_event = timed  # type: ignore[method-assign]
    began = time.perf_counter()
    code = main(args)
    wall = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    result = {
        "code": code,
        "wall": wall,
        "events": spent[1],
        "event_s": spent[0],
        "by_type": by_type,
    }
    print("BENCH " + json.dumps({**result, "rss_gb": max(peak, children)}), flush=True)


def _case(args: list[str], env: dict[str, str], log: Path) -> dict[str, Any]:
    """One CLI command in a fresh interpreter; its output goes to ``log``."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.backfill", "--child", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    log.write_text(done.stdout + done.stderr)
    lines = [x for x in done.stdout.splitlines() if x.startswith("BENCH ")]
    if not lines:
        raise SystemExit(f"{' '.join(args)} crashed; see {log}")
    result: dict[str, Any] = json.loads(lines[-1][6:])
    return result


def _events_in_runs(env: dict[str, str]) -> int:
    """Events stored by the runs of this instance (the research split's workers included)."""
    code = (
        "from dagster import DagsterInstance\n"
        "i = DagsterInstance.get()\n"
        "print(sum(len(i.all_logs(r.run_id)) for r in i.get_runs()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip().splitlines()[-1])


CASES = ("hourly", "minute", "features", "research1", "research2")
# What a case reads that an earlier case writes: features are computed from the hourly candles,
# research backtests on the features.
NEEDS = {"features": ("hourly",), "research1": ("features",), "research2": ("features",)}


def chosen_cases(wanted: str) -> list[str]:
    """The cases to run, in the bench's order: the named ones and what they read."""
    names = {w.strip() for w in wanted.split(",") if w.strip()}
    unknown = names - set(CASES)
    if unknown:
        raise SystemExit(f"unknown cases {sorted(unknown)}; choose from {', '.join(CASES)}")
    todo = set(names)
    while True:
        more = {need for name in todo for need in NEEDS.get(name, ())} - todo
        if not more:
            break
        todo |= more
    return [c for c in CASES if c in todo]


def _case_args(case: str, options: argparse.Namespace, today: date) -> tuple[str, list[str]]:
    """The table's name of a case and its ``keel`` arguments."""
    if case == "hourly":
        start = today - timedelta(days=options.days - 1)
        datasets = ("--dataset", "candles_1h", "--dataset", "funding_rates")
        return f"hourly {options.days}d", ["backfill", "--start", str(start), *datasets]
    if case == "minute":
        start = today - timedelta(days=options.minute_days - 1)
        return f"minute {options.minute_days}d", [
            *("backfill", "--start", str(start), "--dataset", "candles_1m")
        ]
    if case == "features":
        start = today - timedelta(days=options.research_days - 1)
        return f"features {options.research_days}d", [
            *("backfill", "--start", str(start), "--dataset", "features")
        ]
    workers = case.removeprefix("research")
    return f"research 224 x {workers} worker(s)", ["research", "--workers", workers]


def _profile_env(profile: str, work: Path, server: Any) -> dict[str, str]:
    """The environment of one profile's cases: its own lake and instance under ``work``."""
    from assets.paths import PROJECT_ROOT

    state = work / profile
    (state / "lake").mkdir(parents=True, exist_ok=True)  # the CLI refuses a missing lake root
    env = {
        **os.environ,
        "KEEL_PROFILE": profile,
        "KEEL_CONFIG": str(PROJECT_ROOT / "keel.toml"),
        "KEEL_LAKE": str(state / "lake"),
        "KEEL_SIM_STATE": str(state / "sim"),
        "KEEL_GE_ROOT": str(state / "ge"),
        "KEEL_REPORTS": str(state / "reports"),
        "KEEL_DAGSTER_STORAGE": str(state / "dagster"),
        "DAGSTER_EVENT_BATCH_SIZE": os.environ.get("DAGSTER_EVENT_BATCH_SIZE", "1000"),
        "DAGSTER_HOME": str(PROJECT_ROOT),
    }
    if profile == "prod":
        url = os.environ.get("KEEL_POSTGRES_URL") or server.create_database(
            f"bench_{uuid.uuid4().hex[:10]}"
        )
        env |= {"KEEL_POSTGRES_URL": url, "DAGSTER_HOME": str(PROJECT_ROOT / "profiles/prod")}
    return env


def main() -> None:
    """Run the chosen cases on every profile and print a table and the event breakdown."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=730, help="hourly backfill length")
    parser.add_argument("--minute-days", type=int, default=30, help="minute backfill length")
    parser.add_argument("--research-days", type=int, default=365, help="features for research")
    parser.add_argument("--profiles", default="local,prod")
    parser.add_argument(
        "--cases", default=",".join(CASES), help="comma-separated; what they read runs too"
    )
    parser.add_argument("--child", nargs=argparse.REMAINDER)
    options = parser.parse_args()
    if options.child is not None:
        _child(options.child)
        return
    cases = chosen_cases(options.cases)

    from orchestration.services import Postgres, free_port

    work = Path(tempfile.mkdtemp(prefix="keel-bench-"))
    site = work / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(WIDE)
    server = None
    today = date.today()
    rows = []
    try:
        for profile in options.profiles.split(","):
            if profile == "prod" and server is None and "KEEL_POSTGRES_URL" not in os.environ:
                pg_dir = Path(tempfile.mkdtemp(prefix="keel-bench-pg-"))
                server = Postgres(pg_dir, free_port()).start()
            env = _profile_env(profile, work, server)
            for case in cases:
                name, args = _case_args(case, options, today)
                print(f"{profile}: {name} ...", flush=True)
                if case.startswith("research"):
                    research_env = {**env, "PYTHONPATH": f"{site}:{env.get('PYTHONPATH', '')}"}
                    before = _events_in_runs(env)
                    result = _case(args, research_env, work / f"{profile}-{case}.log")
                    result["events"] = _events_in_runs(env) - before
                else:
                    result = _case(args, env, work / f"{profile}-{case}.log")
                rows.append((profile, name, result))
    finally:
        if server is not None:
            server.stop()
            shutil.rmtree(server.data_dir, ignore_errors=True)

    print(f"\nlogs: {work}")
    _print_table(rows)
    _print_breakdown(rows)


def _print_table(rows: list[tuple[str, str, dict[str, Any]]]) -> None:
    print("| profile | case | ok | wall s | events | events/s | event-log share | peak RSS GB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for profile, name, r in rows:
        share = f"{r['event_s'] / r['wall']:.0%}" if r["event_s"] else "n/a (other processes)"
        print(
            f"| {profile} | {name} | {'yes' if r['code'] == 0 else 'NO'} | {r['wall']:.1f} | "
            f"{int(r['events']):,} | {r['events'] / r['wall']:.0f} | {share} | "
            f"{r['rss_gb']:.2f} |"
        )


def _print_breakdown(rows: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Per case, the event types of the measured process by time spent storing them."""
    for profile, name, r in rows:
        by_type = r.get("by_type") or {}
        if not by_type:
            continue
        print(f"\n{profile} / {name}: {r['event_s']:.1f} s storing {r['events']:,} events")
        print("| event type | events | s | ms per event | share of wall |")
        print("| --- | --- | --- | --- | --- |")
        ranked = sorted(by_type.items(), key=lambda kv: -kv[1][1])
        for kind, (count, seconds) in ranked:
            print(
                f"| {kind} | {int(count):,} | {seconds:.2f} | {1000 * seconds / count:.1f} | "
                f"{seconds / r['wall']:.1%} |"
            )


if __name__ == "__main__":
    main()
