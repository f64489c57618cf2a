"""Vectorized backtest over bars × instruments.

Timing: the weight decided at the close of bar t is the position held through bar t+1 (no
same-bar look-ahead). Positions are fractions of equity, rebalanced to the target every bar; a
NaN or infinite weight holds nothing, as does a bar in which the instrument did not trade.
Costs, as fractions of equity, are charged in the bar the position changes or is held:
- fees: |Δposition| × the venue's taker fee;
- slippage: |Δposition| × impact × sqrt(|Δposition| × equity / the bar-before's traded value),
  so it grows with order size relative to the venue's liquidity;
- funding: position × the funding rate settled during the bar (longs pay positive funding).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl
from numpy.typing import NDArray

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Market:
    """Aligned matrices, bars × instruments; missing bars are NaN closes."""

    ts: NDArray[np.datetime64]
    instruments: list[tuple[str, str]]  # (venue, symbol)
    close: Array
    quote_volume: Array
    funding: Array  # rate settled during the bar, 0 where none
    taker_fee: Array  # per instrument
    bars_per_year: float

    @cached_property
    def returns(self) -> Array:
        """Per-bar simple returns, 0 where either close is missing (computed once)."""
        out = np.zeros_like(self.close)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[1:] = self.close[1:] / self.close[:-1] - 1.0
        out[~np.isfinite(out)] = 0.0
        return out

    @cached_property
    def missing(self) -> NDArray[np.bool_]:
        """Bars in which an instrument did not trade."""
        return np.isnan(self.close)

    @cached_property
    def liquidity(self) -> Array:
        """Traded value of the bar before, where a trade in this bar is sized against it."""
        out = np.full_like(self.quote_volume, np.inf)
        previous = self.quote_volume[:-1]
        out[1:] = np.where(np.isfinite(previous) & (previous > 0), previous, np.inf)
        return out

    @cached_property
    def inverse_sqrt_liquidity(self) -> Array:
        """1 / sqrt(liquidity), 0 where the bar before traded nothing known."""
        return 1.0 / np.sqrt(self.liquidity)

    @cached_property
    def ones(self) -> Array:
        """Row-sum vector."""
        return np.ones(len(self.taker_fee))

    @cached_property
    def any_missing(self) -> bool:
        """Whether any instrument skipped a bar (a dense market skips the masking pass)."""
        return bool(self.missing.any())

    @cached_property
    def has_funding(self) -> bool:
        """Whether any funding is paid at all (spot-only markets skip the term)."""
        return bool(np.any(self.funding != 0.0))

    def prepare(self) -> None:
        """Compute every cached matrix now (before worker threads share the market)."""
        _ = (self.returns, self.missing, self.any_missing, self.inverse_sqrt_liquidity)
        _ = (self.has_funding, self.ones)


@dataclass(frozen=True, slots=True)
class Result:
    """One backtest: per-bar series and cost breakdown, as fractions of equity."""

    positions: Array  # bars × instruments
    trades: Array  # bars × instruments, Δposition
    gross: Array  # bars: Σ position × return
    fees: Array
    slippage: Array
    funding: Array
    net: Array
    equity: Array  # starts at 1.0 before the first bar
    turnover: Array  # bars: Σ |Δposition|
    exposure: Array  # bars: Σ |position|


def run(market: Market, weights: Array, capital: float, impact: float) -> Result:
    """Backtest one weight matrix (bars × instruments) on ``market``."""
    # Every matrix shares the market's memory layout (column-major when it comes from polars):
    # mixing layouts turns each pass into a strided transpose.
    positions = np.empty_like(market.close)
    positions[0] = 0.0
    positions[1:] = weights[:-1]
    if market.any_missing:
        positions[market.missing] = 0.0  # no position in a bar the instrument did not trade
    with np.errstate(invalid="ignore", over="ignore"):  # non-finite weights: handled below
        result = _run_positions(market, positions, capital, impact)
    # A NaN or inf weight shows in the bar's exposure; checking the outcome spares every
    # all-finite run (the usual case) a pass over the matrix.
    if not np.isfinite(result.exposure).all():
        np.nan_to_num(positions, copy=False, nan=0.0, posinf=0.0, neginf=0.0)  # hold nothing
        result = _run_positions(market, positions, capital, impact)
    return result


def _run_positions(market: Market, positions: Array, capital: float, impact: float) -> Result:
    bars = positions.shape[0]
    trades = np.empty_like(positions)
    trades[0] = positions[0]
    np.subtract(positions[1:], positions[:-1], out=trades[1:])
    size = np.abs(trades)
    # Row sums through einsum: one pass, no temporary, releases the GIL, and (unlike `@`) no
    # BLAS threads that would fight the batch's worker threads for the cores.
    fees = np.einsum("ij,j->i", size, market.taker_fee)
    turnover = np.einsum("ij,j->i", size, market.ones)
    if impact > 0.0:
        scratch = np.sqrt(size)
        scratch *= size
        scratch *= market.inverse_sqrt_liquidity
        slippage = np.einsum("ij,j->i", scratch, market.ones) * (impact * np.sqrt(capital))
    else:
        slippage = np.zeros(bars)
    if market.has_funding:
        funding = np.einsum("ij,ij->i", positions, market.funding)
    else:
        funding = np.zeros(bars)
    gross = np.einsum("ij,ij->i", positions, market.returns)
    np.abs(positions, out=size)  # size is spent: reuse its memory
    exposure = np.einsum("ij,j->i", size, market.ones)
    net = gross - fees - slippage - funding
    equity = np.cumprod(1.0 + net)
    return Result(
        positions, trades, gross, fees, slippage, funding, net, equity, turnover, exposure
    )


def market_from_frames(
    candles: pl.DataFrame,
    funding: pl.DataFrame,
    fees: dict[str, float],
    timeframe_minutes: int,
) -> Market:
    """Pivot long candle and funding frames into aligned matrices."""
    keys = candles.select("venue", "symbol").unique().sort("venue", "symbol")
    instruments = [tuple(r) for r in keys.iter_rows()]
    labels = [f"{v}|{s}" for v, s in instruments]
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
        # The bar that contains the settlement time carries the payment.
        bar_of = pl.col("ts").dt.truncate(f"{timeframe_minutes}m")
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
    return Market(
        ts=ts.get_column("ts").to_numpy(),
        instruments=instruments,  # type: ignore[arg-type]
        close=wide(long, "close", None),
        quote_volume=wide(long, "quote", None),
        funding=funding_matrix,
        taker_fee=np.array([fees.get(v, 0.0) for v, _ in instruments]),
        bars_per_year=365.0 * 24.0 * 60.0 / timeframe_minutes,
    )


def weights_matrix(market: Market, targets: pl.DataFrame) -> Array:
    """A strategy's long target frame as a bars × instruments matrix aligned with ``market``."""
    labels = [f"{v}|{s}" for v, s in market.instruments]
    frame = targets.with_columns(key=pl.concat_str("venue", "symbol", separator="|"))
    pivot = frame.pivot(on="key", index="ts", values="weight", aggregate_function="first")
    ts = pl.DataFrame({"ts": market.ts}).with_columns(pl.col("ts").dt.replace_time_zone("UTC"))
    pivot = ts.join(pivot, on="ts", how="left")
    for label in labels:
        if label not in pivot.columns:
            pivot = pivot.with_columns(pl.lit(0.0).alias(label))
    matrix: Array = np.nan_to_num(pivot.select(labels).to_numpy().astype(np.float64), nan=0.0)
    return matrix
