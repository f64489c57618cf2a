"""The rewards and volume report's rows, from fills and from plans, worked by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from trading import frames
from trading.execution.config import FeeTiers, RoutingConfig, VenueRewards
from trading.execution.report import (
    daily_rows,
    trades_from_fills,
    with_tier_progress,
)

DAY = date(2026, 11, 2)
TS = datetime(2026, 11, 2, 10, tzinfo=UTC)
CONFIG = RoutingConfig(
    venues={
        "a": VenueRewards(
            tiers=FeeTiers(taker=((0.0, 0.0005), (1e6, 0.0004))), volume_30d_usd=300_000.0
        ),
        "b": VenueRewards(points_per_usd_taker=0.001, point_value_usd=0.1),
    }
)


def _fills(rows: list[tuple[str, str, float, float, float, str, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            (v, sym, f"f{i}", "o", "c", "buy", amt, px, fee, asset, liq, TS)
            for i, (v, sym, amt, px, fee, asset, liq) in enumerate(rows)
        ],
        schema=dict(frames.FILLS),
        orient="row",
    )


def test_fills_give_volume_fees_rebates_and_points_per_venue() -> None:
    fills = _fills(
        [
            ("a", "BTC/USDT:USDT", 2.0, 100.0, 0.1, "USDT", "taker"),
            ("a", "BTC/USDT:USDT", 1.0, 100.0, -0.01, "USDT", "maker"),
            ("b", "BTC/USDT", 1.0, 100.0, 0.0001, "BTC", "taker"),  # fee in base: 0.01 USD
            ("b", "ETH/USDT", 1.0, 50.0, 0.02, "BNB", "taker"),  # no price for BNB here
        ]
    )
    rows = daily_rows(DAY, trades_from_fills(fills), CONFIG, "fills")
    expected = {
        "venue": ["a", "b", "all"],
        "orders": [2, 2, 4],
        "volume_usd": [300.0, 150.0, 450.0],
        "maker_volume_usd": [100.0, 0.0, 100.0],
        "taker_volume_usd": [200.0, 150.0, 350.0],
        "fees_usd": [0.1, 0.01, 0.11],
        "rebates_usd": [0.01, 0.0, 0.01],
        "points": [0.0, 0.15, 0.15],
        "points_value_usd": [0.0, 0.015, 0.015],
    }
    for column, values in expected.items():
        got = rows[column].to_list()
        assert got == (values if column in ("venue", "orders") else pytest.approx(values)), column
    assert rows["source"].unique().to_list() == ["fills"]
    assert rows["saved_vs_single_usd"].to_list() == [None, None, None]  # no plans given


def test_thirty_day_volume_carries_the_configured_volume_and_names_the_next_tier() -> None:
    day1 = daily_rows(
        DAY,
        trades_from_fills(_fills([("a", "X/USDT", 1.0, 600_000.0, 0.0, "USDT", "taker")])),
        CONFIG,
        "fills",
    )
    later = DAY.replace(day=3)
    day2 = daily_rows(
        later,
        trades_from_fills(_fills([("a", "X/USDT", 1.0, 200_000.0, 0.0, "USDT", "taker")])),
        CONFIG,
        "fills",
    )
    out = with_tier_progress(pl.concat([day1, day2]), CONFIG).filter(pl.col("venue") == "a")
    # 300k configured, decaying by a 30th a day, plus the report's own volume
    assert out["volume_30d_usd"].to_list() == pytest.approx(
        [300_000.0 * 29 / 30 + 600_000.0, 300_000.0 * 28 / 30 + 800_000.0]
    )
    assert out["next_tier_volume_usd"].to_list() == [1e6, None]  # the second day passed it
