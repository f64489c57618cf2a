"""``keel rewards``: build the rewards and volume report for a range of days and print it."""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from typing import Any

COLUMNS = (
    "date",
    "venue",
    "orders",
    "volume_usd",
    "fees_usd",
    "rebates_usd",
    "points_value_usd",
    "volume_30d_usd",
    "next_tier_volume_usd",
    "saved_vs_single_usd",
)


def register(sub: Any) -> None:
    """Add the ``rewards`` subcommand."""
    rewards = sub.add_parser(
        "rewards", help="build (with --start) and print the rewards and volume report"
    )
    rewards.add_argument("--start", type=date.fromisoformat, help="first day to build, YYYY-MM-DD")
    rewards.add_argument("--end", type=date.fromisoformat, help="last day to build (--start)")
    rewards.add_argument("--days", type=int, default=7, help="days shown, newest last (7)")


def run(args: argparse.Namespace) -> int | None:
    """Run ``keel rewards``; None when the command is not this module's."""
    if args.command != "rewards":
        return None
    from orchestration.cli import _definitions, _execute

    ok = True
    if args.start is not None:
        end = args.end or args.start
        if end < args.start:
            raise SystemExit(f"end {end} is before start {args.start}")
        job = _definitions().resolve_job_def("execution_report")
        day = args.start
        while day <= end:
            ok = _execute(f"rewards {day}:", job, {"dagster/partition": day.isoformat()}) and ok
            day += timedelta(days=1)
    print_report(args.days)
    return 0 if ok else 1


def print_report(days: int) -> None:
    """The newest ``days`` days of the report, as a table."""
    import polars as pl

    from lake import catalog
    from lake.store import Lake

    lake = Lake()
    spec = catalog.execution_rewards_daily()
    if lake.version(spec) is None:
        print("no rewards report yet: run `keel rewards --start YYYY-MM-DD` after `make demo`")
        return
    rows = lake.scan(spec).collect()
    last = rows["date"].max()
    if not isinstance(last, date):
        print("the rewards report is empty")
        return
    shown = rows.filter(pl.col("date") > last - timedelta(days=days)).sort("date", "venue")
    with pl.Config(
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        tbl_rows=-1,
        tbl_cols=-1,
        tbl_width_chars=200,
        thousands_separator=True,
        float_precision=2,
    ):
        print(shown.select(COLUMNS))
