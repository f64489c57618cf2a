"""Write-time rules of every table: types and meaning (OHLC ordering, positive prices, aligned
timestamps, unique keys).

Each rule is one polars expression, true on a valid row. The same rules build two things:
- a one-pass check (every rule in one ``select``) that runs on every write, and
- the pandera schema (``pandera.polars``), run only when the one-pass check finds a problem,
  to report which rows broke which rule.
So the fast path and the pandera report can never disagree about what is valid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from trading.timeframes import utc_now

if TYPE_CHECKING:
    import pandera.polars as pa

MAX_ABS_FUNDING = 0.05  # 5% per interval: far beyond any exchange cap, so only garbage fails


@dataclass(frozen=True, slots=True)
class Rule:
    """A named row-level condition; a null result counts as a failure."""

    name: str
    expr: pl.Expr


def _positive_finite(*columns: str) -> list[Rule]:
    return [Rule(f"{c} > 0 and finite", (pl.col(c) > 0) & pl.col(c).is_finite()) for c in columns]


def _not_in_future() -> Rule:
    # "now" is read when the rules are built, i.e. at every validation.
    return Rule("ts is not in the future", pl.col("ts") <= pl.lit(utc_now()))


def _date_of_ts() -> Rule:
    return Rule("date is the UTC day of ts", pl.col("date") == pl.col("ts").dt.date())


def candles_rules(timeframe: str, minutes: int) -> list[Rule]:
    """Candles of one timeframe."""
    step_us = minutes * 60_000_000
    return [
        *_positive_finite("open", "high", "low", "close"),
        Rule("volume >= 0 and finite", (pl.col("volume") >= 0) & pl.col("volume").is_finite()),
        Rule(
            "low <= open, close <= high",
            (pl.col("high") >= pl.max_horizontal("open", "close"))
            & (pl.col("low") <= pl.min_horizontal("open", "close")),
        ),
        Rule(f"timeframe is {timeframe}", pl.col("timeframe") == timeframe),
        Rule(f"ts aligned to the {timeframe} grid", pl.col("ts").dt.epoch("us") % step_us == 0),
        _date_of_ts(),
        _not_in_future(),
    ]


def funding_rates_rules() -> list[Rule]:
    """Funding settlements of perpetual swaps."""
    return [
        Rule(
            f"|funding_rate| <= {MAX_ABS_FUNDING}",
            pl.col("funding_rate").is_finite() & (pl.col("funding_rate").abs() <= MAX_ABS_FUNDING),
        ),
        Rule(
            "mark_price > 0 when known", pl.col("mark_price").is_null() | (pl.col("mark_price") > 0)
        ),
        _date_of_ts(),
        _not_in_future(),
    ]


def failing_rules(df: pl.DataFrame, rules: Sequence[Rule], key: Sequence[str]) -> list[str]:
    """Names of the rules (and the key's uniqueness, unless ``key`` is empty) that some row
    breaks, in one pass."""
    if df.is_empty() or not (rules or key):
        return []
    verdict = df.select(
        *[r.expr.fill_null(False).all().alias(f"r{i}") for i, r in enumerate(rules)],
        *([(~pl.struct(list(key)).is_duplicated().any()).alias("unique")] if key else []),
    ).row(0)
    names = [r.name for r in rules] + ([f"unique {tuple(key)}"] if key else [])
    return [name for name, ok in zip(names, verdict, strict=True) if not ok]


def pandera_schema(
    name: str,
    layout: Mapping[str, pl.DataType],
    rules: Sequence[Rule],
    key: Sequence[str],
    nullable: frozenset[str] = frozenset(),
) -> pa.DataFrameSchema:
    """The pandera schema equivalent to ``layout`` + ``rules`` + a unique ``key``."""
    import pandera.polars as pa
    from pandera.api.polars.types import PolarsData

    def check(rule: Rule) -> pa.Check:
        def run(data: PolarsData) -> pl.LazyFrame:
            return data.lazyframe.select(rule.expr.fill_null(False))

        return pa.Check(run, name=rule.name, error=rule.name)

    return pa.DataFrameSchema(
        {c: pa.Column(t, nullable=c in nullable) for c, t in layout.items()},
        checks=[check(r) for r in rules],
        unique=list(key),
        strict=True,
        name=name,
    )


def instruments_rules() -> list[Rule]:
    """Markets: precision, limits and fees as the venue reports them."""
    return [
        Rule("kind is spot or swap", pl.col("kind").is_in(["spot", "swap"])),
        Rule("contract_size > 0", pl.col("contract_size") > 0),
        Rule(
            "steps and minimums >= 0",
            pl.min_horizontal("price_step", "amount_step", "min_amount", "min_notional") >= 0,
        ),
        Rule(
            "fees within [-1%, 5%]",
            pl.col("maker_fee").is_between(-0.01, 0.05)
            & pl.col("taker_fee").is_between(-0.01, 0.05),
        ),
    ]


def feature_rules(names: Sequence[str]) -> list[Rule]:
    """Features: finite where present (null during warm-up), dated by their bar."""
    finite = [
        Rule(f"{n} is finite or null", pl.col(n).is_null() | pl.col(n).is_finite()) for n in names
    ]
    return [*finite, _date_of_ts(), _not_in_future()]


def rewards_rules() -> list[Rule]:
    """The rewards and volume report: amounts are non-negative and finite."""
    amounts = ("volume_usd", "fees_usd", "rebates_usd", "points", "points_value_usd")
    return [Rule(f"{c} >= 0 and finite", (pl.col(c) >= 0) & pl.col(c).is_finite()) for c in amounts]
