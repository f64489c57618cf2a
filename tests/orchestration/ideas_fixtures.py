"""A lake holding what research writes (equity, trades, metrics) for a few registered
strategies over 120 days of hourly bars, and BTC candles that rise then fall."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from lake import catalog
from lake.research_trades import to_lists
from lake.store import Lake

START = datetime(2024, 1, 1, tzinfo=UTC)
BARS = 120 * 24
# strategy -> (mean hourly return, hourly volatility): trend earns steadily, mean reversion bleeds
DRIFTS = {"trend": (0.0003, 0.002), "mean_reversion": (-0.0002, 0.003), "basis": (0.0001, 0.001)}


def seed_research(lake: Lake, seed: int = 0) -> pl.Series:
    """Write research results and BTC closes; returns the bars."""
    rng = np.random.default_rng(seed)
    ts = pl.Series("ts", [START + timedelta(hours=h) for h in range(BARS)]).dt.cast_time_unit("us")
    equity, trades, metrics = [], [], []
    day = np.arange(0, BARS, 24)
    for name, (mean, vol) in DRIFTS.items():
        net = rng.normal(mean, vol, BARS)
        equity.append(
            pl.DataFrame(
                {
                    "strategy": name,
                    "ts": ts,
                    "net_return": net,
                    "equity": np.cumprod(1 + net),
                    "drawdown": 0.0,
                    "gross_exposure": 1.0,
                }
            )
        )
        trades.append(
            pl.DataFrame(
                {
                    "strategy": name,
                    "venue": "sim_alpha",
                    "symbol": "BTC/USDT",
                    "ts": ts.gather(day),
                    "trade": 0.1,
                    "position": rng.uniform(-1, 1, len(day)),
                }
            )
        )
        metrics.append({"strategy": name, "run_id": f"run-{name}"})
    lake.replace(catalog.research_equity(), pl.concat(equity), "strategy")
    lake.replace(catalog.research_trade_lists(), to_lists(pl.concat(trades)), "strategy")
    layout = catalog.research_metrics().layout
    rows = pl.DataFrame(metrics).with_columns(
        [
            pl.lit(None, dtype=t).alias(c)
            for c, t in layout.items()
            if c not in ("strategy", "run_id")
        ]
    )
    lake.upsert(catalog.research_metrics(), rows.select(list(layout)))
    # BTC: up 40% over 60 days, then down 40%: bull, then bear and crash.
    path = np.concatenate([np.linspace(0, 0.35, BARS // 2), np.linspace(0.35, -0.2, BARS // 2)])
    close = 40_000 * np.exp(path + rng.normal(0, 0.004, BARS).cumsum() * 0.1)
    lake.upsert(
        catalog.candles("1h"),
        pl.DataFrame(
            {
                "venue": "sim_alpha",
                "symbol": "BTC/USDT",
                "timeframe": "1h",
                "ts": ts,
                "date": ts.dt.date(),
                "open": close,
                "high": close,
                "low": close,
                "close": close,
                "volume": 1.0,
            }
        ),
    )
    return ts
