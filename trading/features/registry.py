"""The feature registry and the one function that computes features, for research and live."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

import polars as pl

Over = Literal["series", "cross_section", "cross_venue"]
# Grouping of each kind: a series runs along time per instrument; a cross-section compares
# instruments at one bar; cross-venue compares one instrument's venues at one bar.
_GROUPS: dict[Over, list[str]] = {
    "series": ["venue", "symbol"],
    "cross_section": ["ts"],
    "cross_venue": ["symbol", "ts"],
}
KEYS = ["venue", "symbol", "ts"]


@dataclass(frozen=True, slots=True)
class Feature:
    """A named expression. ``lookback`` is how many earlier bars (of the same instrument) it
    reads: incremental computation loads that many bars of warm-up before a new day."""

    name: str
    expr: Callable[[], pl.Expr]
    lookback: int
    over: Over = "series"
    doc: str = ""


_REGISTRY: dict[str, Feature] = {}


def feature(
    name: str, lookback: int, over: Over = "series"
) -> Callable[[Callable[[], pl.Expr]], Callable[[], pl.Expr]]:
    """Register a feature: decorate a function returning its polars expression."""

    def register(fn: Callable[[], pl.Expr]) -> Callable[[], pl.Expr]:
        if name in _REGISTRY and _REGISTRY[name].expr is not fn:
            raise ValueError(f"feature {name!r} is registered twice; rename one")
        _REGISTRY[name] = Feature(name, fn, lookback, over, (fn.__doc__ or "").strip())
        return fn

    return register


def registered_features() -> dict[str, Feature]:
    """Every feature in ``trading/features/library`` (imported on first call)."""
    from trading.features import library

    for module in pkgutil.iter_modules(library.__path__):
        importlib.import_module(f"{library.__name__}.{module.name}")
    return dict(sorted(_REGISTRY.items()))


def max_lookback(features: Iterable[Feature]) -> int:
    """Bars of warm-up the given features need together."""
    return max((f.lookback for f in features), default=0)


def compute_features(bars: pl.DataFrame, features: Iterable[Feature]) -> pl.DataFrame:
    """Features of every bar: ``bars`` holds candles (and ``funding_rate``, the last settled
    rate known at the bar's close) of any number of venues and instruments. Series features run
    first, then cross-sectional ones, which may use series features as inputs."""
    chosen = list(features)
    frame = bars.sort(KEYS)
    for over in ("series", "cross_section", "cross_venue"):
        exprs = [f.expr().over(_GROUPS[over]).alias(f.name) for f in chosen if f.over == over]
        if exprs:
            frame = frame.with_columns(exprs)
    columns = [f.name for f in chosen]
    return frame.select(
        *KEYS, "date", *[pl.col(c).cast(pl.Float64).fill_nan(None) for c in columns]
    )
