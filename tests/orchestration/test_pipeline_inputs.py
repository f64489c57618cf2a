"""The readers of research results equal a plain polars pivot with forward fill."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl

from assets.pipeline_inputs import positions_of, research_returns
from lake import catalog
from lake.research_trades import read_trades
from lake.store import Lake
from tests.orchestration.ideas_fixtures import seed_research
from trading.config import load_config


def test_returns_and_positions_equal_a_pivot_with_forward_fill(lake: Lake) -> None:
    ts = seed_research(lake)
    # a strategy with a single bar: every other bar of it is missing (a zero return)
    lake.upsert(
        catalog.research_equity(),
        pl.DataFrame(
            {
                "strategy": ["extra"],
                "ts": [ts[5]],
                "net_return": [0.5],
                "equity": [1.0],
                "drawdown": [0.0],
                "gross_exposure": [0.0],
            }
        ),
    )

    returns = research_returns(lake)
    read, fee = positions_of(lake, load_config(), returns.ts, ["trend", "basis"])

    equity = lake.scan(catalog.research_equity()).collect()
    pivot = equity.pivot(on="strategy", index="ts", values="net_return").sort("ts")
    assert returns.names == ["basis", "extra", "mean_reversion", "trend"]
    np.testing.assert_array_equal(
        returns.matrix, pivot.select(returns.names).fill_null(0.0).to_numpy()
    )
    trades = read_trades(lake, ["trend"])
    expected = (
        pl.DataFrame({"ts": returns.ts})
        .join(trades.select("ts", "position"), on="ts", how="left")
        .select(pl.col("position").forward_fill().fill_null(0.0))
        .to_numpy()
    )
    np.testing.assert_array_equal(read("trend"), expected)
    assert read("unknown").shape == (len(returns.ts), 1)
    assert fee.tolist() == [0.0005]


def test_a_lake_written_before_trade_lists_reads_its_per_trade_rows(lake: Lake) -> None:
    ts = seed_research(lake)
    old = pl.DataFrame(
        {
            "strategy": ["old", "old", "trend"],
            "venue": ["sim_alpha"] * 3,
            "symbol": ["BTC/USDT"] * 3,
            "ts": [ts[2], ts[4], ts[1]],
            "trade": [0.25, -0.5, 0.75],
            "position": [0.25, -0.25, 0.75],
        }
    )
    lake.replace(catalog.research_trades(), old, "strategy")  # the form written before

    read, _ = positions_of(lake, load_config(), ts[:6], ["old", "trend"])

    # "old" exists only in the per-trade table; "trend" was written since, its list rows win
    assert read("old")[:, 0].tolist() == [0.0, 0.0, 0.25, 0.25, -0.25, -0.25]
    first = read_trades(lake, ["trend"])["position"][0]  # its trade at bar 0, held through 5
    assert read("trend")[:, 0].tolist() == [first] * 6
    assert read_trades(lake, ["old"])["trade"].to_list() == [0.25, -0.5]


def test_a_lake_holding_only_per_trade_rows_reads_them(lake: Lake) -> None:
    ts = pl.Series([datetime(2024, 1, 1, h, tzinfo=UTC) for h in range(3)]).dt.cast_time_unit("us")
    old = pl.DataFrame(
        {
            "strategy": ["old"],
            "venue": ["sim_alpha"],
            "symbol": ["BTC/USDT"],
            "ts": [ts[1]],
            "trade": [0.5],
            "position": [0.5],
        }
    )
    lake.replace(catalog.research_trades(), old, "strategy")
    assert not lake.exists(catalog.research_trade_lists())

    read, _ = positions_of(lake, load_config(), ts, ["old"])

    assert read("old")[:, 0].tolist() == [0.0, 0.5, 0.5]
    assert read_trades(lake).equals(old)
