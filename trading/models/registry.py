"""The model registry, parameter sweeps, and the one function that turns features into targets.

``targets`` is exactly what the live side calls for the newest bar: it only needs the tail of
the feature table (models are functions of features at the bar, and features carry their own
history), so a live decision equals the backtest's decision for the same bar.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import itertools
import json
import pkgutil
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict

TARGETS = {
    "venue": pl.String(),
    "symbol": pl.String(),
    "ts": pl.Datetime("us", "UTC"),
    "weight": pl.Float64(),
}


_KEYS = ("venue", "symbol", "ts")


class ModelError(ValueError):
    """A model that cannot produce targets: which one and why."""


class Params(BaseModel):
    """Base of every model's parameters: frozen, typed, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


ModelFn = Callable[[pl.DataFrame, Any], pl.DataFrame]


@dataclass(frozen=True, slots=True)
class Model:
    """A registered model: its features, parameter class, target function and sweep grid."""

    name: str
    params: type[Params]
    fn: ModelFn
    features: tuple[str, ...]
    sweep: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    doc: str = ""

    @property
    def source(self) -> Path:
        """The file that defines the model."""
        return Path(inspect.getfile(self.fn))

    def code_version(self) -> str:
        """A hash of the model file: a backtest records which code produced it."""
        return hashlib.sha256(self.source.read_bytes()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Strategy:
    """A model with concrete parameters: what gets backtested and traded."""

    model: Model
    params: Params

    @property
    def name(self) -> str:
        """``model`` for default parameters, else ``model__k-v__k2-v2`` for swept ones (usable
        as a Dagster partition key and a file name)."""
        default = self.model.params()
        changed = {k: v for k, v in self.params.model_dump().items() if getattr(default, k) != v}
        if not changed:
            return self.model.name
        return "__".join([self.model.name, *(f"{k}-{v}" for k, v in sorted(changed.items()))])

    def params_hash(self) -> str:
        """A stable hash of the parameters."""
        text = json.dumps(self.params.model_dump(), sort_keys=True, default=str)
        return hashlib.sha256(f"{self.model.name}:{text}".encode()).hexdigest()[:16]

    def targets(self, features: pl.DataFrame) -> pl.DataFrame:
        """Target weights in [-1, 1] per instrument and bar, from the feature frame (in the
        frame's row order when the model maps rows one to one, else sorted by venue, symbol
        and ts). The model sees only the features it declares; a missing feature or a
        malformed answer raises ``ModelError`` naming the strategy and the fix."""
        missing = [f for f in self.model.features if f not in features.columns]
        if missing:
            raise ModelError(
                f"strategy {self.name!r} needs features {missing}, which the feature table "
                "lacks; add the feature files or materialize the features asset"
            )
        view = features.select(*_KEYS, *self.model.features)
        out = self.model.fn(view, self.params)
        if not isinstance(out, pl.DataFrame):
            raise ModelError(
                f"model {self.model.name!r} returned {type(out).__name__}, not a polars "
                "DataFrame with venue, symbol, ts, weight"
            )
        if "venue" not in out.columns:  # venue-neutral targets (research only, see README)
            out = out.with_columns(venue=pl.lit(None, dtype=pl.String))
        absent = [c for c in TARGETS if c not in out.columns]
        if absent:
            raise ModelError(
                f"model {self.model.name!r} returned a frame without {absent}; "
                "return venue, symbol, ts, weight"
            )
        if not out.schema["weight"].is_numeric():
            raise ModelError(
                f"model {self.model.name!r} returned weights of type {out.schema['weight']}; "
                "return numbers in [-1, 1]"
            )
        aligned = out.height == view.height and all(out[c].equals(view[c]) for c in _KEYS)
        if not aligned and out.select(pl.struct(*_KEYS).is_duplicated().any()).item():
            raise ModelError(
                f"model {self.model.name!r} returned two weights for one instrument and bar; "
                "return one row per (venue, symbol, ts)"
            )
        clean = out.select(
            pl.col("venue").cast(pl.String), "symbol", "ts", pl.col("weight").cast(pl.Float64)
        ).with_columns(pl.col("weight").fill_nan(None).fill_null(0.0).clip(-1.0, 1.0))
        # A model that maps feature rows one to one keeps their order (no sort to pay for).
        return clean if aligned else clean.sort("venue", "symbol", "ts")


_REGISTRY: dict[str, Model] = {}


def model(
    name: str,
    params: type[Params],
    features: Sequence[str],
    sweep: Mapping[str, Sequence[Any]] | None = None,
) -> Callable[[ModelFn], ModelFn]:
    """Register a model function ``fn(features, params) -> frame[venue, symbol, ts, weight]``;
    ``sweep`` lists parameter values to backtest besides the defaults."""

    def register(fn: ModelFn) -> ModelFn:
        if name in _REGISTRY and _REGISTRY[name].fn is not fn:
            raise ValueError(f"model {name!r} is registered twice; rename one")
        _REGISTRY[name] = Model(
            name, params, fn, tuple(features), dict(sweep or {}), (fn.__doc__ or "").strip()
        )
        return fn

    return register


def registered_models() -> dict[str, Model]:
    """Every model in ``trading/models/library`` (imported on first call)."""
    from trading.models import library

    for module in pkgutil.iter_modules(library.__path__):
        importlib.import_module(f"{library.__name__}.{module.name}")
    return dict(sorted(_REGISTRY.items()))


def strategies() -> list[Strategy]:
    """Every model at its default parameters and at each point of its sweep grid."""
    out: list[Strategy] = []
    for m in registered_models().values():
        out.append(Strategy(m, m.params()))
        keys = list(m.sweep)
        for values in itertools.product(*(m.sweep[k] for k in keys)):
            params = m.params(**dict(zip(keys, values, strict=True)))
            if params != m.params():
                out.append(Strategy(m, params))
    return out


@cache
def _by_name() -> dict[str, Strategy]:
    return {s.name: s for s in strategies()}


def strategy_names() -> tuple[str, ...]:
    """Names of every strategy (the research asset's partitions)."""
    return tuple(_by_name())


def strategy(name: str) -> Strategy:
    """The strategy of that name, or an error listing a few known ones."""
    found = _by_name().get(name)
    if found is None:
        known = ", ".join(strategy_names()[:10])
        raise KeyError(f"no strategy {name!r}; known: {known}, ...")
    return found


def model_problems(feature_names: Collection[str]) -> dict[str, str]:
    """Models whose declared features are not registered, with the reason (checked when
    definitions load; those models' strategies fail alone, the rest run)."""
    out: dict[str, str] = {}
    for m in registered_models().values():
        unknown = [f for f in m.features if f not in feature_names]
        if unknown:
            out[m.name] = (
                f"model {m.name!r} declares features {unknown} that are not registered; "
                f"add them to trading/features/library or fix the names in {m.source.name}"
            )
    return out


def budget(expr: pl.Expr) -> pl.Expr:
    """Scale a per-instrument signal so the weights at a bar sum to at most 1 in absolute value:
    each instrument gets an equal share of the capital."""
    return expr / pl.len().over("ts")


def venue_neutral(features: pl.DataFrame, signal: pl.Expr) -> pl.DataFrame:
    """One venue-neutral target per canonical instrument and bar (venue null): ``signal``,
    computed on each venue's feature row, averaged over the venues that list the instrument,
    then split equally across the instruments that have a signal at the bar (a null signal,
    no opinion, takes no share). The backtest holds such a target as one exposure and splits
    its orders across venues as the router does; the live run does not take them yet."""
    rows = features.select("symbol", "ts", signal=signal)
    return (
        rows.group_by("symbol", "ts")
        .agg(pl.col("signal").mean())
        .select(
            venue=pl.lit(None, dtype=pl.String),
            symbol="symbol",
            ts="ts",
            weight=pl.col("signal") / pl.col("signal").count().over("ts"),
        )
    )
