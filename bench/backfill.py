"""Backfills and research through the ``keel`` CLI on both instance profiles: SQLite (local)
and PostgreSQL (prod), with wall time, events stored per second, the share of wall time spent
storing events, and peak memory (RSS) of each case, each in a fresh process.

Cases: a 2-year hourly backfill of candles and funding rates (3 venues, 29 instruments, the
demo config), a 30-day minute-bar backfill, and a research sweep of 224 strategies (the built-in
ones with the trend model swept 14 x 15) on 1 and 2 workers.

Run: ``.venv/bin/python -m bench.backfill`` (``--days``/``--minute-days`` shorten it;
``--profiles local`` skips PostgreSQL). PostgreSQL comes from ``$KEEL_POSTGRES_URL`` or a
throwaway server started here (Debian's binaries, see orchestration/services.py).
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
    handle = EventMethods.handle_new_event

    def timed(self: object, event: object, **kwargs: object) -> None:
        began = time.perf_counter()
        handle(self, event, **kwargs)  # type: ignore[arg-type]
        spent[0] += time.perf_counter() - began
        spent[1] += 1

    EventMethods.handle_new_event = timed  # type: ignore[method-assign]
    began = time.perf_counter()
    code = main(args)
    wall = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    result = {"code": code, "wall": wall, "events": spent[1], "event_s": spent[0]}
    print("BENCH " + json.dumps({**result, "rss_gb": max(peak, children)}), flush=True)


def _case(args: list[str], env: dict[str, str], log: Path) -> dict[str, float]:
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
    result: dict[str, float] = json.loads(lines[-1][6:])
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


def main() -> None:
    """Run every case on every profile and print a table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=730, help="hourly backfill length")
    parser.add_argument("--minute-days", type=int, default=30, help="minute backfill length")
    parser.add_argument("--research-days", type=int, default=365, help="features for research")
    parser.add_argument("--profiles", default="local,prod")
    parser.add_argument("--child", nargs=argparse.REMAINDER)
    options = parser.parse_args()
    if options.child is not None:
        _child(options.child)
        return

    from assets.paths import PROJECT_ROOT
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
            state = work / profile
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
            }
            if profile == "prod":
                url = os.environ.get("KEEL_POSTGRES_URL")
                if url is None:
                    if server is None:
                        pg_dir = Path(tempfile.mkdtemp(prefix="keel-bench-pg-"))
                        server = Postgres(pg_dir, free_port()).start()
                    url = server.create_database(f"bench_{uuid.uuid4().hex[:10]}")
                env |= {
                    "KEEL_POSTGRES_URL": url,
                    "DAGSTER_HOME": str(PROJECT_ROOT / "profiles/prod"),
                }
            else:
                env["DAGSTER_HOME"] = str(PROJECT_ROOT)
            hourly_start = today - timedelta(days=options.days - 1)
            minute_start = today - timedelta(days=options.minute_days - 1)
            research_start = today - timedelta(days=options.research_days - 1)
            cases = [
                (
                    f"hourly {options.days}d",
                    [
                        *("backfill", "--start", str(hourly_start)),
                        *("--dataset", "candles_1h", "--dataset", "funding_rates"),
                    ],
                ),
                (
                    f"minute {options.minute_days}d",
                    ["backfill", "--start", str(minute_start), "--dataset", "candles_1m"],
                ),
                (
                    f"features {options.research_days}d",
                    ["backfill", "--start", str(research_start), "--dataset", "features"],
                ),
            ]
            for name, args in cases:
                print(f"{profile}: {name} ...", flush=True)
                result = _case(args, env, work / f"{profile}-{name.split()[0]}.log")
                rows.append((profile, name, result))
            research_env = {**env, "PYTHONPATH": f"{site}:{env.get('PYTHONPATH', '')}"}
            for workers in (1, 2):
                print(f"{profile}: research on {workers} worker(s) ...", flush=True)
                before = _events_in_runs(env)
                args = ["research", "--workers", str(workers)]
                result = _case(args, research_env, work / f"{profile}-research{workers}.log")
                result["events"] = _events_in_runs(env) - before
                rows.append((profile, f"research 224 x {workers} worker(s)", result))
    finally:
        if server is not None:
            server.stop()
            shutil.rmtree(server.data_dir, ignore_errors=True)

    print(f"\nlogs: {work}")
    print("| profile | case | ok | wall s | events | events/s | event-log share | peak RSS GB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for profile, name, r in rows:
        share = f"{r['event_s'] / r['wall']:.0%}" if r["event_s"] else "n/a (other processes)"
        print(
            f"| {profile} | {name} | {'yes' if r['code'] == 0 else 'NO'} | {r['wall']:.1f} | "
            f"{int(r['events']):,} | {r['events'] / r['wall']:.0f} | {share} | "
            f"{r['rss_gb']:.2f} |"
        )


if __name__ == "__main__":
    main()
