"""Execution: the rewards and volume report, per venue and day.

Volume, fees, rebates and points come from the ledger's fills (``account/fills``) when the day
has any on a real venue (``source = fills``); otherwise from the router's plans: every
registered strategy (default parameters, capital from ``[netting]``) decides on each bar of the
day from the feature table, and the plan the live loop would run (netting, routing, rounding,
risk gate) is recorded as if it filled (``source = planned``). What routing saved against the
single cheapest venue always comes from those plans.
"""

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.features import features_key
from assets.market import daily_partitions
from assets.paths import reports_dir
from assets.resources import KeelResource
from trading.config import KeelConfig, SimVenueConfig

EXECUTION_GROUP = "execution"
REWARDS_KEY = AssetKey([EXECUTION_GROUP, "rewards_daily"])
SHOWN = (
    "venue",
    "orders",
    "volume_usd",
    "fees_usd",
    "rebates_usd",
    "points",
    "points_value_usd",
    "volume_30d_usd",
    "next_tier_volume_usd",
    "saved_vs_single_usd",
)


def execution_assets(config: KeelConfig) -> list[AssetsDefinition]:
    """The daily rewards and volume report."""

    @asset(
        key=REWARDS_KEY,
        group_name=EXECUTION_GROUP,
        deps=[AssetDep(features_key(config))],
        partitions_def=daily_partitions(config),
        kinds={"polars", "deltalake"},
        description="Volume, fees, rebates and points per venue and day, 30-day volume against "
        "the next fee tier, and what routing saved against the single cheapest venue "
        "(Delta table execution/rewards_daily; from planned orders until fills are recorded).",
    )
    def rewards_daily(
        context: AssetExecutionContext, keel: KeelResource
    ) -> MaterializeResult[None]:
        from lake import catalog

        day = date.fromisoformat(context.partition_key)
        lake = keel.lake()
        today = report_day(keel, config, day)
        spec = catalog.execution_rewards_daily()
        history = today
        if lake.version(spec) is not None:
            past = (
                lake.scan(spec)
                .filter(pl.col("date") >= day - timedelta(days=29), pl.col("date") < day)
                .collect()
            )
            history = pl.concat([past, today])
        from trading.execution.report import with_tier_progress

        rows = with_tier_progress(history, config.routing).filter(pl.col("date") == day)
        lake.upsert(spec, rows)
        month = lake.scan(spec).filter(pl.col("date") > day - timedelta(days=30)).collect()
        report = _write_chart(month, day)
        total = rows.filter(pl.col("venue") == "all")
        saved = total["saved_vs_single_usd"][0] if total.height else None
        return MaterializeResult(
            metadata={
                "report": MetadataValue.md(_table(rows)),
                "chart": MetadataValue.url(report.as_uri()),
                "chart_path": MetadataValue.path(str(report)),
                "volume_usd": float(total["volume_usd"][0]) if total.height else 0.0,
                "saved_vs_single_usd": float(saved) if saved is not None else 0.0,
                "source": str(rows["source"][0]) if rows.height else "none",
            }
        )

    return [rewards_daily]


def report_day(keel: KeelResource, config: KeelConfig, day: date) -> pl.DataFrame:
    """The report rows of one day (see the module docstring)."""
    from trading.execution.report import daily_rows, trades_from_fills, trades_from_plans

    plans, instruments = plan_day(keel, config, day)
    fills = _fills_of(keel, config, day)
    if fills.height:
        return daily_rows(day, trades_from_fills(fills), config.routing, "fills", plans)
    trades = trades_from_plans(plans, instruments, config.routing)
    return daily_rows(day, trades, config.routing, "planned", plans)


def _fills_of(keel: KeelResource, config: KeelConfig, day: date) -> pl.DataFrame:
    from lake import catalog
    from trading import frames

    lake = keel.lake()
    spec = catalog.account_fills()
    if lake.version(spec) is None:
        return frames.empty(frames.FILLS)
    real = [v.name for v in config.venues if v.kind != "paper"]
    return (
        lake.scan(spec).filter(pl.col("ts").dt.date() == day, pl.col("venue").is_in(real)).collect()
    )


def plan_day(keel: KeelResource, config: KeelConfig, day: date) -> tuple[list[Any], Any]:
    """The router's plan of every bar of the day, and the instruments it routed over."""
    from datetime import UTC, datetime

    from lake import catalog
    from trading.execution.day import market_stats, route_bars, strategy_targets
    from trading.execution.inputs import venue_state
    from trading.features.registry import registered_features
    from trading.models.registry import Strategy, registered_models
    from trading.timeframes import timeframe_delta
    from trading.venues.base import Instrument

    timeframe = config.data.research_timeframe
    bar = timeframe_delta(timeframe)
    lake = keel.lake()
    start = datetime.combine(day, datetime.min.time(), UTC)
    end = start + timedelta(days=1)
    fspec = catalog.features(timeframe, list(registered_features()))
    if lake.version(fspec) is None:
        raise RuntimeError(
            f"{fspec.name} does not exist yet; materialize "
            f"{features_key(config).to_user_string()} for {day} first (e.g. make demo)"
        )
    features = lake.scan(fspec).filter(pl.col("ts") >= start - bar, pl.col("ts") < end).collect()
    candles = (
        lake.scan(catalog.candles(timeframe))
        .filter(pl.col("ts") >= start - timedelta(days=30), pl.col("ts") < end)
        .collect()
    )
    real = {v.name: v for v in config.venues if v.kind != "paper"}  # paper holds no real money
    listed = lake.scan(catalog.instruments()).collect()
    instruments = {
        (r["venue"], r["symbol"]): Instrument(**r)
        for r in listed.to_dicts()
        if r["venue"] in real and r["symbol"] in real[r["venue"]].instruments
    }
    strategies = [Strategy(m, m.params()) for m in registered_models().values()]
    targets = strategy_targets(features, strategies)
    equity = {
        name: sum(v.starting_balances.values()) if isinstance(v, SimVenueConfig) else 0.0
        for name, v in real.items()
    }
    states = {
        name: venue_state(
            name,
            equity_usd=eq,
            gross_exposure_usd=0.0,
            pending_notional_usd=0.0,
            caps=real[name].caps,
            total_equity_usd=sum(equity.values()),
            healthy=True,
        )
        for name, eq in equity.items()
    }
    allocations = config.netting.capital(sorted(set(targets["strategy"].to_list())))
    bars = sorted(set(features.filter(pl.col("ts") >= start - bar)["ts"].to_list()))
    limits = config.risk.model_copy(update={"max_data_age_bars": 10**6})
    plans = route_bars(
        targets,
        candles.filter(pl.col("ts") >= start - bar).select("venue", "symbol", "ts", "close"),
        instruments,
        market_stats(candles, day),
        allocations,
        limits,
        config.routing,
        states,
        bars,
        bar,
    )
    return [p for _, p in plans], instruments


def _table(rows: pl.DataFrame) -> str:
    lines = ["| " + " | ".join(SHOWN) + " |", "|" + "---|" * len(SHOWN)]
    for row in rows.sort("venue").iter_rows(named=True):
        cells = [
            f"{row[c]:,.2f}"
            if isinstance(row[c], float)
            else ("" if row[c] is None else str(row[c]))
            for c in SHOWN
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


def _write_chart(month: pl.DataFrame, day: date) -> Path:
    """An HTML page: stacked daily volume per venue over the last 30 days (SVG), points and
    fees in a table below."""
    folder = reports_dir()
    folder.mkdir(parents=True, exist_ok=True)
    venues = sorted(v for v in set(month["venue"].to_list()) if v != "all")
    days = sorted(set(month["date"].to_list()))
    volume = {(d, v): x for d, v, x in month.select("date", "venue", "volume_usd").iter_rows()}
    top = max([sum(volume.get((d, v), 0.0) for v in venues) for d in days] or [1.0]) or 1.0
    width = max(8, 780 // max(1, len(days)))
    bars = []
    for i, d in enumerate(days):
        y = 300.0
        for j, v in enumerate(venues):
            h = volume.get((d, v), 0.0) / top * 270
            y -= h
            bars.append(
                f"<rect x='{20 + i * width}' y='{y:.1f}' width='{width - 2}' height='{h:.1f}' "
                f"fill='{_COLORS[j % len(_COLORS)]}'><title>{d} {v}: "
                f"{volume.get((d, v), 0.0):,.0f} USD</title></rect>"
            )
    legend = " ".join(
        f"<span style='color:{_COLORS[j % len(_COLORS)]}'>■ {v}</span>"
        for j, v in enumerate(venues)
    )
    html = (
        "<html><head><meta charset='utf-8'><title>rewards and volume</title></head><body>"
        f"<h2>Volume per venue per day (to {day}, max {top:,.0f} USD)</h2><p>{legend}</p>"
        f"<svg width='820' height='310' style='border:1px solid #ccc'>{''.join(bars)}</svg>"
        f"<pre>{month.sort('date', 'venue').select(*SHOWN[:7], 'date')}</pre></body></html>"
    )
    path = folder / "execution_rewards_daily.html"
    path.write_text(html)
    return path
