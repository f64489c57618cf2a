"""The one config file: venues, their instruments, timeframes, history and refresh cadence.

Validated entirely on load, before anything runs: an error names the file, the key and the fix.
Configs are frozen and reject unknown keys, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trading.timeframes import TIMEFRAME_MINUTES

CONFIG_ENV = "KEEL_CONFIG"
VENUE_KINDS = ("sim", "replay", "ccxt")


class ConfigError(ValueError):
    """A config problem, phrased as: which file, which key, what is wrong, what to do."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)


def _as_utc(value: datetime) -> datetime:
    """Times in the config without a zone mean UTC, like every time in Keel."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class GapFault(_Frozen):
    """Bars of one symbol the simulated exchange leaves out, ``start <= ts < end``."""

    symbol: str
    start: datetime
    end: datetime

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _as_utc(value)

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> GapFault:
        if self.end <= self.start:
            raise ValueError(
                f"gap of {self.symbol} ends ({self.end}) before it starts ({self.start}); "
                "swap start and end"
            )
        return self


class BarFault(_Frozen):
    """One bar the simulated exchange corrupts: ``spike`` multiplies its prices by ``factor``
    (plausible-looking but wrong), ``broken`` puts its low above its high."""

    symbol: str
    ts: datetime
    kind: Literal["spike", "broken"] = "spike"
    factor: float = Field(default=10.0, gt=0)

    @field_validator("ts")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _as_utc(value)


class FaultConfig(_Frozen):
    """Faults a simulated venue injects on request, to test data-quality gates end to end."""

    gaps: tuple[GapFault, ...] = ()
    bars: tuple[BarFault, ...] = ()
    duplicates: bool = Field(default=False, description="repeat the last bars of every fetch")
    out_of_order: bool = Field(default=False, description="return every fetch shuffled")


class SimVenueConfig(_Frozen):
    """A simulated exchange over the seeded synthetic market."""

    kind: Literal["sim"]
    name: str
    instruments: tuple[str, ...] = Field(min_length=1)
    liquidity: float = Field(default=1.0, gt=0, description="relative depth: scales volume")
    basis_bps: float = Field(default=5.0, ge=0, description="std of the price basis vs the market")
    maker_fee: float = Field(default=0.0002, ge=-0.001, le=0.01)
    taker_fee: float = Field(default=0.0005, ge=0, le=0.01)
    starting_balances: dict[str, float] = Field(default_factory=lambda: {"USDT": 100_000.0})
    faults: FaultConfig = FaultConfig()

    @field_validator("starting_balances")
    @classmethod
    def _balances_are_amounts(cls, value: dict[str, float]) -> dict[str, float]:
        for asset, amount in value.items():
            if not math.isfinite(amount) or amount < 0:
                raise ValueError(
                    f"starting balance of {asset} is {amount}; use a finite amount >= 0"
                )
        return value

    @model_validator(mode="after")
    def _faults_name_listed_symbols(self) -> SimVenueConfig:
        listed = set(self.instruments)
        faults: list[GapFault | BarFault] = [*self.faults.gaps, *self.faults.bars]
        for fault in faults:
            if fault.symbol not in listed:
                raise ValueError(
                    f"a fault names {fault.symbol!r}, which {self.name} does not list; "
                    f"use one of: {', '.join(self.instruments)}"
                )
        return self


class ReplayVenueConfig(_Frozen):
    """A venue that serves recorded candles from a parquet or feather file."""

    kind: Literal["replay"]
    name: str
    path: str
    instruments: tuple[str, ...] = Field(min_length=1)
    maker_fee: float = Field(default=0.0002, ge=-0.001, le=0.01)
    taker_fee: float = Field(default=0.0005, ge=0, le=0.01)


class CcxtVenueConfig(_Frozen):
    """A real exchange account through ccxt. Credentials are the *names* of environment
    variables; their values never appear in this file, the repo, logs or the lake."""

    kind: Literal["ccxt"]
    name: str
    exchange: str = Field(description="ccxt exchange id, e.g. binance, okx, bybit")
    market_type: Literal["spot", "swap"] = "spot"
    instruments: tuple[str, ...] = Field(min_length=1)
    sandbox: bool = False
    trading_enabled: bool = False
    options: dict[str, Any] = Field(default_factory=dict)
    api_key_env: str | None = None
    secret_env: str | None = None
    password_env: str | None = None
    page_limit: int | None = Field(default=None, gt=0)
    balance_params: dict[str, Any] = Field(
        default_factory=dict, description='ccxt fetch_balance params, e.g. {type = "funding"}'
    )
    timeout_ms: int = Field(default=15_000, gt=0)

    @field_validator("api_key_env", "secret_env", "password_env")
    @classmethod
    def _looks_like_a_variable_name(cls, value: str | None) -> str | None:
        # The message never repeats the value: it may be a pasted credential.
        if value is not None and not is_variable_name(value):
            raise ValueError(
                "must name an environment variable (its NAME: capital letters, digits and "
                "underscores, words of at most 20 characters, e.g. BINANCE_API_KEY), not the "
                "credential itself; if you pasted a key here, revoke it and export it instead"
            )
        return value


_VARIABLE_NAME = re.compile(r"[A-Z][A-Z0-9]{0,19}(_[A-Z0-9]{1,20})*")


def is_variable_name(value: str) -> bool:
    """Whether ``value`` reads as an environment variable's name (``BINANCE_API_KEY``) rather
    than a credential: capital words joined by underscores, none longer than 20 characters,
    64 at most (exchange keys are long runs of mixed-case letters and digits)."""
    return len(value) <= 64 and _VARIABLE_NAME.fullmatch(value) is not None


VenueConfig = Annotated[
    SimVenueConfig | ReplayVenueConfig | CcxtVenueConfig, Field(discriminator="kind")
]


class DataConfig(_Frozen):
    """What market data to keep, from when, and how often to refresh it."""

    history_start: date
    timeframes: tuple[str, ...] = Field(min_length=1)
    refresh_cron: str = "5 * * * *"
    funding_rates: bool = True
    demo_days: dict[str, int] = Field(default_factory=lambda: {"1h": 90})
    research_timeframe: str = Field(
        default="1h", description="the candles features, research and live decisions use"
    )

    @field_validator("timeframes")
    @classmethod
    def _known_timeframes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for tf in value:
            if tf not in TIMEFRAME_MINUTES:
                valid = ", ".join(TIMEFRAME_MINUTES)
                raise ValueError(f"unknown timeframe {tf!r}; use one of: {valid}")
        if len(set(value)) != len(value):
            raise ValueError("a timeframe is listed twice; list each once")
        return value

    @field_validator("refresh_cron")
    @classmethod
    def _cron_is_valid(cls, value: str) -> str:
        from trading.cron import cron_problem

        problem = cron_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("history_start")
    @classmethod
    def _history_start_is_past(cls, value: date) -> date:
        today = datetime.now(UTC).date()
        if value > today:
            raise ValueError(
                f"history_start {value} is in the future (today is {today} UTC); "
                "set it to the first past day backfills should reach"
            )
        return value

    @model_validator(mode="after")
    def _research_timeframe_is_kept(self) -> DataConfig:
        if self.research_timeframe not in self.timeframes:
            raise ValueError(
                f"research_timeframe {self.research_timeframe!r} is not in timeframes "
                f"{list(self.timeframes)}; add it there or pick one of them"
            )
        return self

    @model_validator(mode="after")
    def _demo_days_name_known_datasets(self) -> DataConfig:
        allowed = {*self.timeframes, "funding"}
        for key, days in self.demo_days.items():
            if key not in allowed:
                raise ValueError(
                    f"demo_days has {key!r}, which is not a configured timeframe; "
                    f"use one of: {', '.join(sorted(allowed))}"
                )
            if days < 1:
                raise ValueError(f"demo_days[{key!r}] must be at least 1")
        return self


class QualityConfig(_Frozen):
    """Thresholds of the data-quality checks on market tables."""

    check_days: int = Field(default=30, ge=1, description="days checked outside a partition run")
    stale_bars: int = Field(default=3, ge=0, description="newest bar may lag this many bars")
    outlier_k: float = Field(default=10.0, gt=0, description="returns beyond k rolling stds")
    outlier_window: int = Field(default=48, ge=10, description="bars in the rolling std")
    divergence: float = Field(default=0.02, gt=0, description="max close gap across venues")
    funding_stale_hours: int = Field(
        default=24, ge=1, description="newest funding settlement may be this old"
    )


class SimulationConfig(_Frozen):
    """The synthetic market every simulated venue quotes around."""

    seed: int = 7


class KeelConfig(_Frozen):
    """The whole config file."""

    data: DataConfig
    quality: QualityConfig = QualityConfig()
    simulation: SimulationConfig = SimulationConfig()
    venues: tuple[VenueConfig, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_venue_names(self) -> KeelConfig:
        seen: set[str] = set()
        for venue in self.venues:
            if not venue.name.isidentifier() or venue.name != venue.name.lower():
                raise ValueError(
                    f"venue name {venue.name!r} must be lowercase letters, digits and underscores "
                    "(it becomes part of asset keys and lake partitions)"
                )
            if venue.name in seen:
                raise ValueError(
                    f"venue name {venue.name!r} is used twice; give each a unique name"
                )
            seen.add(venue.name)
            if len(set(venue.instruments)) != len(venue.instruments):
                raise ValueError(f"venue {venue.name!r} lists an instrument twice")
        return self

    def venue(self, name: str) -> VenueConfig:
        """The venue of that name, or an error listing the configured ones."""
        for venue in self.venues:
            if venue.name == name:
                return venue
        known = ", ".join(v.name for v in self.venues)
        raise ConfigError(f"no venue named {name!r}; configured venues: {known}")


def default_config_path() -> Path:
    """``$KEEL_CONFIG`` if set, else ``keel.toml`` at the project root."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1] / "keel.toml"


def _where(loc: Sequence[int | str], raw: dict[str, Any]) -> str:
    parts: list[str] = []
    node: Any = raw
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
            node = node[item] if isinstance(node, list) and item < len(node) else None
        else:
            # pydantic puts the discriminator value into the location of a tagged union member
            if isinstance(node, dict) and item not in node and item in VENUE_KINDS:
                continue
            parts.append(f".{item}" if parts else str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return "".join(parts) or "(top level)"


def _explain(exc: ValidationError, path: Path, raw: dict[str, Any]) -> ConfigError:
    lines = [f"invalid config {path}:"]
    errors = exc.errors()
    for err in errors:
        where = _where(err["loc"], raw)
        kind = err["type"]
        # A list whose only item was rejected is also reported as too short: noise.
        if kind == "too_short" and any(
            other["loc"][: len(err["loc"])] == err["loc"] and other is not err for other in errors
        ):
            continue
        if kind == "extra_forbidden":
            lines.append(f"  {where}: unknown key; remove it or check its spelling")
        elif kind == "union_tag_invalid":
            lines.append(
                f"  {where}.kind: unknown venue kind {err['input'].get('kind')!r}; "
                "use one of: sim, replay"
            )
        elif kind == "union_tag_not_found":
            lines.append(f'  {where}: missing \'kind\'; set kind = "sim" or "replay"')
        elif kind == "missing":
            lines.append(f"  {where}: required key is missing; add it")
        else:
            lines.append(f"  {where}: {err['msg']}")
    return ConfigError("\n".join(lines))


def parse_config(raw: dict[str, Any], path: Path) -> KeelConfig:
    """Validate an already-parsed TOML document (and its symbols) into a ``KeelConfig``."""
    try:
        config = KeelConfig.model_validate(raw)
    except ValidationError as exc:
        raise _explain(exc, path, raw) from None
    config = _anchor_paths(config, path.parent)
    _check_symbols(config, path)
    return config


def _anchor_paths(config: KeelConfig, base: Path) -> KeelConfig:
    """Relative file paths in the config mean relative to the config file, not the cwd."""
    venues = tuple(
        v.model_copy(update={"path": str((base / v.path).resolve())})
        if isinstance(v, ReplayVenueConfig) and not Path(v.path).is_absolute()
        else v
        for v in config.venues
    )
    return config.model_copy(update={"venues": venues})


def load_config(path: Path | str | None = None) -> KeelConfig:
    """Read and validate the config file; nothing runs on a config that fails here."""
    path = Path(path) if path is not None else default_config_path()
    if not path.is_file():
        raise ConfigError(
            f"config file {path} not found; create it (see keel.toml) or point ${CONFIG_ENV} at it"
        )
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid config {path}: not valid TOML ({exc})") from None
    return parse_config(raw, path)


def _check_symbols(config: KeelConfig, path: Path) -> None:
    from trading.venues.factory import listed_symbols  # the venue layer depends on config

    problems: list[str] = []
    for i, venue in enumerate(config.venues):
        try:
            listed = listed_symbols(venue, config)
        except (OSError, ValueError) as exc:
            problems.append(f"  venues[{i}] ({venue.name}): {exc}")
            continue
        if listed is None:
            continue
        for j, symbol in enumerate(venue.instruments):
            if symbol not in listed:
                sample = ", ".join(sorted(listed)[:8])
                problems.append(
                    f"  venues[{i}].instruments[{j}]: {venue.name} does not list {symbol!r}; "
                    f"remove it or use a listed symbol (e.g. {sample})"
                )
    if problems:
        raise ConfigError("\n".join([f"invalid config {path}:", *problems]))
