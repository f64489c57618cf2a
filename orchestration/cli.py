"""The ``keel`` command: the demo, range backfills, and a summary of what the lake holds.

Runs go through the same Dagster definitions and the same local instance as ``make ui``, so
every run started here shows up in the web UI.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from functools import cache
from typing import Any

from assets.paths import ensure_dagster_home
from orchestration import cli_execution, cli_ideas, cli_lake, cli_live, cli_services
from orchestration.profile import apply_profile
from trading.text import counted


def _definitions() -> Any:
    """The code location's definitions, built once per config file and process (``make demo``
    runs four jobs on them)."""
    from trading.config import default_config_path

    return _definitions_for(str(default_config_path()))


def _definitions_config() -> Any:
    """The validated config the definitions were built from."""
    from trading.config import default_config_path, load_config

    return load_config(default_config_path())


@cache
def _definitions_for(config_path: str) -> Any:
    from orchestration.definitions import build_definitions
    from trading.config import load_config

    return build_definitions(load_config(config_path), config_path)


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


def backfill(
    start: date,
    end: date,
    datasets: Sequence[str] | None = None,
    venues: Sequence[str] | None = None,
) -> bool:
    """Materialize the market assets (optionally only some datasets, e.g. ``candles_1h``, of
    some venues) for the days ``start..end`` inclusive, as one run; returns whether it
    succeeded. This is also the repair a failing check names."""
    from dagster import AssetKey

    from jobs.market import MARKET_JOB

    definitions = _definitions()
    job = definitions.resolve_job_def(MARKET_JOB)

    def selected(path: Sequence[str]) -> bool:
        if path[0] == "market" and path[-1] != "instruments":
            return (not datasets or path[-1] in datasets) and (not venues or path[1] in venues)
        if path[0] == "features":
            wanted = not datasets or "features" in datasets or path[-1] in datasets
            return wanted and not venues
        return False

    every = definitions.resolve_asset_graph().get_all_asset_keys()
    cli_lake.check_backfill_args(start, end, datasets, venues, every)
    keys = [k for k in every if selected(k.path)]
    if not keys:
        known_datasets = sorted({k.path[-1] for k in every if k.path[0] == "market"} | {"features"})
        known_venues = sorted({k.path[1] for k in every if k.path[0] == "market"})
        raise SystemExit(
            f"no assets match datasets {list(datasets or [])} and venues {list(venues or [])}; "
            f"datasets: {', '.join(d for d in known_datasets if d != 'instruments')}; "
            f"venues: {', '.join(known_venues)}"
        )
    first_day = date.fromisoformat(str(job.partitions_def.get_first_partition_key()))  # type: ignore[union-attr]
    if start < first_day:
        raise SystemExit(
            f"{start} is before data.history_start ({first_day}); move history_start earlier "
            "in the config or backfill from a later day"
        )
    if end < start:
        raise SystemExit(f"end {end} is before start {start}")
    from orchestration.progress import run_backfill

    config = _definitions_config()
    selection = [AssetKey(k.path) for k in sorted(keys)]
    return run_backfill(
        config,
        start,
        end,
        selection,
        lambda tags, listener: _execute(" ", job, tags, selection, listener),
    )


_QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def _execute(
    label: str,
    job: Any,
    tags: dict[str, str] | None = None,
    selection: list[Any] | None = None,
    listener: Callable[[Any], None] | None = None,
) -> bool:
    """Run a job in process on the shared instance; print one line for the outcome, the reason
    of every failed step (no traceback: the full one is in the run's logs in the UI) and the
    check results. ``listener`` sees every event of the run as it is stored (progress)."""
    from dagster._core.utils import make_new_run_id

    from orchestration.executors import execute_out_of_process, executor_name
    from orchestration.recovery import prepare_run

    graph = _definitions().resolve_asset_graph()
    keys = selection if selection is not None else job.asset_layer.executable_asset_keys
    instance, tags = prepare_run(graph, keys, tags)
    began = time.perf_counter()
    if executor_name() != "in_process":
        result = execute_out_of_process(job.name, tags or {}, selection, _QUIET, listener)
    else:
        run_id = make_new_run_id()
        if listener is not None:
            instance.add_event_listener(run_id, listener)
        result = job.execute_in_process(
            instance=instance,
            tags=tags,
            run_config=_QUIET,
            asset_selection=selection,
            raise_on_error=False,
            run_id=run_id,
        )
    print(
        f"{label} {'ok' if result.success else 'FAILED'} in {time.perf_counter() - began:.1f}s "
        f"(run {result.run_id})"
    )
    failed = 0
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            failed += 1
            print(f"  {event.step_key}: {cli_lake.failure_reason(event.event_specific_data.error)}")
    _report_checks(result)
    if failed:
        print(
            f"  ({counted(failed, 'failed step')}: checks of what they should have written did "
            "not run)"
        )
    return bool(result.success)


def _report_checks(result: object) -> None:
    """One line for the checks that passed, one per check that did not."""
    evaluations = list(result.get_asset_check_evaluations())  # type: ignore[attr-defined]
    if not evaluations:
        return
    failed = [e for e in evaluations if not e.passed]
    print(f"  checks: {len(evaluations) - len(failed)} of {len(evaluations)} passed")
    for e in failed:
        repair = e.metadata.get("repair_command")
        hint = f" -> repair: {repair.value}" if repair is not None else ""
        print(f"    {e.severity.value:5} {e.asset_key.to_user_string()} {e.check_name}{hint}")


def refresh_instruments() -> bool:
    """Materialize every venue's markets into ``market/instruments``."""
    from jobs.market import INSTRUMENTS_JOB

    return _execute("instruments:", _definitions().resolve_job_def(INSTRUMENTS_JOB))


def research(workers: int = 1, only: Sequence[str] | None = None) -> bool:
    """Backtest every registered strategy, in one run or split by strategy ranges across
    ``workers`` concurrent runs, then print the leaderboard; ``only`` (first, last) runs one
    range and prints no leaderboard (a split's part)."""
    from dagster import DagsterInstance

    from jobs.research import RESEARCH_JOB
    from orchestration.research_split import allow_concurrent_research, run_ranges, split_ranges
    from orchestration.schedules import range_tags
    from trading.models.registry import strategy_names

    names = strategy_names()
    job = _definitions().resolve_job_def(RESEARCH_JOB)
    if only is not None:
        first, last = only
        count = names.index(last) - names.index(first) + 1
        label = f"research: {counted(count, 'strategy', 'strategies')} ({first}..{last})"
        return _execute(label, job, range_tags(*only))
    ranges = split_ranges(names, workers)
    if len(ranges) > 1:
        allow_concurrent_research(DagsterInstance.get(), len(ranges))
        ok = run_ranges(ranges)
    else:
        label = f"research: {counted(len(names), 'strategy', 'strategies')}"
        ok = _execute(label, job, range_tags(names[0], names[-1]))
    if ok:
        print_leaderboard()
    return ok


def print_leaderboard() -> None:
    """The leaderboard as a table, best out-of-sample Sharpe first, and the strategies that
    failed in the latest run with their reasons."""
    import polars as pl

    from assets.research import LEADERBOARD_COLUMNS, leaderboard_frame
    from assets.resources import KeelResource
    from lake import catalog

    keel = KeelResource()
    board = leaderboard_frame(keel).select(LEADERBOARD_COLUMNS)
    failed = keel.lake().scan(catalog.research_failures()).collect()
    latest = (
        keel.lake()
        .scan(catalog.research_metrics())
        .select(pl.col("run_id").sort_by("recorded_at").last())
        .collect()
    )
    if latest.height and failed.height:
        failed = failed.filter(pl.col("run_id") == latest.item())
        for row in failed.iter_rows(named=True):
            print(f"FAILED {row['strategy']}: {row['reason']}")
    with pl.Config(
        tbl_rows=100,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        float_precision=3,
        tbl_width_chars=220,
    ):
        print(
            "\nleaderboard (research/metrics, latest of "
            f"{counted(board.height, 'strategy', 'strategies')}, ranked by out-of-sample "
            "Sharpe; Sharpe figures annualized)"
        )
        print(board)


def summary() -> None:
    """Where the lake and instance live, and row counts per table, venue and instrument."""
    import os

    import polars as pl

    from lake import catalog, diagnose
    from lake.store import Lake
    from trading.config import load_config

    config = load_config()
    lake = Lake()
    print(f"lake:             {lake.root}")
    print(
        f"dagster instance: {os.environ['DAGSTER_HOME']}/dagster.yaml "
        f"(storage {os.environ.get('KEEL_DAGSTER_STORAGE')})"
    )
    spec = catalog.instruments()
    markets = diagnose.collect(
        lake,
        spec,
        diagnose.scan(lake, spec).group_by("venue", "kind").len().sort("venue", "kind"),
    )
    print(f"\nmarket/instruments  ({counted(int(markets['len'].sum()), 'market')})")
    with pl.Config(tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
        print(markets)
    specs = [catalog.candles(tf) for tf in config.data.timeframes] + [catalog.funding_rates()]
    for spec in specs:
        counts = diagnose.collect(
            lake,
            spec,
            diagnose.scan(lake, spec)
            .group_by("venue", "symbol")
            .agg(rows=pl.len(), first=pl.col("ts").min(), last=pl.col("ts").max())
            .sort("venue", "symbol"),
        )
        rows = counted(int(counts["rows"].sum()), "row")
        print(f"\n{spec.name}  (Delta version {lake.version(spec)}, {rows})")
        with pl.Config(
            tbl_rows=200, tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True
        ):
            print(counts)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``keel`` command."""
    parser = argparse.ArgumentParser(prog="keel", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="backfill the demo window and print a summary")
    fill = sub.add_parser("backfill", help="materialize market data for a range of days")
    fill.add_argument("--start", type=_parse_day, required=True, help="first day, YYYY-MM-DD")
    fill.add_argument("--end", type=_parse_day, default=date.today(), help="last day (today)")
    fill.add_argument(
        "--dataset",
        action="append",
        help="only this dataset (candles_1h, candles_1m, funding_rates, features); repeatable",
    )
    fill.add_argument("--venue", action="append", help="only this venue; repeatable")
    sub.add_parser("docs", help="build the great-expectations Data Docs under var/")
    sub.add_parser("summary", help="print the lake location and row counts")
    sub.add_parser("research", help="backtest every strategy and print the leaderboard")
    sub.choices["research"].add_argument(
        "--workers", type=int, default=1, help="split strategies into this many concurrent runs"
    )
    sub.choices["research"].add_argument("--range", nargs=2, help=argparse.SUPPRESS)
    sub.add_parser("check-config", help="validate the config file and exit")
    sub.add_parser("trade", help="one trading run for the newest bar, as the sensor launches it")
    sub.add_parser("portfolio", help="recompute ideas, allocation and regime report in Dagster")
    from orchestration import cli_account

    cli_account.register(sub)
    cli_live.register(sub)
    cli_execution.register(sub)
    cli_ideas.register(sub)
    cli_services.register(sub)
    cli_lake.register(sub)
    args = parser.parse_args(argv)

    from trading.config import ConfigError, load_config

    apply_profile()
    ensure_dagster_home()
    from lake.diagnose import LakeReadError

    try:
        if args.command in cli_lake.LAKE_COMMANDS:
            load_config()  # a bad config is reported first, before the lake is looked at
            cli_lake.check_lake_root(writes=args.command not in ("summary", "history"))
        handled = cli_account.run(args)
        if handled is None:
            handled = cli_services.run(args)
        if handled is None:
            handled = cli_lake.run(args)
        if handled is not None:
            cli_live.after(args)
            return handled
        done = cli_live.run(args)
        if done is not None:
            return done
        if args.command == "check-config":
            config = load_config()
            print(
                f"config ok: {counted(len(config.venues), 'venue')}, "
                f"{counted(sum(len(v.instruments) for v in config.venues), 'instrument')}"
            )
            return 0
        mine = cli_execution.run(args)
        if mine is not None:
            return mine
        if args.command == "demo":
            from orchestration.demo import demo

            return demo()
        handled = cli_ideas.run(args)
        if handled is not None:
            return handled
        if args.command == "backfill":
            return 0 if backfill(args.start, args.end, args.dataset, args.venue) else 1
        if args.command == "research":
            return 0 if research(args.workers, args.range) else 1
        if args.command in ("trade", "portfolio"):
            from orchestration.cli_runs import portfolio, trade

            return 0 if (trade() if args.command == "trade" else portfolio()) else 1
        if args.command == "docs":
            from lake.expectations import build_docs

            index = build_docs()
            if index is None:
                print("no Data Docs yet: materialize candles first (make demo) so suites have run")
                return 1
            print(f"Data Docs: {index.as_uri()}")
            return 0
        summary()
        return 0
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except LakeReadError as exc:
        print(exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
