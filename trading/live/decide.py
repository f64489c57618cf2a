"""Decide with the research code: ``Strategy.targets`` on the tail of the feature table.

One Delta version of the feature table serves every strategy of a run (the version is recorded
with each decision, so research can replay it). No decision is made on a bar whose blocking
quality checks fail, or on data older than ``live.stale_bars`` bars.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from trading.live.config import Deployment
from trading.models.registry import Strategy, strategy


@dataclass(frozen=True, slots=True)
class Deployed:
    """A strategy with its stage and capital."""

    strategy: Strategy
    deployment: Deployment


def resolve(deployments: list[Deployment]) -> list[Deployed]:
    """The registered strategy of each deployment; an unknown name is a config error."""
    out = []
    for d in deployments:
        try:
            out.append(Deployed(strategy(d.strategy), d))
        except KeyError as exc:
            raise ValueError(
                f"live.strategies names {d.strategy!r}, which is not a registered strategy; "
                f"fix the name in the config ({exc.args[0]})"
            ) from None
    return out


def refusal(
    bar: datetime, now: datetime, bar_length: timedelta, stale_bars: int, failing: list[str]
) -> str | None:
    """Why no decision may be made on this bar, or None when it may."""
    if failing:
        return "blocking data-quality checks fail: " + ", ".join(failing)
    closed = bar + bar_length
    if now - closed > stale_bars * bar_length:
        return (
            f"bar {bar:%Y-%m-%d %H:%M} closed at {closed:%Y-%m-%d %H:%M}, more than {stale_bars} "
            f"bars before now ({now:%Y-%m-%d %H:%M}): stale, no decision"
        )
    return None


def decide(
    deployed: list[Deployed], tail: pl.DataFrame, bar: datetime, features_version: int
) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """Every strategy's targets at ``bar`` from the feature rows at that bar, and their
    decision rows (stage, features version, code version, parameters) for the journal."""
    at_bar = tail.filter(pl.col("ts") == bar)
    frames = []
    rows: list[dict[str, Any]] = []
    codes: dict[str, str] = {}  # model -> its file's hash, read once per step (not per strategy)
    for d in deployed:
        s = d.strategy
        targets = s.targets(at_bar).with_columns(strategy=pl.lit(s.name))
        frames.append(targets)
        if s.model.name not in codes:
            codes[s.model.name] = s.model.code_version()
        code, params = codes[s.model.name], s.params_hash()
        rows += [
            {
                "strategy": s.name,
                "stage": d.deployment.stage,
                "venue": t["venue"],
                "symbol": t["symbol"],
                "weight": t["weight"],
                "features_version": features_version,
                "code_version": code,
                "params_hash": params,
            }
            for t in targets.iter_rows(named=True)
        ]
    empty = pl.DataFrame(
        schema={
            "venue": pl.String(),
            "symbol": pl.String(),
            "ts": pl.Datetime("us", "UTC"),
            "weight": pl.Float64(),
            "strategy": pl.String(),
        }
    )
    return (pl.concat(frames) if frames else empty), rows
