"""Net targets: the wishes of every strategy combined into one target per instrument.

Each strategy says, per canonical instrument (the ccxt unified symbol, e.g. ``BTC/USDT:USDT``,
the same on every venue), a weight in [-1, 1] of its capital, or null for "no signal". Opposite
wishes net out before anything is routed, so two models that disagree cost nothing. What each
strategy owns of the net position, and of the costs of getting there, is kept as attribution.

No signal is not zero: a strategy without a signal keeps what it held (its previous attributed
notional, when given); so does a strategy that gives no row at all for something it holds
(``hold_absent``: in the backtest a missing row is NaN, a hold). Holdings are carried in base
units and valued at the current price (``value_held``), so a held position drifts with the
price and is never traded back to an old USD amount. An instrument on which nobody has a
signal gets no target, so nothing trades it.

Pinned legs: targets may carry a ``venue`` column. A row with a venue is a leg pinned to that
venue (a cross-venue basis model); pinned legs net with the other strategies' legs on the same
instrument and venue, apart from the venue-neutral target (venue null), and each such
(instrument, venue) becomes its own parent order restricted to that venue. Without the column
every target is venue-neutral and the outputs have no venue column.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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


def with_prices(
    frame: pl.DataFrame, price: Callable[[str, str | None], float | None]
) -> pl.DataFrame:
    """``frame`` (instrument, and venue when it pins legs) with a ``price`` column: ``price``
    of each distinct (instrument, venue or None), asked once each."""
    on = ["instrument", *(["venue"] if "venue" in frame.columns else [])]
    pairs = frame.select(*on).unique()
    table = pairs.with_columns(
        pl.Series(
            "price",
            [price(r[0], r[1] if len(r) > 1 else None) for r in pairs.iter_rows()],
            dtype=pl.Float64(),
        )
    )
    return frame.join(table, on=on, how="left", nulls_equal=True)


def value_held(
    previous: pl.DataFrame, price: Callable[[str, str | None], float | None]
) -> pl.DataFrame:
    """``previous`` holdings in base units (``quantity``) as ``notional_usd`` at ``price`` of
    (instrument, venue or None) now: the USD a held position is worth this bar. A holding
    without a price has no value (its strategy's hold contributes nothing)."""
    return (
        with_prices(previous, price)
        .with_columns((pl.col("quantity").cast(pl.Float64) * pl.col("price")).alias("notional_usd"))
        .drop("price")
    )


def hold_absent(
    targets: pl.DataFrame, previous: pl.DataFrame, strategies: Mapping[str, float]
) -> pl.DataFrame:
    """``targets`` plus a no-signal row (weight null) for every non-zero ``previous`` holding
    of a strategy in ``strategies`` that has no row for it: a missing row holds, as in the
    backtest, instead of leaving the holding out of the net (which would sell it as soon as
    another strategy trades the instrument). Holdings of strategies not in ``strategies`` (no
    longer deployed) are not held."""
    on = keys(targets)
    held = previous.filter(
        pl.col("strategy").is_in(list(strategies)),
        pl.col("notional_usd").fill_null(0.0) != 0.0,
        *([pl.col("quantity").fill_null(0.0) != 0.0] if "quantity" in previous.columns else []),
    )
    if "venue" not in held.columns:
        held = held.with_columns(pl.lit(None, pl.String).alias("venue"))
    if "venue" not in on:
        held = held.filter(pl.col("venue").is_null())  # targets pin nothing: neutral holdings
    if held.is_empty():
        return targets
    missing = (
        held.select(
            pl.col("strategy").cast(pl.String),
            pl.col("instrument").cast(pl.String),
            *([pl.col("venue").cast(pl.String)] if "venue" in on else []),
        )
        .unique()
        .join(
            targets.select(pl.col(c).cast(pl.String) for c in on),
            on=on,
            how="anti",
            nulls_equal=True,
        )
    )
    if missing.is_empty():
        return targets
    extra = missing.with_columns(pl.lit(None, pl.Float64).alias("weight"))
    return pl.concat([targets, extra], how="diagonal_relaxed").select(targets.columns)


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
    """Each strategy's part of each parent's trading cost (``costs``: instrument, cost_usd,
    and venue when the attribution pins legs: a pinned leg's costs under its venue, the
    venue-neutral parent's under a null venue), in proportion to how much of that parent's
    trade it caused: the size of its change in notional against ``previous``, or of its
    notional when there is no previous. A pinned leg's costs never land on a venue-neutral
    strategy, nor the reverse."""
    on = keys(attribution)
    parent = on[1:]
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
        pl.col("cause").sum().over(parent).alias("total")
    )
    if "venue" in parent and "venue" not in costs.columns:
        costs = costs.with_columns(pl.lit(None, pl.String).alias("venue"))
    return (
        caused.join(costs.select(*parent, "cost_usd"), on=parent, how="inner", nulls_equal=True)
        .select(
            *on,
            pl.when(pl.col("total") > 0.0)
            .then(pl.col("cost_usd") * pl.col("cause") / pl.col("total"))
            .otherwise(0.0)
            .alias("cost_usd"),
        )
        .sort("instrument", *on[2:], "strategy", nulls_last=False)
    )
