"""What the ideas, portfolio and regime assets read from the lake, in one place: research
returns and positions per strategy, BTC's closes on the same bars, the portfolio's members.

Research results may gain columns (runs kept per run, walk-forward windows); only these
functions know the tables' shape, so adapting to them is a change here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from lake import catalog
from lake.ideas import IdeaBook
from lake.research_trades import read_trades
from lake.store import Lake
from trading.backtest.setup import regime_benchmark
from trading.config import KeelConfig
from trading.ideas.evidence import research_evidence, trailing_mask
from trading.ideas.gates import ResearchEvidence
from trading.portfolio.allocation import allocate
from trading.portfolio.book import Book, analyse
from trading.regimes.labels import bad_bars, simple_returns
from trading.timeframes import timeframe_minutes

Array = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Returns:
    """Research net returns of many strategies on one grid of bars."""

    ts: pl.Series
    names: list[str]
    matrix: Array  # bars × strategies, 0 where a strategy has no bar


def research_returns(lake: Lake, strategies: Sequence[str] | None = None) -> Returns:
    """Per-bar net returns of the latest research result of each strategy."""
    scan = lake.scan(catalog.research_equity()).select("strategy", "ts", "net_return")
    if strategies is not None:
        scan = scan.filter(pl.col("strategy").is_in(list(strategies)))
    long = scan.collect()
    if long.is_empty():
        return Returns(pl.Series("ts", [], dtype=pl.Datetime("us", "UTC")), [], np.zeros((0, 0)))
    # Scatter into a bars × strategies matrix by index (a pivot of millions of rows is slower).
    ts = long["ts"].unique().sort()
    names = sorted(long["strategy"].unique().to_list())
    rows = np.searchsorted(ts.to_numpy(), long["ts"].to_numpy())
    columns = long["strategy"].replace_strict(
        {n: i for i, n in enumerate(names)}, return_dtype=pl.Int64
    )
    matrix = np.zeros((len(ts), len(names)))
    values = long["net_return"].fill_null(0.0).fill_nan(0.0).to_numpy()
    matrix[rows, columns.to_numpy()] = values
    return Returns(ts, names, matrix)


def benchmark_close(lake: Lake, config: KeelConfig, ts: pl.Series) -> Array:
    """The benchmark's (BTC's) closes on the bars ``ts`` (NaN where it has none)."""
    venue, symbol = regime_benchmark(config)
    if ts.is_empty():
        return np.zeros(0)
    closes = (
        lake.scan(catalog.candles(config.data.research_timeframe))
        .filter(
            pl.col("venue") == venue,
            pl.col("symbol") == symbol,
            pl.col("ts") >= ts.min(),
            pl.col("ts") <= ts.max(),
        )
        .select("ts", "close")
        .collect()
    )
    aligned = pl.DataFrame({"ts": ts}).join(closes, on="ts", how="left")
    return aligned["close"].fill_null(np.nan).to_numpy().astype(np.float64)


def positions_of(
    lake: Lake, config: KeelConfig, ts: pl.Series, strategies: Sequence[str]
) -> tuple[Callable[[str], Array], Array]:
    """A reader of each strategy's positions (bars × instruments, from its research trades,
    held until the next trade; older lakes' per-trade table read the same) and the taker fee
    of each instrument."""
    trades = read_trades(lake, strategies).select(
        "strategy",
        pl.concat_str("venue", "symbol", separator="|").alias("key"),
        "ts",
        "position",
    )
    keys = sorted(trades["key"].unique().to_list())
    # The fee research charges (a venue without its own fee, e.g. paper, takes the default).
    fees = {v.name: float(getattr(v, "taker_fee", None) or 0.0005) for v in config.venues}
    fee = np.array([fees.get(k.split("|")[0], 0.0) for k in keys])
    grid = ts.to_numpy()
    column_of = {k: i for i, k in enumerate(keys)}
    by_strategy = trades.partition_by("strategy", as_dict=True, include_key=False)

    def read(name: str) -> Array:
        """Positions set at each trade's bar, carried forward until the next trade."""
        out = np.full((len(grid), len(keys)), np.nan)
        own = by_strategy.get((name,))
        if own is not None and not own.is_empty():
            rows = np.searchsorted(grid, own["ts"].to_numpy())
            inside = rows < len(grid)
            inside[inside] &= grid[rows[inside]] == own["ts"].to_numpy()[inside]
            cols = np.array([column_of[k] for k in own["key"].to_list()], dtype=np.int64)
            out[rows[inside], cols[inside]] = own["position"].to_numpy()[inside]
        index = np.where(np.isnan(out), 0, np.arange(len(grid))[:, None])
        np.maximum.accumulate(index, axis=0, out=index)
        filled = np.take_along_axis(out, index, axis=0)
        return np.asarray(np.nan_to_num(filled, nan=0.0), dtype=np.float64)

    return read, fee


def load_book(
    lake: Lake, config: KeelConfig, strategies: Sequence[str] | None = None
) -> Book | None:
    """The portfolio and regime analysis over the researched ``strategies`` (default: every
    registered one; results of a model file since deleted are left out), with the paper and
    live strategies as the portfolio; None before any research result exists."""
    if strategies is None:
        from trading.models.registry import strategy_names

        strategies = strategy_names()
    returns = research_returns(lake, strategies)
    if not returns.names:
        return None
    chosen = [m for m in members(lake) if m in returns.names]
    bars_per_day = 24 * 60 / timeframe_minutes(config.data.research_timeframe)
    close = benchmark_close(lake, config, returns.ts)
    read, fee = positions_of(lake, config, returns.ts, chosen)
    return analyse(
        returns.ts,
        returns.names,
        returns.matrix,
        chosen,
        close,
        bars_per_day,
        config.regimes,
        config.portfolio,
        read,
        fee,
    )


def latest_result(lake: Lake, strategy: str) -> dict[str, Any]:
    """The newest research/metrics row of a strategy (the table keeps one per run where runs
    are recorded with ``recorded_at``); empty when it has none."""
    rows = lake.scan(catalog.research_metrics()).filter(pl.col("strategy") == strategy).collect()
    if rows.is_empty():
        return {}
    if "recorded_at" in rows.columns:
        rows = rows.sort("recorded_at", nulls_last=False)
    return dict(rows.row(-1, named=True))


def members(lake: Lake) -> list[str]:
    """The portfolio's strategies: those of ideas in paper or live."""
    return sorted({d.strategy for d in IdeaBook(lake).deployments()})


def evidence_for(lake: Lake, config: KeelConfig, strategy: str) -> ResearchEvidence | None:
    """The research → paper gate's evidence for one strategy from its latest research result,
    against the current portfolio without it (its other members, allocated over the window);
    None when the strategy has no result. Reads only that strategy and the members."""
    others = [m for m in members(lake) if m != strategy]
    returns = research_returns(lake, [strategy, *others])
    if strategy not in returns.names:
        return None
    per_day = 24 * 60 / timeframe_minutes(config.data.research_timeframe)
    close = benchmark_close(lake, config, returns.ts)
    present = [m for m in others if m in returns.names]
    portfolio = None
    if present:
        member_returns = returns.matrix[:, [returns.names.index(m) for m in present]]
        portfolio = member_returns @ allocate(
            member_returns, config.portfolio.method, config.portfolio.max_weight
        )
    own = returns.matrix[:, returns.names.index(strategy)]
    latest = latest_result(lake, strategy)
    oos_start, window_end = latest.get("oos_start"), latest.get("window_end")
    if oos_start is not None and window_end is not None and oos_start < window_end:
        out_of_sample = (returns.ts >= oos_start).to_numpy()  # research's walk-forward bars
    else:
        out_of_sample = trailing_mask(len(own), config.ideas.research_gate.oos_fraction)
    return research_evidence(
        str(latest.get("run_id") or "unknown"),
        own,
        out_of_sample,
        portfolio,
        simple_returns(close),
        bad_bars(close, per_day, config.regimes),
        per_day,
    )
