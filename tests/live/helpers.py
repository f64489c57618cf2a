"""Shared set-up of the trading tests: a small config, a lake holding a few days of candles,
funding and features computed by the production functions, and a paper replay set-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from assets.live_run import Setup, SimClock
from lake import catalog
from lake.store import Lake
from tests.conftest import small_config_dict
from trading.config import KeelConfig, parse_config
from trading.features.inputs import feature_input
from trading.features.registry import compute_features, registered_features
from trading.venues.factory import build_venue

START = datetime(2024, 3, 1, tzinfo=UTC)
DAYS = 3
STRATEGIES = [
    {"strategy": "trend", "stage": "paper", "capital": 20_000.0},
    {"strategy": "mean_reversion", "stage": "paper", "capital": 20_000.0},
    {"strategy": "xs_momentum", "stage": "live", "capital": 20_000.0},
]


def live_config(tmp: Path, **live: Any) -> KeelConfig:
    """The small test config with three strategies deployed (two paper, one live)."""
    raw = small_config_dict()
    raw["live"] = {"strategies": STRATEGIES, **live}
    return parse_config(raw, tmp / "keel.toml")


def seed_lake(config: KeelConfig, lake: Lake, days: int = DAYS) -> list[datetime]:
    """Candles, funding and features for ``days`` days from ``START``; returns the bars."""
    end = START + timedelta(days=days)
    candles, funding = [], []
    for v in config.venues:
        venue = build_venue(v, config, clock=lambda: end + timedelta(days=30))
        for symbol in v.instruments:
            candles.append(venue.fetch_candles(symbol, "1h", START - timedelta(days=8), end))
            if ":" in symbol:
                funding.append(venue.fetch_funding_rates(symbol, START - timedelta(days=9), end))
    bars, rates = pl.concat(candles), pl.concat(funding)
    lake.upsert(catalog.candles("1h"), bars)
    lake.upsert(catalog.funding_rates(), rates)
    registry = registered_features()
    features = compute_features(feature_input(bars, rates, "1h"), registry.values())
    lake.upsert(
        catalog.features("1h", list(registry)),
        features.filter(pl.col("ts") >= START),
    )
    return [START + timedelta(hours=h) for h in range(days * 24)]


def paper_setup(config: KeelConfig, lake: Lake, tmp: Path, start: datetime) -> tuple[Setup, SimClock]:
    """A paper-only set-up on a simulated clock, journal in its own lake."""
    clock = SimClock(start)
    setup = Setup(
        config,
        lake,
        Lake(tmp / "journal"),
        tmp / "state",
        clock=clock,
        paper_only=True,
        sleep=lambda _: None,
    )
    return setup, clock
