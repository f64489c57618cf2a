"""The trading run holds a silent strategy's units through price moves, as the backtest does."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from assets.live_run import replay
from lake.live import LakeJournal
from lake.store import Lake
from tests.live.helpers import assert_books_agree, live_config, paper_setup, seed_lake
from trading.models.registry import Strategy

Seeded = tuple[Path, list[datetime]]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    root = tmp_path_factory.mktemp("seeded")
    return root, seed_lake(live_config(root), Lake(root / "lake"), days=1)


def test_a_strategy_silent_after_its_first_bar_holds_its_units_and_places_no_order(
    seeded: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, bars = seeded
    deployed = [{"strategy": "trend", "stage": "paper", "capital": 20_000.0}]
    setup, clock = paper_setup(
        live_config(root, strategies=deployed), Lake(root / "lake"), tmp_path, bars[0]
    )
    research = Strategy.targets

    def silent_after_first_bar(self: Strategy, features: pl.DataFrame) -> Any:
        out = research(self, features)
        keep = pl.when(pl.col("ts") == bars[0]).then(pl.col("weight"))
        return out.with_columns(weight=keep)  # null after the first bar: no signal

    monkeypatch.setattr(Strategy, "targets", silent_after_first_bar)
    reports = replay(setup, bars[:5], clock)

    assert reports[0].orders
    assert [len(r.orders) for r in reports[1:]] == [0, 0, 0, 0]
    held = LakeJournal(setup.journal_lake).read("net_targets")
    first = held.filter(bar=bars[0]).filter(pl.col("contribution") != 0.0)
    assert first.height > 0
    for bar in bars[1:5]:
        now = held.filter(bar=bar)
        assert now["weight"].null_count() == now.height  # every row a hold
        same = first.select("symbol", "contribution").join(
            now.select("symbol", "contribution"), on="symbol", suffix="_now"
        )
        assert same.height == first.height
        assert (same["contribution"] - same["contribution_now"]).abs().max() < 1e-12  # type: ignore[operator]
    prices = (
        held.filter(pl.col("bar").is_in(bars[:5]))
        .group_by("symbol")
        .agg(pl.col("price").n_unique())
    )
    assert prices["price"].max() == 5  # type: ignore[comparison-overlap]  # prices moved every bar
    assert_books_agree(setup)


def test_a_strategy_without_rows_after_its_first_bar_keeps_its_units_in_the_net(
    seeded: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, bars = seeded
    deployed = [
        {"strategy": "trend", "stage": "paper", "capital": 20_000.0},
        {"strategy": "xs_momentum", "stage": "paper", "capital": 20_000.0},
    ]
    setup, clock = paper_setup(
        live_config(root, strategies=deployed), Lake(root / "lake"), tmp_path, bars[0]
    )
    research = Strategy.targets

    def trend_silent_after_first_bar(self: Strategy, features: pl.DataFrame) -> Any:
        out = research(self, features)
        return out.filter(pl.col("ts") == bars[0]) if self.name == "trend" else out

    monkeypatch.setattr(Strategy, "targets", trend_silent_after_first_bar)
    replay(setup, bars[:4], clock)

    rows = LakeJournal(setup.journal_lake).read("net_targets")
    trend = rows.filter(strategy="trend").filter(pl.col("contribution") != 0.0)
    first = trend.filter(bar=bars[0]).select("symbol", "contribution")
    assert first.height > 0
    for bar in bars[1:4]:
        kept = trend.filter(bar=bar)
        assert kept["weight"].null_count() == kept.height
        same = first.join(kept.select("symbol", "contribution"), on="symbol", suffix="_now")
        assert same.height == first.height == kept.height
        assert (same["contribution"] / same["contribution_now"] - 1.0).abs().max() < 1e-12  # type: ignore[operator]
        net = (
            rows.filter(bar=bar)
            .group_by("symbol")
            .agg(pl.col("contribution").sum(), pl.col("net_target").first())
        )
        assert (net["contribution"] - net["net_target"]).abs().max() < 1e-9  # type: ignore[operator]
    assert_books_agree(setup)
