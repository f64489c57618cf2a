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
