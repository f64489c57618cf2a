"""The model registry, parameter sweeps, and the one function that turns features into targets.

``targets`` is exactly what the live side calls for the newest bar: it only needs the tail of
the feature table (models are functions of features at the bar, and features carry their own
history), so a live decision equals the backtest's decision for the same bar.

A model targets canonical instruments (venue null: one exposure however many venues list it,
placed by the router), unless it declares ``per_venue=True``: then every target is a leg pinned
to its venue (cross-venue basis). A null weight is "no signal": the position is held, never
closed; a zero weight is "be flat".
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
_SHARED = 8  # derived frames kept (``_derived``)
_derived_frames: dict[tuple[int, str, tuple[str, ...]], tuple[pl.DataFrame, pl.DataFrame]] = {}


def _derived(
    source: pl.DataFrame, kind: str, columns: tuple[str, ...], make: Callable[[], pl.DataFrame]
) -> pl.DataFrame:
    """A frame derived from ``source`` (a view of some columns, their venue average), computed
    once per source frame: a run calls hundreds of strategies on one feature tail, and those
    that declare the same features share the view and its average (the decision step,
    docs/performance.md). Keyed by the source's identity while the source itself is held, so
    the key cannot be reused by another frame; frames are immutable, so a hit is exact."""
    key = (id(source), kind, columns)
    hit = _derived_frames.get(key)
    if hit is not None and hit[0] is source:
        return hit[1]
    out = make()
    if len(_derived_frames) >= _SHARED:
        _derived_frames.clear()
    _derived_frames[key] = (source, out)
    return out


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
    per_venue: bool = False  # targets are legs pinned to their venue, not canonical instruments

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
        """Target weights in [-1, 1] per instrument and bar, from the feature frame: venue null
        (a canonical instrument) unless the model declares ``per_venue`` (every row a pinned
        leg). A null or NaN weight is "no signal" and stays null (the position is held); the
        rest is clipped. Rows keep the frame's order when the model maps rows one to one, else
        are sorted by venue, symbol and ts. The model sees only the features it declares; a
        missing feature or a malformed answer raises ``ModelError`` naming the fix."""
        missing = [f for f in self.model.features if f not in features.columns]
        if missing:
            raise ModelError(
                f"strategy {self.name!r} needs features {missing}, which the feature table "
                "lacks; add the feature files or materialize the features asset"
            )
        columns = (*_KEYS, *self.model.features)
        view = _derived(features, "view", columns, lambda: features.select(*columns))
        out = self.model.fn(view, self.params)
        if not isinstance(out, pl.DataFrame):
            raise ModelError(
                f"model {self.model.name!r} returned {type(out).__name__}, not a polars "
                "DataFrame with symbol, ts, weight (and venue for per_venue models)"
            )
        if "venue" not in out.columns:
            out = out.with_columns(venue=pl.lit(None, dtype=pl.String))
        absent = [c for c in TARGETS if c not in out.columns]
        if absent:
            raise ModelError(
                f"model {self.model.name!r} returned a frame without {absent}; "
                "return symbol, ts, weight (venue too for per_venue models)"
            )
        if not out.schema["weight"].is_numeric():
            raise ModelError(
                f"model {self.model.name!r} returned weights of type {out.schema['weight']}; "
                "return numbers in [-1, 1] (null: no signal)"
            )
        _check_venues(self.model, out)
        aligned = out.height == view.height and all(out[c].equals(view[c]) for c in _KEYS)
        if not aligned and out.select(pl.struct(*_KEYS).is_duplicated().any()).item():
            raise ModelError(
                f"model {self.model.name!r} returned two weights for one instrument and bar; "
                "return one row per (symbol, ts), or per (venue, symbol, ts) if per_venue"
            )
        clean = out.select(
            pl.col("venue").cast(pl.String), "symbol", "ts", pl.col("weight").cast(pl.Float64)
        ).with_columns(pl.col("weight").fill_nan(None).clip(-1.0, 1.0))
        # A model that maps feature rows one to one keeps their order (no sort to pay for).
        return clean if aligned else clean.sort("venue", "symbol", "ts")


def _check_venues(m: Model, out: pl.DataFrame) -> None:
    """Venue-neutral models return venue null, per_venue models a venue on every row: a model
    that pinned legs without saying so would hold one instrument once per venue."""
    nulls = out["venue"].null_count()
    if m.per_venue and nulls:
        raise ModelError(
            f"model {m.name!r} declares per_venue=True but returned {nulls} targets without a "
            "venue; give every leg its venue (or drop per_venue and return canonical targets)"
        )
    if not m.per_venue and nulls < out.height:
        raise ModelError(
            f"model {m.name!r} returned targets pinned to venues; return one target per "
            "instrument (venue null, e.g. with venue_neutral(...)), or declare "
            "@model(..., per_venue=True) if its legs must trade on their venue"
        )


_REGISTRY: dict[str, Model] = {}


def model(
    name: str,
    params: type[Params],
    features: Sequence[str],
    sweep: Mapping[str, Sequence[Any]] | None = None,
    per_venue: bool = False,
) -> Callable[[ModelFn], ModelFn]:
    """Register a model function ``fn(features, params) -> frame[symbol, ts, weight]``, one
    target per canonical instrument and bar (``venue_neutral`` builds it); with
    ``per_venue=True`` the frame has a venue on every row, each a leg pinned to that venue
    (``pinned_legs`` builds it). ``sweep`` lists parameter values to backtest besides the
    defaults."""

    def register(fn: ModelFn) -> ModelFn:
        if name in _REGISTRY and _REGISTRY[name].fn is not fn:
            raise ValueError(f"model {name!r} is registered twice; rename one")
        _REGISTRY[name] = Model(
            name,
            params,
            fn,
            tuple(features),
            dict(sweep or {}),
            (fn.__doc__ or "").strip(),
            per_venue,
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


def venue_neutral(features: pl.DataFrame, signal: pl.Expr) -> pl.DataFrame:
    """One target per canonical instrument and bar (venue null). The features are first
    averaged over the venues that list the instrument (nulls ignored), so ``signal`` — and
    any cross-sectional rank in it — sees one row per instrument; then the weights at a bar are
    split equally across the instruments that have a signal (a null signal, no opinion, takes
    no share and stays null: the position is held)."""
    values = tuple(c for c in features.columns if c not in _KEYS)
    canonical = _derived(
        features,
        "venue mean",
        values,
        lambda: features.group_by("symbol", "ts").agg(pl.col(values).mean()),
    )
    rows = canonical.select("symbol", "ts", signal=signal)
    return rows.select(
        venue=pl.lit(None, dtype=pl.String),
        symbol="symbol",
        ts="ts",
        weight=pl.col("signal") / pl.col("signal").count().over("ts"),
    ).sort("symbol", "ts")


def pinned_legs(features: pl.DataFrame, signal: pl.Expr) -> pl.DataFrame:
    """Legs pinned to venues (for ``per_venue`` models): ``signal`` on each venue's feature row,
    scaled so every instrument with a signal at the bar gets an equal share (each of its legs
    up to that share; a hedged pair of legs is one share). A null signal stays null."""
    rows = features.select("venue", "symbol", "ts", signal=signal)
    instruments = pl.col("symbol").filter(pl.col("signal").is_not_null()).n_unique().over("ts")
    return rows.select("venue", "symbol", "ts", weight=pl.col("signal") / instruments)
