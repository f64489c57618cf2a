"""Routing benchmark, in one run on the simulated venues of keel.toml:

1. **Cost**: a day (24 hourly bars) of the demo strategies' orders, netted per instrument and
   routed by Keel's router, against all volume on the single cheapest venue and against an
   equal split over the venues that list the instrument. Cost = fees + spread + impact −
   rewards (``trading.costs`` plus the config's tiers and points), and for maker legs the
   expected cost of the maker model (fill probability, adverse selection, urgency). Run twice:
   taker only, and with the router choosing maker or taker per leg (``style = "auto"``); in
   both, each baseline may use the same styles on its venues at best (a fair comparison).
   Goals: at least 20% cheaper than the single venue for parents above 1% of a venue's hourly
   volume; never worse than either baseline.
2. **Speed**: netting + routing + risk (``plan_orders``) for 200 strategies × 30 instruments ×
   3 venues; goal 100 ms, printed as a ratio.

Models still give targets per venue and symbol (moving them to canonical instruments is the
research issue's change); the benchmark takes the mean weight over the venues as the
instrument's target. Baselines ignore venue caps, so the cost run routes without caps.

    .venv/bin/python -m bench.route [--capital 2000000] [--style taker|auto|both]
"""

from __future__ import annotations

import argparse
import math
import random
from datetime import UTC, date, datetime, timedelta

import polars as pl

from bench.timing import best_of
from trading.config import SimVenueConfig, load_config
from trading.execution.config import RoutingConfig, StyleChoice
from trading.execution.day import market_stats, route_bars, strategy_targets
from trading.execution.plan import plan_orders
from trading.execution.quotes import quote, styles
from trading.execution.router import equal_split_cost, route, single_venue_cost
from trading.execution.types import Mark, MarketStat, Snapshot, VenueState
from trading.features.inputs import feature_input
from trading.features.registry import compute_features, registered_features
from trading.models.registry import Strategy, registered_models
from trading.risk.config import RiskConfig
from trading.venues.base import Instrument
from trading.venues.factory import build_venue

DAY = date(2026, 10, 15)
WARMUP_DAYS = 40


def _market_data() -> tuple[pl.DataFrame, pl.DataFrame, dict[tuple[str, str], Instrument]]:
    config = load_config()
    start = datetime.combine(DAY - timedelta(days=WARMUP_DAYS), datetime.min.time(), UTC)
    end = datetime.combine(DAY + timedelta(days=1), datetime.min.time(), UTC)
    candles, funding, instruments = [], [], {}
    for vc in config.venues:
        if not isinstance(vc, SimVenueConfig):
            continue
        venue = build_venue(vc, config)
        for inst in venue.instruments():
            if inst.symbol in vc.instruments:
                instruments[(inst.venue, inst.symbol)] = inst
        for symbol in vc.instruments:
            candles.append(venue.fetch_candles(symbol, "1h", start, end))
            if ":" in symbol:
                funding.append(venue.fetch_funding_rates(symbol, start, end))
    return pl.concat(candles), pl.concat(funding), instruments


def _targets(candles: pl.DataFrame, funding: pl.DataFrame) -> pl.DataFrame:
    """Every registered model at default parameters, per canonical instrument and bar."""
    features = compute_features(
        feature_input(candles, funding, "1h"), registered_features().values()
    )
    day_start = datetime.combine(DAY, datetime.min.time(), UTC)
    recent = features.filter(pl.col("ts") >= day_start - timedelta(hours=1))
    return strategy_targets(recent, [Strategy(m, m.params()) for m in registered_models().values()])


_CACHE: list[tuple[pl.DataFrame, pl.DataFrame, dict[tuple[str, str], Instrument]]] = []


def _market_data_cached() -> tuple[pl.DataFrame, pl.DataFrame, dict[tuple[str, str], Instrument]]:
    if not _CACHE:
        _CACHE.append(_market_data())
    return _CACHE[0]


def cost_run(capital: float, style: StyleChoice) -> None:
    candles, funding, instruments = _market_data_cached()
    targets = _targets(candles, funding)
    stats = market_stats(candles, DAY)
    routing = load_config().routing.model_copy(
        update={"rewards_budget_usd_per_day": math.inf, "style": style}
    )
    venues = {v: VenueState(v, 1e9, 0.0) for v, _ in instruments}
    strategies = sorted(set(targets["strategy"].to_list()))
    bars = sorted(set(targets["ts"].to_list()))
    plans = route_bars(
        targets,
        candles.filter(pl.col("ts") >= bars[0]).select("venue", "symbol", "ts", "close"),
        instruments,
        stats,
        dict.fromkeys(strategies, capital),
        RiskConfig(),
        routing,
        venues,
        bars,
        timedelta(hours=1),
    )
    hourly: dict[str, float] = {}
    listed: dict[str, int] = {}
    for (_, s), st in stats.items():
        hourly[s] = max(hourly.get(s, 0.0), st.bar_volume_usd)
        listed[s] = listed.get(s, 0) + 1
    parents = [
        plan.parents.with_columns(
            share=pl.col("notional_usd") / pl.col("instrument").replace_strict(hourly),
            venues=pl.col("instrument").replace_strict(listed, return_dtype=pl.Int64),
        )
        for _, plan in plans
    ]
    every = pl.concat(parents)
    frame = every.filter(pl.col("notional_usd") > 0.0)
    unrouted = float(every["unrouted_usd"].sum())
    print(
        f"\nstyle {style}; day {DAY}: {frame.height} parent orders routed from "
        f"{len(strategies)} strategies, "
        f"capital {capital:,.0f} USD each; {unrouted:,.0f} USD no venue could take "
        "(spot sales of assets not held)"
    )
    print(
        f"{'parents':<28}{'n':>5}{'routed':>12}{'single':>12}{'equal':>12}"
        f"{'vs single':>11}{'vs equal':>10}"
    )
    multi = frame.filter(pl.col("venues") > 1)
    buckets = (
        ("all", frame),
        ("listed on 2+ venues", multi),
        ("2+ venues, > 0.1% hourly", multi.filter(pl.col("share") > 0.001)),
        ("2+ venues, > 1% hourly vol", multi.filter(pl.col("share") > 0.01)),
    )
    for label, part in buckets:
        if not part.height:
            continue
        routed, single, equal = (
            float(part[c].sum())
            for c in ("routed_cost_usd", "single_venue_cost_usd", "equal_split_cost_usd")
        )
        print(
            f"{label:<28}{part.height:>5}{routed:>12.2f}{single:>12.2f}{equal:>12.2f}"
            f"{1 - routed / single:>10.1%}{1 - routed / equal:>10.1%}"
        )
    worse_single = frame.filter(pl.col("routed_cost_usd") > pl.col("single_venue_cost_usd") + 1e-9)
    worse_equal = frame.filter(pl.col("routed_cost_usd") > pl.col("equal_split_cost_usd") + 1e-9)
    bound = pl.col("unrouted_usd") > 1e-6
    print(
        f"parents costlier than the single venue: {worse_single.height} "
        f"({worse_single.filter(bound).height} of them held back by a venue's capacity, e.g. a "
        f"spot sale of what one venue holds, which the baselines ignore); "
        f"than the equal split: {worse_equal.height} ({worse_equal.filter(bound).height})"
    )


def size_sweep(style: StyleChoice, symbol: str = "BTC/USDT:USDT") -> None:
    """One parent on the three venues listing ``symbol``, from 0.1% to 200% of the deepest
    venue's hourly volume: net cost in bps of the routed split and of both baselines."""
    candles, _, instruments = _market_data_cached()
    stats = market_stats(candles, DAY)
    routing = load_config().routing.model_copy(update={"style": style})
    markets = sorted((i for (_, s), i in instruments.items() if s == symbol), key=lambda i: i.venue)
    quotes = [
        quote(m, stats[(m.venue, symbol)], routing, st, math.inf)
        for m in markets
        for st in styles(routing)
    ]
    hourly = max(stats[(m.venue, symbol)].bar_volume_usd for m in markets)
    print(
        f"\nstyle {style}: one parent of {symbol} on {', '.join(m.venue for m in markets)} "
        "(net cost, bps; maker share of the routed USD)"
    )
    print(
        f"{'% of hourly vol':>16}{'USD':>14}{'routed':>9}{'single':>9}{'equal':>9}"
        f"{'vs single':>11}{'vs equal':>10}{'maker':>8}"
    )
    for share in (0.001, 0.01, 0.05, 0.1, 0.5, 1.0, 2.0):
        total = share * hourly
        split = route(quotes, total, routing.impact_weight, routing.rewards_weight)
        routed = split.cash_usd - split.rewards_usd
        single, equal = single_venue_cost(quotes, total), equal_split_cost(quotes, total)
        maker = sum(
            x for x, s in zip(split.notional_usd, split.styles, strict=True) if s == "maker"
        )
        print(
            f"{share:>16.1%}{total:>14,.0f}{routed / total * 1e4:>9.2f}"
            f"{single / total * 1e4:>9.2f}{equal / total * 1e4:>9.2f}"
            f"{1 - routed / single:>10.1%}{1 - routed / equal:>10.1%}{maker / total:>8.0%}"
        )


def speed_run(
    n_strategies: int = 200,
    n_instruments: int = 30,
    n_venues: int = 3,
    style: StyleChoice = "taker",
) -> None:
    rng = random.Random(5)
    now = datetime(2026, 11, 2, 10, tzinfo=UTC)
    venues = [f"v{i}" for i in range(n_venues)]
    symbols = [f"C{i}/USDT:USDT" for i in range(n_instruments)]
    instruments = {
        (v, s): Instrument(
            v,
            s,
            s[: s.index("/")],
            "USDT",
            "USDT",
            "swap",
            1.0,
            0.01,
            0.001,
            0.001,
            5.0,
            0.0002,
            0.0005,
        )
        for v in venues
        for s in symbols
    }
    stats = {k: MarketStat(rng.uniform(1e7, 1e9), 0.03, rng.uniform(1e5, 1e7)) for k in instruments}
    marks = {k: Mark(100.0 + i % 7, now) for i, k in enumerate(instruments)}
    positions = {k: rng.uniform(-50, 50) for k in instruments}
    states = {v: VenueState(v, 1e7, 1e6, 0.0, 5e7) for v in venues}
    snap = Snapshot(now, now, positions, states, marks)
    rows = [
        (f"s{i}", s, None if rng.random() < 0.1 else rng.uniform(-1, 1))
        for i in range(n_strategies)
        for s in symbols
    ]
    targets = pl.DataFrame(
        rows,
        schema={"strategy": pl.String, "instrument": pl.String, "weight": pl.Float64},
        orient="row",
    )
    allocations = {f"s{i}": 1e4 for i in range(n_strategies)}
    limits = RiskConfig(
        max_order_notional_usd=1e6,
        max_gross_exposure_usd=1e9,
        max_strategy_gross_usd=1e6,
        price_collar_bps=500,
    )
    config = RoutingConfig(style=style)

    def run() -> object:
        return plan_orders(targets, allocations, snap, instruments, stats, limits, config)

    plan = run()
    seconds = best_of(5, run)
    print(
        f"plan_orders ({style}), {n_strategies} strategies × {n_instruments} instruments × "
        f"{n_venues} venues: {seconds * 1e3:.1f} ms ({len(plan.orders)} orders), "  # type: ignore[attr-defined]
        f"{seconds / 0.1:.2f}x the 100 ms goal"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--capital",
        type=float,
        default=2_000_000.0,
        help="USD capital per strategy (sets parent sizes)",
    )
    parser.add_argument(
        "--style",
        choices=["taker", "auto", "both"],
        default="both",
        help="execution styles the router (and the baselines) may use",
    )
    args = parser.parse_args()
    chosen: list[StyleChoice] = ["taker", "auto"] if args.style == "both" else [args.style]
    for style in chosen:
        cost_run(args.capital, style)
    for style in chosen:
        size_sweep(style)
    speed_run()
    speed_run(style="auto")


if __name__ == "__main__":
    main()
