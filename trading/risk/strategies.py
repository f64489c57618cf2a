"""Strategy-level risk, before netting: a net order serves many strategies, so a strategy's
state and limits are applied to its own targets, where its wishes are still separate.

HALTED: the strategy's targets become "no signal" (it keeps what it holds; nothing new is
traded for it). REDUCING: each target is clipped toward zero so it never exceeds what the
strategy held. A strategy whose gross or net target breaches its limit is denied whole: its
targets become "no signal", with a denial saying why.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from trading.portfolio.netting import join_previous
from trading.risk.config import RiskConfig
from trading.risk.states import Denial, States


def check_strategies(
    targets: pl.DataFrame,
    capital: Mapping[str, float],
    limits: RiskConfig,
    previous: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, list[Denial]]:
    """The targets as strategy states and limits allow them, and a denial per strategy
    refused. ``previous``: the last attribution (strategy, instrument, notional_usd; venue
    too when targets pin legs)."""
    states = States(limits.states)
    denials: list[Denial] = []
    weights = targets.with_columns(pl.col("weight").cast(pl.Float64).fill_nan(None))
    if previous is not None and previous.height:
        weights = join_previous(weights, previous, "_prev")
    else:
        weights = weights.with_columns(pl.lit(None, pl.Float64).alias("_prev"))
    cap = pl.DataFrame(
        {"strategy": list(capital), "_cap": [float(c) for c in capital.values()]},
        schema={"strategy": pl.String(), "_cap": pl.Float64()},
    )
    weights = weights.join(cap, on="strategy", how="left")
    blocked: list[str] = []
    reducing: list[str] = []
    for strategy in sorted(set(weights["strategy"].to_list())):
        state, _, _ = states.strictest(strategy=strategy)
        if state == "HALTED":
            blocked.append(strategy)
            denials.append(Denial("halted", "strategy", strategy, "strategy is HALTED"))
        elif state == "REDUCING":
            reducing.append(strategy)
    exposure = (
        weights.filter(pl.col("weight").is_not_null())
        .group_by("strategy")
        .agg(
            (pl.col("weight").abs() * pl.col("_cap")).sum().alias("gross"),
            (pl.col("weight") * pl.col("_cap")).sum().alias("net"),
        )
        .sort("strategy")
    )
    for strategy, gross, net in exposure.iter_rows():
        if strategy in blocked:
            continue
        if limits.max_strategy_gross_usd is not None and gross > limits.max_strategy_gross_usd:
            blocked.append(strategy)
            denials.append(
                Denial(
                    "strategy_gross",
                    "strategy",
                    strategy,
                    f"{gross:.2f} > {limits.max_strategy_gross_usd:g}",
                )
            )
        elif limits.max_strategy_net_usd is not None and abs(net) > limits.max_strategy_net_usd:
            blocked.append(strategy)
            denials.append(
                Denial(
                    "strategy_net",
                    "strategy",
                    strategy,
                    f"{net:.2f} vs {limits.max_strategy_net_usd:g}",
                )
            )
    held = pl.col("_prev").fill_null(0.0) / pl.col("_cap")
    clipped = (
        pl.when(pl.col("strategy").is_in(blocked))
        .then(None)
        .when(pl.col("strategy").is_in(reducing) & pl.col("weight").is_not_null())
        .then(
            pl.when(held.sign() * pl.col("weight") > 0.0)
            .then(pl.min_horizontal(pl.col("weight").abs(), held.abs()) * held.sign())
            .otherwise(0.0)
        )
        .otherwise(pl.col("weight"))
    )
    allowed = weights.with_columns(clipped.alias("weight")).select(targets.columns)
    return allowed, denials
