"""The feature registry and the one function that computes features, for research and live."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Mapping, Sequence
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
    reads itself; ``inputs`` are the features it builds on, whose own warm-up adds to it, so
    incremental computation loads the whole chain's warm-up before a new day."""

    name: str
    expr: Callable[[], pl.Expr]
    lookback: int
    over: Over = "series"
    doc: str = ""
    inputs: tuple[str, ...] = ()


_REGISTRY: dict[str, Feature] = {}


def feature(
    name: str, lookback: int, over: Over = "series", inputs: Sequence[str] = ()
) -> Callable[[Callable[[], pl.Expr]], Callable[[], pl.Expr]]:
    """Register a feature: decorate a function returning its polars expression; ``inputs``
    names the registered features its expression reads as columns."""

    def register(fn: Callable[[], pl.Expr]) -> Callable[[], pl.Expr]:
        if name in _REGISTRY and _REGISTRY[name].expr is not fn:
            raise ValueError(f"feature {name!r} is registered twice; rename one")
        doc = (fn.__doc__ or "").strip()
        _REGISTRY[name] = Feature(name, fn, lookback, over, doc, tuple(inputs))
        return fn

    return register


def registered_features() -> dict[str, Feature]:
    """Every feature in ``trading/features/library`` (imported on first call); an input that
    is not registered or a cycle of inputs is an error naming the feature."""
    from trading.features import library

    for module in pkgutil.iter_modules(library.__path__):
        importlib.import_module(f"{library.__name__}.{module.name}")
    registry = dict(sorted(_REGISTRY.items()))
    _ordered(registry.values(), registry)
    return registry


def _ordered(features: Iterable[Feature], registry: Mapping[str, Feature]) -> list[Feature]:
    """The features with every input they need (transitively), inputs before their users."""
    out: dict[str, Feature] = {}
    visiting: list[str] = []

    def visit(f: Feature) -> None:
        if f.name in out:
            return
        if f.name in visiting:
            cycle = " -> ".join([*visiting[visiting.index(f.name) :], f.name])
            raise ValueError(f"features build on each other in a cycle: {cycle}; break it")
        visiting.append(f.name)
        for name in f.inputs:
            if name not in registry:
                raise ValueError(
                    f"feature {f.name!r} builds on {name!r}, which is not registered; "
                    "add that feature file or fix the name in inputs"
                )
            visit(registry[name])
        visiting.pop()
        out[f.name] = f

    for f in features:
        visit(f)
    return list(out.values())


def total_lookback(f: Feature, registry: Mapping[str, Feature] | None = None) -> int:
    """Bars of warm-up a feature needs: its own lookback plus the longest of its inputs'."""
    known = registry if registry is not None else {**_REGISTRY}
    return f.lookback + max((total_lookback(known[i], known) for i in f.inputs), default=0)


def max_lookback(features: Iterable[Feature]) -> int:
    """Bars of warm-up the given features need together (inputs' warm-up included)."""
    return max((total_lookback(f) for f in features), default=0)


def compute_features(bars: pl.DataFrame, features: Iterable[Feature]) -> pl.DataFrame:
    """Features of every bar: ``bars`` holds candles (and ``funding_rate``, the last settled
    rate known at the bar's close) of any number of venues and instruments. Inputs a feature
    builds on are computed first (and returned only if asked for); each step computes every
    feature whose inputs are ready, grouped by kind."""
    chosen = list(features)
    pending = _ordered(chosen, {**_REGISTRY, **{f.name: f for f in chosen}})
    frame = bars.sort(KEYS)
    done: set[str] = set()
    while pending:
        ready = [f for f in pending if all(i in done for i in f.inputs)]
        for over in ("series", "cross_section", "cross_venue"):
            exprs = [f.expr().over(_GROUPS[over]).alias(f.name) for f in ready if f.over == over]
            if exprs:
                frame = frame.with_columns(exprs)
        done |= {f.name for f in ready}
        pending = [f for f in pending if f.name not in done]
    columns = [f.name for f in chosen]
    return frame.select(
        *KEYS, "date", *[pl.col(c).cast(pl.Float64).fill_nan(None) for c in columns]
    )
