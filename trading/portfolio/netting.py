"""Net targets: the wishes of every strategy combined into one target per instrument.

Each strategy says, per canonical instrument (the ccxt unified symbol, e.g. ``BTC/USDT:USDT``,
the same on every venue), a weight in [-1, 1] of its capital, or null for "no signal". Opposite
wishes net out before anything is routed, so two models that disagree cost nothing. What each
strategy owns of the net position, and of the costs of getting there, is kept as attribution.

No signal is not zero: a strategy without a signal keeps what it held (its previous attributed
notional, when given); an instrument on which nobody has a signal gets no target, so nothing
trades it.

Pinned legs: targets may carry a ``venue`` column. A row with a venue is a leg pinned to that
venue (a cross-venue basis model); pinned legs net with the other strategies' legs on the same
instrument and venue, apart from the venue-neutral target (venue null), and each such
(instrument, venue) becomes its own parent order restricted to that venue. Without the column
every target is venue-neutral and the outputs have no venue column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

TARGETS: Mapping[str, pl.DataType] = {
    "strategy": pl.String(),
    "instrument": pl.String(),
    "weight": pl.Float64(),
}
ATTRIBUTION: Mapping[str, pl.DataType] = {
    "strategy": pl.String(),
    "instrument": pl.String(),
    "notional_usd": pl.Float64(),
}


@dataclass(frozen=True, slots=True)
class NetTargets:
    """``net``: instrument, notional_usd (signed), one row per instrument with a target.
    ``attribution``: strategy, instrument, notional_usd, share (of the net; null when the net
    is zero) — what each strategy owns."""

    net: pl.DataFrame
    attribution: pl.DataFrame


def keys(frame: pl.DataFrame) -> list[str]:
    """The columns that name one strategy's target: strategy, instrument (and venue if the
    frame pins legs)."""
    return ["strategy", "instrument", *(["venue"] if "venue" in frame.columns else [])]


def join_previous(frame: pl.DataFrame, previous: pl.DataFrame, column: str) -> pl.DataFrame:
    """``frame`` with ``previous.notional_usd`` as ``column``, matched on the frame's keys (a
    null venue matches a null venue: the venue-neutral holding)."""
    on = keys(frame)
    prev = previous.select(
        pl.col("strategy").cast(pl.String),
        pl.col("instrument").cast(pl.String),
        (pl.col("venue") if "venue" in previous.columns else pl.lit(None))
        .cast(pl.String)
        .alias("venue"),
        pl.col("notional_usd").cast(pl.Float64).alias(column),
    ).select(*on, column)
    return frame.join(prev, on=on, how="left", nulls_equal=True)


def _validate(targets: pl.DataFrame, capital: Mapping[str, float]) -> pl.DataFrame:
    missing = [c for c in TARGETS if c not in targets.columns]
    if missing:
        raise ValueError(
            f"targets lack columns {missing}; give strategy, instrument, weight (null = no signal)"
        )
    frame = targets.select(
        pl.col("strategy").cast(pl.String),
        pl.col("instrument").cast(pl.String),
        *([pl.col("venue").cast(pl.String)] if "venue" in targets.columns else []),
        pl.col("weight").cast(pl.Float64).fill_nan(None),
    )
    unknown = sorted(set(frame["strategy"].unique().to_list()) - set(capital))
    if unknown:
        raise ValueError(
            f"no capital for strategies {unknown}; add them to the allocation or drop their targets"
        )
    bad_capital = sorted(s for s, c in capital.items() if not c >= 0.0)
    if bad_capital:
        raise ValueError(
            f"capital of {bad_capital} is negative or not a number; fix the allocation"
        )
    out_of_range = frame.filter(pl.col("weight").abs() > 1.0)
    if out_of_range.height:
        raise ValueError(
            f"weights outside [-1, 1]: {out_of_range.head(3).rows()}; clip them in the model"
        )
    dupes = frame.group_by(keys(frame)).len().filter(pl.col("len") > 1)
    if dupes.height:
        raise ValueError(
            f"a strategy targets an instrument twice: {dupes.head(3).rows()}; one row each"
        )
    return frame


def net_targets(
    targets: pl.DataFrame,
    capital: Mapping[str, float],
    previous: pl.DataFrame | None = None,
) -> NetTargets:
    """One signed USD target per instrument (per instrument and venue for pinned legs): Σ over
    strategies of weight × capital, where a null weight keeps the strategy's ``previous``
    attributed notional (or nothing). The result does not depend on the order of the rows or
    of the strategies."""
    frame = _validate(targets, capital)
    cap = pl.DataFrame(
        {"strategy": list(capital), "capital": [float(c) for c in capital.values()]},
        schema={"strategy": pl.String(), "capital": pl.Float64()},
    )
    frame = frame.join(cap, on="strategy", how="left")
    if previous is not None:
        frame = join_previous(frame, previous, "previous")
    else:
        frame = frame.with_columns(pl.lit(None, pl.Float64).alias("previous"))
    owned = (
        frame.with_columns(
            pl.when(pl.col("weight").is_not_null())
            .then(pl.col("weight") * pl.col("capital"))
            .otherwise(pl.col("previous"))
            .alias("notional_usd")
        )
        .filter(pl.col("notional_usd").is_not_null())
        .select(*keys(frame), "notional_usd")
        .sort("instrument", *(["venue"] if "venue" in frame.columns else []), "strategy")
    )
    parent = keys(frame)[1:]
    net = owned.group_by(parent, maintain_order=True).agg(pl.col("notional_usd").sum())
    attribution = owned.join(
        net.rename({"notional_usd": "net"}), on=parent, nulls_equal=True
    ).select(
        *keys(frame),
        "notional_usd",
        pl.when(pl.col("net") != 0.0)
        .then(pl.col("notional_usd") / pl.col("net"))
        .otherwise(None)
        .alias("share"),
    )
    return NetTargets(net=net, attribution=attribution)


def attribute_costs(
    attribution: pl.DataFrame, costs: pl.DataFrame, previous: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Each strategy's part of each instrument's trading cost (``costs``: instrument,
    cost_usd), in proportion to how much of the trade it caused: the size of its change in
    notional against ``previous``, or of its notional when there is no previous."""
    on = keys(attribution)
    now = attribution.select(*on, "notional_usd")
    if previous is not None:
        prev = previous.select(
            *on[:2],
            *([(pl.col("venue") if "venue" in previous.columns else pl.lit(None)).cast(pl.String)
               .alias("venue")] if "venue" in on else []),
            pl.col("notional_usd").alias("prev"),
        )  # fmt: skip
        now = now.join(prev, on=on, how="full", coalesce=True, nulls_equal=True)
        cause = (pl.col("notional_usd").fill_null(0.0) - pl.col("prev").fill_null(0.0)).abs()
    else:
        cause = pl.col("notional_usd").abs()
    caused = now.with_columns(cause.alias("cause")).with_columns(
        pl.col("cause").sum().over("instrument").alias("total")
    )
    return (
        caused.join(costs.select("instrument", "cost_usd"), on="instrument", how="inner")
        .select(
            *on,
            pl.when(pl.col("total") > 0.0)
            .then(pl.col("cost_usd") * pl.col("cause") / pl.col("total"))
            .otherwise(0.0)
            .alias("cost_usd"),
        )
        .sort("instrument", *on[2:], "strategy")
    )
