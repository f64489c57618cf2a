"""Write-time pandera schemas: types and meaning (OHLC ordering, positive prices, aligned
timestamps, unique keys). A frame that fails any check is rejected whole before writing."""

from __future__ import annotations

from collections.abc import Mapping

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from trading import frames
from trading.timeframes import utc_now

MAX_ABS_FUNDING = 0.05  # 5% per interval: far beyond any exchange cap, so only garbage fails


def _columns(
    layout: Mapping[str, pl.DataType], nullable: frozenset[str] = frozenset()
) -> dict[str, pa.Column]:
    return {name: pa.Column(dtype, nullable=name in nullable) for name, dtype in layout.items()}


def _frame_check(expr: pl.Expr, message: str) -> pa.Check:
    def check(data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(expr.fill_null(False))

    return pa.Check(check, name=message, error=message)


def _ts_not_in_future() -> pa.Check:
    def check(data: PolarsData) -> pl.LazyFrame:
        # "now" is read at validation time: schemas are cached for the life of the process.
        return data.lazyframe.select(pl.col("ts") <= pl.lit(utc_now()))

    return pa.Check(check, name="ts is not in the future", error="ts is not in the future")


def candles_schema(timeframe: str, minutes: int) -> pa.DataFrameSchema:
    """Candles of one timeframe."""
    columns = _columns(frames.CANDLES)
    for price in ("open", "high", "low", "close"):
        columns[price] = pa.Column(pl.Float64, [pa.Check.gt(0), pa.Check(_finite, name="finite")])
    columns["volume"] = pa.Column(pl.Float64, [pa.Check.ge(0), pa.Check(_finite, name="finite")])
    columns["timeframe"] = pa.Column(pl.String, pa.Check.eq(timeframe))
    step_us = minutes * 60_000_000
    return pa.DataFrameSchema(
        columns,
        checks=[
            _frame_check(
                (pl.col("high") >= pl.max_horizontal("open", "close"))
                & (pl.col("low") <= pl.min_horizontal("open", "close")),
                "low <= open, close <= high",
            ),
            _frame_check(
                pl.col("ts").dt.epoch("us") % step_us == 0,
                f"ts aligned to the {timeframe} grid",
            ),
            _frame_check(pl.col("date") == pl.col("ts").dt.date(), "date is the UTC day of ts"),
            _ts_not_in_future(),
        ],
        unique=list(frames.CANDLES_KEY),
        strict=True,
        name=f"candles_{timeframe}",
    )


def funding_rates_schema() -> pa.DataFrameSchema:
    """Funding settlements of perpetual swaps."""
    columns = _columns(frames.FUNDING_RATES)
    columns["funding_rate"] = pa.Column(
        pl.Float64, pa.Check.in_range(-MAX_ABS_FUNDING, MAX_ABS_FUNDING)
    )
    columns["mark_price"] = pa.Column(pl.Float64, pa.Check.gt(0), nullable=True)
    return pa.DataFrameSchema(
        columns,
        checks=[
            _frame_check(pl.col("date") == pl.col("ts").dt.date(), "date is the UTC day of ts"),
            _ts_not_in_future(),
        ],
        unique=list(frames.FUNDING_RATES_KEY),
        strict=True,
        name="funding_rates",
    )


def _finite(data: PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col(data.key).is_finite())
