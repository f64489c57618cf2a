"""Build a backtest ``Market`` from the lake's long frames, and align targets with it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl
from numpy.typing import NDArray

from trading.backtest.market import Array, Market, costs_of
from trading.costs import VenueCosts

PAR = ("USDT", "USD", "USDC")


def market_from_frames(
    candles: pl.DataFrame,
    funding: pl.DataFrame,
    venue_costs: Mapping[str, VenueCosts],
    timeframe_minutes: int,
    *,
    instruments: pl.DataFrame | None = None,
    account: str = "USDT",
    par: Sequence[str] = PAR,
    borrow_rate: float = 0.0,
    liquidity_days: float = 30.0,
) -> Market:
    """Pivot long candle and funding frames into aligned matrices. ``instruments`` (rows of
    ``market/instruments``) supplies fees, minimums and quote currencies; pairs quoted in
    another currency than the account's are converted at that currency's own close."""
    keys = candles.select("venue", "symbol").unique().sort("venue", "symbol")
    listed: list[tuple[str, str]] = [(str(v), str(s)) for v, s in keys.iter_rows()]
    labels = [f"{v}|{s}" for v, s in listed]
    long = candles.with_columns(
        key=pl.concat_str("venue", "symbol", separator="|"),
        quote=pl.col("close") * pl.col("volume"),
    )
    ts = long.select(pl.col("ts").unique().sort())

    def wide(frame: pl.DataFrame, column: str, fill: float | None) -> Array:
        pivot = frame.pivot(on="key", index="ts", values=column, aggregate_function="first")
        pivot = ts.join(pivot, on="ts", how="left")
        for label in labels:
            if label not in pivot.columns:
                pivot = pivot.with_columns(pl.lit(None, dtype=pl.Float64).alias(label))
        matrix = pivot.select(labels).to_numpy().astype(np.float64)
        return matrix if fill is None else np.nan_to_num(matrix, nan=fill)

    settled = pl.DataFrame()
    if not funding.is_empty():
        # A settlement at time s is paid by the position held through the bar that closes at
        # (or first after) s: the bar whose close is also the first to show the rate.
        bar_of = (pl.col("ts") - pl.duration(microseconds=1)).dt.truncate(f"{timeframe_minutes}m")
        settled = (
            funding.with_columns(ts=bar_of, key=pl.concat_str("venue", "symbol", separator="|"))
            .group_by("ts", "key")
            .agg(pl.col("funding_rate").sum())
        )
    funding_matrix = (
        wide(settled, "funding_rate", 0.0)
        if not settled.is_empty()
        else np.zeros((ts.height, len(labels)))
    )
    table = {}
    if instruments is not None and not instruments.is_empty():
        table = {(r["venue"], r["symbol"]): r for r in instruments.iter_rows(named=True)}
    close = wide(long, "close", None)
    opened = wide(long, "open", None) if "open" in long.columns else None
    quotes = [_quote(symbol, table.get((venue, symbol))) for venue, symbol in listed]
    rate = np.ones_like(close)
    for i, quote in enumerate(quotes):
        if quote not in par and quote != account:
            rate[:, i] = _conversion(quote, account, par, listed, close, listed[i])
    return Market(
        ts=ts.get_column("ts").to_numpy(),
        instruments=listed,
        close=close,
        quote_volume=wide(long, "quote", None),
        funding=funding_matrix,
        costs=costs_of(listed, venue_costs, table),
        bars_per_year=365.0 * 24.0 * 60.0 / timeframe_minutes,
        quote_rate=rate,
        borrow_rate=borrow_rate,
        liquidity_days=liquidity_days,
        open=opened,
    )


def _quote(symbol: str, row: Mapping[str, object] | None) -> str:
    if row is not None and row.get("quote"):
        return str(row["quote"])
    return symbol.partition("/")[2].partition(":")[0]


def _conversion(
    quote: str,
    account: str,
    par: Sequence[str],
    listed: Sequence[tuple[str, str]],
    close: Array,
    who: tuple[str, str],
) -> Array:
    """The account-currency price of ``quote`` at every bar, carried forward over gaps."""
    wanted = [f"{quote}/{c}" for c in (account, *par)]
    for pair in wanted:
        for j, (_, symbol) in enumerate(listed):
            if symbol == pair:
                column = close[:, j].copy()
                for t in range(1, len(column)):
                    if np.isnan(column[t]):
                        column[t] = column[t - 1]
                return column
    raise ValueError(
        f"{who[0]} {who[1]} is quoted in {quote} but capital is in {account} and no "
        f"{' or '.join(wanted[:2])} candles are loaded to convert it; add such a pair to a "
        "venue's instruments in keel.toml"
    )


def weights_matrix(market: Market, targets: pl.DataFrame) -> Array:
    """A strategy's venue-pinned target frame as a bars × instruments matrix aligned with
    ``market``; a null weight, or an instrument or bar without a target, is no signal (NaN:
    the engine holds the position). Venue-neutral targets go through ``plan_targets``."""
    labels = [f"{v}|{s}" for v, s in market.instruments]
    frame = targets.with_columns(key=pl.concat_str("venue", "symbol", separator="|"))
    pivot = frame.pivot(on="key", index="ts", values="weight", aggregate_function="first")
    ts = pl.DataFrame({"ts": market.ts}).with_columns(pl.col("ts").dt.replace_time_zone("UTC"))
    pivot = ts.join(pivot, on="ts", how="left")
    for label in labels:
        if label not in pivot.columns:
            pivot = pivot.with_columns(pl.lit(None, dtype=pl.Float64).alias(label))
    matrix: Array = pivot.select(labels).to_numpy().astype(np.float64)
    return matrix


def row_index(market: Market, frame: pl.DataFrame) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """For each row of a (venue, symbol, ts) frame, its bar and column in ``market`` (-1 where
    the market lacks it): computed once per run, it turns every strategy's targets into a
    matrix by a scatter instead of a pivot."""
    columns = pl.DataFrame(
        {
            "venue": [v for v, _ in market.instruments],
            "symbol": [s for _, s in market.instruments],
            "_column": np.arange(len(market.instruments), dtype=np.int64),
        },
        schema={"venue": pl.String, "symbol": pl.String, "_column": pl.Int64},
    )
    bars = pl.DataFrame(
        {"ts": market.ts, "_bar": np.arange(len(market.ts), dtype=np.int64)}
    ).with_columns(pl.col("ts").dt.replace_time_zone("UTC"))
    keyed = (
        frame.select("venue", "symbol", "ts")
        .with_row_index("_row")
        .join(columns, on=["venue", "symbol"], how="left")
        .join(bars, on="ts", how="left")
        .sort("_row")
    )
    bar = keyed["_bar"].fill_null(-1).to_numpy().astype(np.int64)
    column = keyed["_column"].fill_null(-1).to_numpy().astype(np.int64)
    return bar, column


def aligned_weights(
    market: Market,
    index: tuple[NDArray[np.int64], NDArray[np.int64]],
    frame: pl.DataFrame,
    targets: pl.DataFrame,
) -> Array:
    """``weights_matrix`` for targets row-aligned with ``frame`` (same venue, symbol and ts in
    the same order, as a model that maps features row by row returns them) by a scatter;
    any other targets go through the pivot."""
    aligned = targets.height == frame.height and all(
        targets[c].equals(frame[c]) for c in ("ts", "symbol", "venue")
    )
    if not aligned:
        return weights_matrix(market, targets)
    bar, column = index
    keep = (bar >= 0) & (column >= 0)
    matrix = np.full(market.close.shape, np.nan)  # no target: no signal, held
    values = targets["weight"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    matrix[bar[keep], column[keep]] = values[keep]
    return matrix


def plan_targets(market: Market, targets: pl.DataFrame) -> tuple[Array, NDArray[np.int64]]:
    """A strategy's targets as a bars × targets matrix, and the market columns each target is
    held on: a row with a ``venue`` pins its leg to that venue's column; a row without one
    (null venue) is venue-neutral, one exposure held on every venue listing the symbol. A null
    or NaN weight is no signal (NaN: the engine holds the position); an instrument the market
    lacks is left out."""
    frame = targets if "venue" in targets.columns else targets.with_columns(venue=pl.lit(None))
    frame = frame.with_columns(pl.col("venue").cast(pl.String))
    index = {key: i for i, key in enumerate(market.instruments)}
    venues_of: dict[str, list[int]] = {}
    for i, (_, symbol) in enumerate(market.instruments):
        venues_of.setdefault(symbol, []).append(i)
    keys = frame.select("venue", "symbol").unique().sort("symbol", "venue", nulls_last=True)
    neutral = set(keys.filter(pl.col("venue").is_null())["symbol"].to_list())
    pinned = set(keys.filter(pl.col("venue").is_not_null())["symbol"].to_list())
    both = sorted(neutral & pinned)
    if both:
        raise ValueError(
            f"targets for {both[:3]} are both venue-neutral and pinned to a venue; give each "
            "instrument either one venue-neutral target or venue-pinned legs"
        )
    labels: list[str] = []
    links: list[list[int]] = []
    for venue, symbol in keys.iter_rows():
        columns = venues_of.get(symbol, []) if venue is None else [index[(venue, symbol)]]
        if venue is not None and (venue, symbol) not in index:
            continue
        if columns:
            labels.append(f"{venue or '*'}|{symbol}")
            links.append(columns)
    width = max((len(c) for c in links), default=1)
    groups = np.full((len(links), width), -1, dtype=np.int64)
    for k, columns in enumerate(links):
        groups[k, : len(columns)] = columns
    keyed = frame.with_columns(
        key=pl.concat_str(pl.col("venue").fill_null("*"), "symbol", separator="|"),
        weight=pl.col("weight").cast(pl.Float64),
    ).filter(pl.col("key").is_in(labels))
    ts = pl.DataFrame({"ts": market.ts}).with_columns(pl.col("ts").dt.replace_time_zone("UTC"))
    if not labels:
        return np.zeros((len(market.ts), 0)), groups
    pivot = keyed.pivot(on="key", index="ts", values="weight", aggregate_function="first")
    pivot = ts.join(pivot, on="ts", how="left")
    for label in labels:
        if label not in pivot.columns:
            pivot = pivot.with_columns(pl.lit(None, dtype=pl.Float64).alias(label))
    matrix: Array = pivot.select(labels).to_numpy().astype(np.float64)  # NaN: no signal
    return matrix, groups
