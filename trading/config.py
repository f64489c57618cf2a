"""The one config file: venues, their instruments, timeframes, history and refresh cadence.

Validated entirely on load, before anything runs: an error names the file, the key and the fix.
Configs are frozen and reject unknown keys, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from trading.configbase import (
    AccountFaults,
    CapsConfig,
    SimAccountFields,
    VenueConfigBase,
    _Frozen,
)
from trading.execution.config import RoutingConfig
from trading.ideas.gates import IdeasConfig
from trading.live.calibration import CostCalibrationConfig
from trading.live.config import LiveConfig
from trading.portfolio.allocation import AllocationConfig
from trading.portfolio.config import NettingConfig
from trading.regimes.labels import RegimeConfig
from trading.risk.config import RiskConfig
from trading.timeframes import TIMEFRAME_MINUTES
from trading.venues.kinds import KINDS, VenueConfig, describe_kinds
from trading.venues.kinds.ccxt import CcxtVenueConfig
from trading.venues.kinds.paper import PaperVenueConfig
from trading.venues.kinds.replay import ReplayVenueConfig
from trading.venues.kinds.sim import BarFault, FaultConfig, GapFault, SimVenueConfig

CONFIG_ENV = "KEEL_CONFIG"
VENUE_KINDS = tuple(KINDS)

__all__ = [
    "AccountConfig",
    "AccountFaults",
    "BarFault",
    "CapsConfig",
    "CcxtVenueConfig",
    "ConfigError",
    "FaultConfig",
    "GapFault",
    "KeelConfig",
    "PaperVenueConfig",
    "ReplayVenueConfig",
    "SimAccountFields",
    "SimVenueConfig",
    "VenueConfig",
    "VenueConfigBase",
    "default_config_path",
    "load_config",
    "parse_config",
]


class ConfigError(ValueError):
    """A config problem, phrased as: which file, which key, what is wrong, what to do."""


def _valid_cron(value: str) -> str:
    from trading.cron import cron_problem

    problem = cron_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


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
        return _valid_cron(value)

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


class AccountConfig(_Frozen):
    """The ledger: how often every venue's account is synced and how it is valued."""

    sync_cron: str = Field(default="*/5 * * * *", description="account sync schedule")
    currency: str = Field(default="USDT", description="the account currency equity is valued in")
    stale_minutes: int = Field(
        default=180, ge=1, description="a price older than this is flagged as stale"
    )

    @field_validator("sync_cron")
    @classmethod
    def _cron_is_valid(cls, value: str) -> str:
        return _valid_cron(value)


class SimulationConfig(_Frozen):
    """The synthetic market every simulated venue quotes around."""

    seed: int = 7


class WalkForwardConfig(_Frozen):
    """Rolling in-sample / out-of-sample windows: a model's parameters are chosen on each
    in-sample window and judged on the out-of-sample window after it."""

    in_sample_days: int = Field(default=30, ge=1)
    out_of_sample_days: int = Field(default=15, ge=1)


class ResearchConfig(_Frozen):
    """How backtests trade: capital in the account currency, execution style and delay, the
    borrow rate of spot shorts, and the trailing window that estimates volume and volatility."""

    capital: float = Field(default=100_000.0, gt=0, description="starting equity")
    account_currency: str = Field(default="USDT", min_length=1)
    par_currencies: tuple[str, ...] = Field(
        default=("USDT", "USD", "USDC"), description="quote currencies counted 1:1 as the account"
    )
    style: Literal["taker", "maker", "auto"] = Field(
        default="taker",
        description="taker, maker (expected cost of a resting order: [routing.maker]), or auto: "
        "maker or taker per trade, as the router chooses",
    )
    execution_delay_bars: int = Field(default=0, ge=0, le=24, description="bars decision→fill")
    execution_fill: Literal["close", "open"] = Field(
        default="close", description="fill at the decision bar's close, or at the next open"
    )
    rebalance_band: float = Field(
        default=0.001, ge=0, le=0.5, description="drift (fraction of equity) left untraded"
    )
    spot_borrow_rate: float = Field(default=0.10, ge=0, le=5, description="annual, spot shorts")
    liquidity_days: int = Field(
        default=30,
        ge=1,
        description="trailing ADV and volatility window of the impact term: research, the cost "
        "calibration and the shortfall",
    )
    walk_forward: WalkForwardConfig = WalkForwardConfig()
    calibration: CostCalibrationConfig = CostCalibrationConfig()

    @model_validator(mode="before")
    @classmethod
    def _removed_keys_say_what_replaced_them(cls, data: Any) -> Any:
        if isinstance(data, dict) and "bad_regime_days" in data:
            raise ValueError(
                "[research] bad_regime_days was removed: bad regimes have one definition, "
                '[regimes] (bad = ["bear", "crash"], trend_days, trend_band, crash_vol), '
                "shared by research's excess_return_bad_regimes and the regime report; delete "
                "bad_regime_days and set the window in [regimes] trend_days instead"
            )
        return data


class KeelConfig(_Frozen):
    """The whole config file."""

    data: DataConfig
    research: ResearchConfig = ResearchConfig()
    quality: QualityConfig = QualityConfig()
    simulation: SimulationConfig = SimulationConfig()
    venues: tuple[VenueConfig, ...] = Field(min_length=1)
    live: LiveConfig = LiveConfig()
    risk: RiskConfig = RiskConfig()
    routing: RoutingConfig = RoutingConfig()
    netting: NettingConfig = NettingConfig()
    account: AccountConfig = AccountConfig()
    ideas: IdeasConfig = IdeasConfig()
    portfolio: AllocationConfig = AllocationConfig()
    regimes: RegimeConfig = RegimeConfig()

    @model_validator(mode="after")
    def _execution_names_known_venues(self) -> KeelConfig:
        known = {v.name for v in self.venues}
        named = [("routing.venues", n) for n in self.routing.venues]
        named += [("risk.states", r.name) for r in self.risk.states if r.scope == "venue"]
        for where, name in named:
            if name not in known:
                raise ValueError(
                    f"{where} names venue {name!r}, which is not configured; "
                    f"use one of: {', '.join(sorted(known))}"
                )
        return self

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
                f"use one of: {describe_kinds()}"
            )
        elif kind == "union_tag_not_found":
            lines.append(f"  {where}: missing 'kind'; set kind to one of: {describe_kinds()}")
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
