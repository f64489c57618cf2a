"""``keel idea add|list|show|promote|retire`` and ``keel report regimes``: the ideas pipeline
and the trader's question (excess return over BTC in bad regimes) from the command line."""

from __future__ import annotations

import argparse
import time
from typing import Any

import polars as pl

from assets.paths import reports_dir

STAGE_CHOICES = ("research", "paper", "live")


def register(sub: Any) -> None:
    """Add the ``idea`` and ``report`` commands to the ``keel`` parser."""
    idea = sub.add_parser("idea", help="the ideas pipeline: add, list, show, promote, retire")
    verbs = idea.add_subparsers(dest="idea_command", required=True)
    add = verbs.add_parser("add", help="record a new idea")
    add.add_argument("name", help="lowercase name; also the strategy it names by default")
    add.add_argument("--hypothesis", required=True, help="what should work, and why")
    add.add_argument("--source", default="", help="where it came from (paper, chat, ...)")
    add.add_argument("--tag", action="append", default=[], help="a tag; repeatable")
    add.add_argument("--link", action="append", default=[], help="a link; repeatable")
    add.add_argument("--strategy", default="", help="the registered strategy that tests it")
    listing = verbs.add_parser("list", help="every idea with its stage")
    listing.add_argument("--stage", help="only ideas in this stage")
    show = verbs.add_parser("show", help="one idea and its history of moves")
    show.add_argument("name")
    promote = verbs.add_parser("promote", help="move an idea forward through its gates")
    promote.add_argument("name")
    promote.add_argument("--to", required=True, choices=STAGE_CHOICES, dest="target")
    promote.add_argument("--override", help="promote past failing gates, for this reason")
    promote.add_argument("--capital", type=float, help="capital cap in paper or live")
    promote.add_argument(
        "--no-research", action="store_true", help="judge the latest research result as it is"
    )
    retire = verbs.add_parser("retire", help="retire an idea")
    retire.add_argument("name")
    retire.add_argument("--reason", required=True)
    report = sub.add_parser("report", help="reports: regimes")
    report.add_argument("report", choices=("regimes",))
    report.add_argument(
        "--strategy",
        action="append",
        default=[],
        help="also every regime's return, excess and Sharpe with intervals for this strategy",
    )


def run(args: argparse.Namespace) -> int | None:
    """Run an ``idea`` or ``report`` command; None when the command is not one of these."""
    if args.command == "report":
        return report_regimes(args.strategy)
    if args.command != "idea":
        return None
    verb = args.idea_command
    try:
        if verb == "add":
            return add(args.name, args.hypothesis, args.source, args.tag, args.link, args.strategy)
        if verb == "list":
            return list_ideas(args.stage)
        if verb == "show":
            return show(args.name)
        if verb == "promote":
            return promote(
                args.name, args.target, args.override, args.capital, not args.no_research
            )
        return retire(args.name, args.reason)
    except (KeyError, ValueError) as exc:
        print(f"keel idea {verb}: {exc.args[0] if exc.args else exc}")
        return 2


def idea_book() -> Any:
    """The ideas book of the lake at ``$KEEL_LAKE`` (or var/lake)."""
    from lake.ideas import IdeaBook
    from lake.store import Lake

    return IdeaBook(Lake())


def _print(title: str, frame: pl.DataFrame, rows: int = 1000) -> None:
    with pl.Config(
        tbl_rows=rows,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        float_precision=3,
        tbl_width_chars=250,
        tbl_cols=-1,
        fmt_str_lengths=60,
    ):
        print(f"\n{title}")
        print(frame)


def add(
    name: str,
    hypothesis: str,
    source: str = "",
    tags: list[str] | None = None,
    links: list[str] | None = None,
    strategy: str = "",
) -> int:
    """Record a new idea in stage ``idea``."""
    from trading.ideas.pipeline import Idea, new_idea
    from trading.timeframes import utc_now

    idea, move = new_idea(
        Idea(name, hypothesis, source, tuple(tags or ()), tuple(links or ()), strategy), utc_now()
    )
    idea_book().add(idea, move)
    print(f"added idea {idea.name!r} (tests strategy {idea.strategy!r}); stage: idea")
    return 0


def list_ideas(stage: str | None = None) -> int:
    """Every idea (or those of one stage) with its stage, strategy and whether it is testable."""
    from trading.ideas.stages import stage_counts
    from trading.models.registry import strategy_names

    pipeline = idea_book().pipeline()
    known = set(strategy_names())
    shown = pipeline.with_columns(testable=pl.col("strategy").is_in(list(known)))
    if stage:
        shown = shown.filter(pl.col("stage") == stage)
    counts = stage_counts(pipeline)
    print("  ".join(f"{r['stage']}: {r['ideas']}" for r in counts.iter_rows(named=True)))
    _print(
        f"ideas ({shown.height})",
        shown.select(
            "name",
            "stage",
            pl.col("since").dt.strftime("%Y-%m-%d %H:%M"),
            "strategy",
            "testable",
            "capital",
            "tags",
        ),
        rows=shown.height,
    )
    return 0


def show(name: str) -> int:
    """One idea: what it is, its stage and every move with reason and evidence."""
    book = idea_book()
    stage, _ = book.stage(name)
    idea = book.ideas().filter(pl.col("name") == name).row(0, named=True)
    print(f"{name}  [{stage}]")
    for field in ("hypothesis", "source", "tags", "links", "strategy", "created"):
        print(f"  {field:>10}: {idea[field]}")
    history = book.transitions().filter(pl.col("idea") == name).sort("seq")
    _print(
        "moves",
        history.select(
            "seq",
            pl.col("at").dt.strftime("%Y-%m-%d %H:%M"),
            "from_stage",
            "to_stage",
            "capital",
            "override",
            "reason",
            "evidence",
        ),
    )
    return 0


def promote(
    name: str,
    target: str,
    override: str | None = None,
    capital: float | None = None,
    research: bool = True,
) -> int:
    """Move an idea forward; on the way to paper its research runs first (one strategy, one
    run) and the gates judge the result. Prints each move, or which gate fails by how much."""
    from assets.pipeline_inputs import evidence_for
    from assets.resources import KeelResource
    from trading.ideas.pipeline import promote as plan
    from trading.ideas.stages import path_to
    from trading.models.registry import strategy_names
    from trading.timeframes import utc_now

    began = time.perf_counter()
    keel = KeelResource()
    config = keel.config()
    book = idea_book()
    stage, seq = book.stage(name)
    strategy = book.ideas().filter(pl.col("name") == name)["strategy"][0]
    testable = strategy in strategy_names()
    if research and testable and "paper" in path_to(stage, target) and not _research(strategy):
        print(f"research of {strategy} failed; nothing recorded")
        return 1
    evidence = evidence_for(keel.lake(), config, strategy) if testable else None
    paper = _paper_evidence(keel.lake(), name, stage, utc_now()) if target == "live" else None
    result = plan(
        name,
        stage,
        seq,
        target,
        utc_now(),
        config.ideas,
        testable=testable,
        research=evidence,
        paper=paper,
        override=override,
        capital=capital,
    )
    book.record(result.moves)
    for move in result.moves:
        cap = f", capital cap {move.capital:,.0f}" if move.capital else ""
        print(f"  {move.from_stage} → {move.to_stage}: {move.reason}{cap}")
    elapsed = time.perf_counter() - began
    if result.complete:
        trading = " (the next trading run trades it)" if target in ("paper", "live") else ""
        print(f"{name} is now in {result.reached}{trading} [{elapsed:.1f}s]")
        return 0
    print(f"{name} stays in {result.reached}: cannot reach {target} [{elapsed:.1f}s]")
    if result.missing:
        print(f"  missing: {result.missing}")
    for check in result.blocked:
        print(f"  gate fails: {check.describe()}")
    if result.blocked:
        print("  to trade it anyway with a small capital cap: add --override 'why'")
    return 1


def _paper_evidence(lake: Any, name: str, stage: str, now: Any) -> Any:
    """The idea's evidence since it went to paper (journal and ideas share the lake); printed,
    so the trader sees what the paper → live gate judged. None unless it is on paper now."""
    from lake.paper_evidence import stage_evidence

    if stage != "paper":
        return None
    found = stage_evidence(lake, lake, name, "paper", now)
    if found is None:
        return None
    ev, fills = found
    parity = "passing" if ev.parity_passed else "not passing (or no runs yet)"
    print(
        f"  paper evidence: {ev.days:.1f} days, parity {parity}, shortfall "
        f"{ev.shortfall_bps:.1f} bps over {fills} fills, drawdown {ev.max_drawdown:.2%}"
    )
    return ev


def _research(strategy: str) -> bool:
    from jobs.research import RESEARCH_JOB
    from orchestration.cli import _definitions, _execute
    from orchestration.schedules import range_tags

    job = _definitions().resolve_job_def(RESEARCH_JOB)
    return _execute(f"research {strategy}:", job, range_tags(strategy, strategy))


def retire(name: str, reason: str) -> int:
    """Retire an idea from any stage, with the reason."""
    from trading.ideas.pipeline import retire as retire_move
    from trading.timeframes import utc_now

    book = idea_book()
    stage, seq = book.stage(name)
    book.record([retire_move(name, stage, seq, utc_now(), reason)])
    print(f"{name}: {stage} → retired ({reason})")
    return 0


def regime_detail(report: pl.DataFrame, strategy: str) -> pl.DataFrame:
    """Every regime group of one strategy: bars, then each figure as value [low, high]."""
    rows = report.filter(pl.col("strategy") == strategy)
    if rows.is_empty():
        raise KeyError(f"{strategy!r} is not in the regime report; keel research first?")

    def span(stat: str, fmt: str) -> pl.Expr:
        value = pl.col(stat).map_elements(fmt.format, return_dtype=pl.String)
        low = pl.col(f"{stat}_low").map_elements(fmt.format, return_dtype=pl.String)
        high = pl.col(f"{stat}_high").map_elements(fmt.format, return_dtype=pl.String)
        return (
            pl.when(pl.col(stat).is_null())
            .then(pl.lit("–"))
            .otherwise(pl.format("{} [{}, {}]", value, low, high))
            .alias(stat)
        )

    return rows.select(
        "regime",
        "bars",
        span("annual_return", "{:+.1%}"),
        span("excess_return", "{:+.1%}"),
        span("sharpe", "{:+.2f}"),
    )


def report_regimes(strategies: list[str] | None = None) -> int:
    """The regime report: the headline, the regimes of the window, and every strategy's excess
    return over BTC per regime with intervals; writes the HTML chart too."""
    from assets.pipeline_inputs import load_book
    from assets.portfolio_metadata import (
        bars_per_day,
        current_weights,
        headline_text,
        performance_frame,
        regime_counts,
        regime_summary,
        write_book,
    )
    from assets.resources import KeelResource

    keel = KeelResource()
    config = keel.config()
    book = load_book(keel.lake(), config)
    if book is None:
        print("no research results yet: run `keel research` (or make demo) first")
        return 1
    page = write_book(keel.lake(), config, book)
    bad = ", ".join(config.regimes.bad)
    print(f"\n{headline_text(book)}")
    print(f"bad regimes: {bad}; intervals: {config.regimes.confidence:.0%} block bootstrap")
    _print("regimes of the window", regime_counts(book))
    _print(f"portfolio weights ({config.portfolio.method})", current_weights(book))
    _print(
        "portfolio backtest (fees charged after netting) beside the sum of its parts",
        performance_frame(book, bars_per_day(config)),
    )
    _print(
        "annual excess return over BTC by regime (excess_bad with its interval)",
        regime_summary(book).drop("bad_bars"),
    )
    from trading.portfolio.book import PORTFOLIO

    for name in [PORTFOLIO, *(strategies or [])]:
        try:
            detail = regime_detail(book.report, name)
        except KeyError as exc:
            print(f"\n{exc.args[0]}")
            continue
        interval = f"{config.regimes.confidence:.0%} intervals"
        _print(f"{name}: per regime, value [{interval}]", detail)
    print(f"\nchart: {page} (under {reports_dir()})")
    return 0
