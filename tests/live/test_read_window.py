"""A replay reads its bars' feature rows and candles once (``read_window``); every bar it
serves must equal what a read of the lake gives, and a feature table that moved on is read
from the lake again."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from lake import catalog
from lake.live import read_bar, read_window
from lake.store import Lake
from tests.live.helpers import live_config, seed_lake
from trading.features.registry import registered_features


def _sorted(df: pl.DataFrame) -> pl.DataFrame:
    return df.sort("venue", "symbol", "ts")


def test_every_bar_from_the_window_equals_a_read_of_the_lake(tmp_path: Path) -> None:
    config = live_config(tmp_path)
    lake = Lake(tmp_path / "lake")
    bars = seed_lake(config, lake, days=2)[-6:]
    window = read_window(lake, "1h", bars)
    assert window is not None

    for bar in bars:
        direct, served = read_bar(lake, "1h", bar), read_bar(lake, "1h", bar, (), window)
        assert served.features_version == direct.features_version
        assert _sorted(served.tail).equals(_sorted(direct.tail))
        assert served.tail.height > 0
        assert served.prices == direct.prices
        assert served.market == direct.market


def test_a_feature_table_that_moved_on_is_read_from_the_lake(tmp_path: Path) -> None:
    config = live_config(tmp_path)
    lake = Lake(tmp_path / "lake")
    bars = seed_lake(config, lake, days=2)[-2:]
    window = read_window(lake, "1h", bars)
    assert window is not None
    spec = catalog.features("1h", list(registered_features()))
    moved = lake.scan(spec).filter(pl.col("ts") == bars[-1]).collect()
    lake.upsert(spec, moved.with_columns(pl.col(moved.columns[-1]) * 0 + 7.0))

    served = read_bar(lake, "1h", bars[-1], (), window)

    assert served.features_version == window.version + 1
    assert served.tail[moved.columns[-1]].to_list() == [7.0] * moved.height
