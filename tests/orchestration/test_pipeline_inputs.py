"""The readers of research results equal a plain polars pivot with forward fill."""

from __future__ import annotations

import numpy as np
import polars as pl

from assets.pipeline_inputs import positions_of, research_returns
from lake import catalog
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
    trades = lake.scan(catalog.research_trades()).filter(pl.col("strategy") == "trend").collect()
    expected = (
        pl.DataFrame({"ts": returns.ts})
        .join(trades.select("ts", "position"), on="ts", how="left")
        .select(pl.col("position").forward_fill().fill_null(0.0))
        .to_numpy()
    )
    np.testing.assert_array_equal(read("trend"), expected)
    assert read("unknown").shape == (len(returns.ts), 1)
    assert fee.tolist() == [0.0005]
