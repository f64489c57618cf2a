"""``keel repair``, ``keel restore``, ``keel history`` and ``keel recover``: what the checks'
repair hints and the recovery messages point at when a table or a run went wrong."""

from __future__ import annotations

import argparse
from typing import Any

from trading.text import counted

COMMANDS = ("repair", "restore", "history", "recover")
# Commands that read or write the market lake: checked for a missing or read-only root first.
# Trading commands (halt above all) are never held up by it.
LAKE_COMMANDS = frozenset(
    {"demo", "backfill", "summary", "research", "repair", "restore", "history"}
)


def register(sub: Any) -> None:
    """Add the lake maintenance subcommands to the ``keel`` parser."""
    repair = sub.add_parser(
        "repair",
        help="deduplicate a table, drop rows without a key, remove files no version references",
    )
    repair.add_argument("table", help="e.g. market/candles_1h (keel summary lists them)")
    repair.add_argument(
        "--grace-minutes",
        type=float,
        default=10.0,
        help="leave uncommitted files younger than this (a running write may own them)",
    )
    restore = sub.add_parser("restore", help="make an earlier Delta version current again")
    restore.add_argument("table", help="e.g. market/candles_1h")
    restore.add_argument("--version", type=int, required=True, help="keel history TABLE lists them")
    history = sub.add_parser("history", help="a table's Delta versions: when, what, how many rows")
    history.add_argument("table", help="e.g. market/candles_1h")
    history.add_argument("--limit", type=int, default=20, help="newest versions shown (20)")
    sub.add_parser("recover", help="fail runs whose process died and free their pool slots")


def table_specs() -> dict[str, Any]:
    """Every table the config can write, by name."""
    from lake import catalog
    from trading.config import load_config
    from trading.features.registry import registered_features

    config = load_config()
    specs = [catalog.candles(tf) for tf in config.data.timeframes]
    specs += [catalog.funding_rates(), catalog.instruments()]
    specs.append(catalog.features(config.data.research_timeframe, list(registered_features())))
    specs += [catalog.research_metrics(), catalog.research_equity(), catalog.research_trades()]
    specs.append(catalog.research_trade_lists())
    return {s.name: s for s in specs}


def _spec(name: str) -> Any:
    specs = table_specs()
    if name not in specs:
        raise SystemExit(f"no table {name!r}; tables: {', '.join(sorted(specs))}")
    return specs[name]


def run(args: argparse.Namespace) -> int | None:
    """Run the subcommand if it is one of these; None otherwise."""
    if args.command not in COMMANDS:
        return None
    if args.command == "recover":
        from orchestration.recovery import open_instance, reap_dead_runs

        reaped = reap_dead_runs(open_instance())
        for run in reaped:
            print(f"run {run.run_id} ({run.job}): process {run.pid} is gone; marked failed")
        print(f"{len(reaped)} dead runs marked failed; pool slots of finished runs freed")
        return 0
    from lake.store import Lake

    lake, spec = Lake(), _spec(args.table)
    if not lake.exists(spec):
        raise SystemExit(f"{spec.name} does not exist under {lake.root} yet; nothing to do")
    if args.command == "history":
        return _history(lake, spec, args.limit)
    if args.command == "restore":
        from lake.maintenance import restore

        try:
            version = restore(lake, spec, args.version)
        except ValueError as exc:
            raise SystemExit(str(exc)) from None
        print(f"{spec.name}: restored version {args.version} as version {version}")
        print(f"  undo with: keel restore {spec.name} --version {version - 1}")
        return 0
    from lake.maintenance import deduplicate, drop_missing_files, remove_stray_files

    lost = drop_missing_files(lake, spec)
    for path in lost:
        print(f"{spec.name}: dropped the lost file {path}; backfill its partition again:")
        print(f"  {_refill_hint(spec, path)}")
    result = deduplicate(lake, spec)
    stray = remove_stray_files(lake, spec, args.grace_minutes * 60)
    print(
        f"{spec.name}: {counted(result.duplicates_removed, 'duplicate row')} and "
        f"{counted(result.unkeyed_removed, 'row')} without a key removed from "
        f"{counted(result.partitions_rewritten, 'partition')}"
        + (f" (version {result.version})" if result.version is not None else "")
    )
    print(f"  {counted(len(stray), 'uncommitted file')} removed (no version referenced them)")
    if result.version is not None:
        print(f"  undo with: keel restore {spec.name} --version {result.version - 1}")
    return 0


def _refill_hint(spec: Any, path: str) -> str:
    """The backfill that rewrites the partition a lost file belonged to."""
    import calendar
    from datetime import date

    parts = dict(p.split("=", 1) for p in path.split("/") if "=" in p)
    day = parts.get("date") or parts.get("month")
    dataset = spec.name.split("/", 1)[1]
    if "venue" not in parts or day is None or not spec.name.startswith("market/"):
        return f"re-materialize {spec.name} (the partition {parts or path})"
    first = date.fromisoformat(day[:10])
    last = first
    if "month" in parts:
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    return (
        f"keel backfill --venue {parts['venue']} --dataset {dataset} --start {first} "
        f"--end {min(last, date.today())}"
    )


def _history(lake: Any, spec: Any, limit: int) -> int:
    from deltalake import DeltaTable

    table = DeltaTable(lake.uri(spec), storage_options=lake.storage_options)
    print(f"{spec.name} (current version {table.version()})")
    for entry in table.history(limit):
        when = entry.get("timestamp")
        metrics = entry.get("operationMetrics") or {}
        rows = metrics.get("num_target_rows_inserted", metrics.get("num_added_rows", ""))
        print(
            f"  v{entry.get('version'):<5} {_when(when)}  {entry.get('operation', ''):<14} "
            f"{'+' + str(rows) + ' rows' if rows != '' else ''}"
        )
    return 0


def _when(millis: object) -> str:
    from datetime import UTC, datetime

    if not isinstance(millis, int):
        return "?"
    return datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def check_lake_root(writes: bool) -> None:
    """Stop before anything runs when ``$KEEL_LAKE`` names a folder that does not exist (a typo
    would otherwise start an empty lake while the Dagster instance still lists the old one's
    partitions) or, for commands that write, one this user cannot write (delta-rs would panic
    mid-write)."""
    import os
    from pathlib import Path

    from lake.store import DEFAULT_ROOT, LAKE_ENV

    configured = os.environ.get(LAKE_ENV)
    if configured and "://" in configured and not configured.startswith("file://"):
        return  # an object store: its credentials and bucket are checked by delta-rs
    root = Path(configured.removeprefix("file://")) if configured else DEFAULT_ROOT
    if not root.exists():
        if configured:
            raise SystemExit(
                f"{LAKE_ENV}={configured} does not exist; fix the path, or create the folder "
                f"(mkdir -p {configured}) to start a new, empty lake there"
            )
        root.mkdir(parents=True, exist_ok=True)
    if not root.is_dir():
        raise SystemExit(f"{LAKE_ENV}={root} is not a folder; point it at the lake's folder")
    if writes and not _writable(root):
        raise SystemExit(
            f"the lake {root} is read-only for this user; writes would fail half-way. Fix its "
            f"permissions (chmod u+w) or point {LAKE_ENV} at a writable copy"
        )


def _writable(root: Any) -> bool:
    """Whether a file can be created in ``root`` (permission bits alone mislead: root ignores
    them, read-only mounts and special file systems do not)."""
    import tempfile

    try:
        with tempfile.NamedTemporaryFile(dir=root, prefix=".keel-write-probe-"):
            return True
    except OSError:
        return False


def failure_reason(error: Any) -> str:
    """A failed step's reason in one line: the first line of the root error (a multi-line
    message leads with what matters; its last line may be a table border), without the
    exception's module path."""
    import re

    cause = error.cause if error.cause is not None else error
    lines = [line for line in (cause.message or error.message).splitlines() if line.strip()]
    if not lines:
        return "failed"
    return re.sub(r"^(?:\w+\.)+(?=\w+: )", "", lines[0].strip())


def check_backfill_args(start: Any, end: Any, datasets: Any, venues: Any, every: Any) -> None:
    """Stop on a flag that would be ignored or fail later: every ``--dataset`` and ``--venue``
    must name a known one (a typo among repeated flags is not silently dropped), and no day
    may lie after today (UTC), where no bar has closed yet."""
    from datetime import UTC, datetime

    market = [k.path for k in every if k.path[0] == "market" and k.path[-1] != "instruments"]
    known_datasets = sorted({p[-1] for p in market} | {"features"})
    known_venues = sorted({p[1] for p in market})
    for flag, given, known in (
        ("--dataset", datasets, known_datasets),
        ("--venue", venues, known_venues),
    ):
        unknown = [g for g in given or [] if g not in known]
        if unknown:
            raise SystemExit(
                f"{flag} {', '.join(unknown)}: unknown; use one of: {', '.join(known)}"
            )
    today = datetime.now(UTC).date()
    if end > today:
        raise SystemExit(
            f"--end {end} is after today ({today} UTC): no bar of it has closed; "
            f"use --end {today} or leave --end out"
        )
