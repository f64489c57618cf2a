"""``keel paper-replay``: the last N bars of the feature table traded on paper accounts on a
simulated clock, with the same run code as live, then what was traded, the parity check over
every decision, the implementation shortfall and the trading states. The replay keeps its own
journal and paper accounts under ``var/replay`` (fresh each time), never the live journal."""

from __future__ import annotations

import shutil
import time
from typing import Any

import polars as pl

from assets.paths import VAR
from trading.text import counted

_TABLE = {
    "tbl_hide_dataframe_shape": True,
    "tbl_hide_column_data_types": True,
    "tbl_rows": 60,
    "tbl_width_chars": 200,
    "float_precision": 4,
}


def replay_setup(bars: int, strategies: Any = None) -> tuple[Any, Any, list[Any]]:
    """A paper-only set-up over the main lake's features; the bars to replay."""
    from assets.live_run import Setup, SimClock
    from lake import catalog
    from lake.live import LakeJournal, read_window
    from lake.store import Lake
    from trading.config import load_config
    from trading.features.registry import registered_features
    from trading.live.buffered import BufferedJournal
    from trading.live.config import Deployment
    from trading.models.registry import strategy_names

    config = load_config()
    lake = Lake()
    root = VAR / "replay"
    shutil.rmtree(root, ignore_errors=True)
    spec = catalog.features(config.data.research_timeframe, list(registered_features()))
    ts = lake.scan(spec).select(pl.col("ts").unique().sort()).collect()["ts"].to_list()
    chosen = ts[-bars:]
    if not chosen:
        raise SystemExit("the feature table is empty: run `make demo` (or keel backfill) first")
    if strategies is None and not config.live.strategies:
        # No deployments configured: paper-trade every built-in model at default parameters.
        names = [n for n in strategy_names() if "__" not in n]
        strategies = tuple(Deployment(strategy=n, capital=10_000.0) for n in names)
    clock = SimClock(chosen[0])
    journal_lake = Lake(root / "lake")
    setup = Setup(
        config,
        lake,
        journal_lake,
        root / "state",
        clock=clock,
        paper_only=True,
        sleep=lambda _: None,
        strategies=strategies,
        # The replay's journal is its own and fresh each time: nothing to recover after a
        # crash, so its rows are committed once at the end, not ~8 commits per bar.
        journal=BufferedJournal(LakeJournal(journal_lake)),
        # Every bar's feature rows and candles read once (a scan per bar before).
        window=read_window(lake, config.data.research_timeframe, chosen),
    )
    return setup, clock, chosen


def run_paper_replay(bars: int) -> int:
    """Replay, then print the report; non-zero when parity fails."""
    from assets.live import shortfall_table
    from assets.live_run import replay
    from lake import catalog
    from lake.live import LakeJournal
    from trading.features.registry import registered_features
    from trading.live.parity import differences, research_targets

    setup, clock, chosen = replay_setup(bars)
    began = time.perf_counter()
    reports = replay(setup, chosen, clock)
    took = time.perf_counter() - began
    journal = LakeJournal(setup.journal_lake)
    names = sorted({d.strategy for d in setup.deployments()})
    print(
        f"\npaper replay: {counted(len(chosen), 'bar')} ({chosen[0]:%Y-%m-%d %H:%M} .. "
        f"{chosen[-1]:%Y-%m-%d %H:%M} UTC), {counted(len(names), 'strategy', 'strategies')}, "
        f"{took:.1f}s ({took / len(chosen) * 1000:.0f} ms per bar)"
    )
    fills = journal.read("fills").filter(pl.col("origin") == "keel")
    traded = (
        fills.with_columns(
            signed=pl.when(pl.col("side") == "buy").then(1.0).otherwise(-1.0) * pl.col("amount")
        )
        .group_by("venue", "symbol")
        .agg(
            fills=pl.len(),
            bought=pl.col("amount").filter(pl.col("side") == "buy").sum(),
            sold=pl.col("amount").filter(pl.col("side") == "sell").sum(),
            net=pl.col("signed").sum(),
            notional=(pl.col("amount") * pl.col("price")).sum(),
            fees=pl.col("fee").sum(),
        )
        .sort("venue", "symbol")
    )
    per_strategy = (
        journal.read("orders")
        .with_columns(pl.col("strategy").str.split(","))
        .explode("strategy")
        .group_by("strategy")
        .agg(orders=pl.len(), venues=pl.col("venue").unique().sort().str.join(","))
        .sort("strategy")
    )
    denials = journal.read("denials").group_by("reason").len().sort("len", descending=True)
    decisions = journal.read("decisions")
    fspec = catalog.features(setup.config.data.research_timeframe, list(registered_features()))
    version = int(decisions["features_version"][0]) if decisions.height else None
    features = setup.lake.scan(fspec, version=version).collect().sort("venue", "symbol", "ts")
    diffs = differences(decisions, research_targets(features, names, chosen))
    with pl.Config(**_TABLE):  # type: ignore[arg-type]
        print(f"\nwhat was traded ({counted(fills.height, 'fill')}, live/fills):")
        print(traded)
        print("\norders per strategy (live/orders; a netted order counts for each owner):")
        print(per_strategy)
        print("\ndenials by reason:" if denials.height else "\ndenials: none")
        if denials.height:
            print(denials)
        print(
            f"\nparity: {counted(decisions.height, 'decision')} vs research at feature version "
            f"{version}: {counted(diffs.height, 'difference')} -> "
            f"{'PASS' if diffs.is_empty() else 'FAIL'}"
        )
        if diffs.height:
            print(diffs.head(10))
        table = shortfall_table(setup.config, setup.lake, setup.journal_lake)
        print("\nimplementation shortfall (bps, notional-weighted; model = research cost model):")
        print(table.drop("account"))
    refused = [line for r in reports for line in r.refused]
    if refused:
        print("\nrefused:\n  " + "\n  ".join(refused[:5]))
    from orchestration.cli_account import status
    from orchestration.cli_live import state_lines

    print("\nkeel status (the configured venues' accounts, last sync):")
    status()
    print("\n" + "\n".join(state_lines()))
    print(f"journal: {setup.journal_lake.root}/live  (keel why <client order id> reads it too)")
    return 0 if diffs.is_empty() else 1
