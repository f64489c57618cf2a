"""The portfolio and regime analysis in one pass, from aligned per-bar series (pure: the
caller reads them from the lake): regime labels from BTC, weights re-estimated on past data
only, the netted backtest beside the sum of its parts, the regime report of every strategy
and of the portfolio, the correlation clusters, and each candidate's marginal effect."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import NDArray

from trading.portfolio.allocation import AllocationConfig, rebalance_bars, rolling_weights
from trading.portfolio.combined import Combined, combine
from trading.portfolio.diversity import clusters, correlation, marginal_effects
from trading.regimes.labels import RegimeConfig, lagged, regime_labels, simple_returns
from trading.regimes.report import group_masks, regime_report

Array = NDArray[np.float64]
PORTFOLIO = "PORTFOLIO"
BENCHMARK = "BTC"


@dataclass(frozen=True, slots=True)
class Book:
    """Everything the portfolio and regime assets, and ``keel report regimes``, show."""

    ts: pl.Series
    names: list[str]
    returns: Array  # bars × strategies (research net returns)
    benchmark: Array  # BTC's return per bar
    labels: NDArray[np.str_]  # regime of each bar (known at its close)
    judged: NDArray[np.str_]  # regime each bar's return is judged by (the bar before's)
    trend: Array
    volatility: Array
    members: list[str]
    weights: Array  # bars × members
    combined: Combined
    report: pl.DataFrame
    correlation: Array
    clusters: NDArray[np.int64]
    marginal: pl.DataFrame

    def weights_frame(
        self, method: str, bars_per_day: float, config: AllocationConfig
    ) -> pl.DataFrame:
        """Weights at each rebalance bar, one row per member (for ``portfolio/weights``)."""
        rows = []
        for t in rebalance_bars(len(self.ts), bars_per_day, config):
            for j, name in enumerate(self.members):
                rows.append(
                    {
                        "ts": self.ts[t],
                        "strategy": name,
                        "weight": float(self.weights[t, j]),
                        "method": method,
                    }
                )
        schema: dict[str, pl.DataType | type[pl.DataType]] = {
            "ts": self.ts.dtype,
            "strategy": pl.String,
            "weight": pl.Float64,
            "method": pl.String,
        }
        return pl.DataFrame(rows, schema=schema)

    def equity_frame(self) -> pl.DataFrame:
        """The netted portfolio and the sum of its parts per bar (for ``portfolio/equity``)."""
        c = self.combined
        parts = pl.DataFrame(
            {
                "ts": self.ts,
                "series": "sum_of_parts",
                "net_return": c.parts_return,
                "equity": c.parts_equity,
                "turnover": c.parts_turnover,
                "regime": self.judged.tolist(),
            }
        )
        netted = pl.DataFrame(
            {
                "ts": self.ts,
                "series": "portfolio",
                "net_return": c.combined_return,
                "equity": c.combined_equity,
                "turnover": c.net_turnover,
                "regime": self.judged.tolist(),
            }
        )
        return pl.concat([netted, parts])

    def labels_frame(self) -> pl.DataFrame:
        """Regime label, trend and volatility per bar (for ``regimes/labels``)."""
        return pl.DataFrame(
            {
                "ts": self.ts,
                "regime": self.labels.tolist(),
                "trend": self.trend,
                "volatility": self.volatility,
            }
        ).with_columns(pl.col("trend").fill_nan(None), pl.col("volatility").fill_nan(None))


def analyse(
    ts: pl.Series,
    names: Sequence[str],
    returns: Array,
    members: Sequence[str],
    benchmark_close: Array,
    bars_per_day: float,
    regimes: RegimeConfig,
    allocation: AllocationConfig,
    positions: Callable[[str], Array] | None = None,
    fee: Array | None = None,
) -> Book:
    """The whole analysis. ``returns`` is bars × strategies (``names``), ``members`` the
    portfolio's strategies (paper and live), ``benchmark_close`` BTC's close per bar;
    ``positions(name)`` (bars × instruments) and ``fee`` per instrument enable the netted
    backtest (without them the portfolio is the sum of its parts)."""
    names = list(names)
    missing = [m for m in members if m not in names]
    if missing:
        raise ValueError(
            f"portfolio members {missing} have no research returns; research them first"
        )
    bars_per_year = bars_per_day * 365.0
    labels, trend, vol = regime_labels(benchmark_close, bars_per_day, regimes)
    judged = lagged(labels)
    bench = simple_returns(benchmark_close)
    index = [names.index(m) for m in members]
    member_returns = returns[:, index]
    weights = rolling_weights(member_returns, bars_per_day, allocation)
    if positions is not None and fee is not None and members:
        member_names = list(members)
        combined = combine(weights, member_returns, lambda s: positions(member_names[s]), fee)
    else:
        combined = combine(weights, member_returns, lambda s: np.zeros((len(ts), 0)), np.zeros(0))
    series = np.column_stack([returns, combined.combined_return, bench])
    report = regime_report(
        series, [*names, PORTFOLIO, BENCHMARK], bench, judged, bars_per_year, regimes
    )
    corr = correlation(returns)
    bad = group_masks(judged, regimes.bad)["bad"]
    others = [j for j, n in enumerate(names) if n not in members]
    marginal = marginal_effects(
        member_returns,
        returns[:, others],
        [names[j] for j in others],
        bench,
        bad,
        bars_per_year,
        allocation.method,
        allocation.max_weight,
    )
    return Book(
        ts=ts,
        names=names,
        returns=returns,
        benchmark=bench,
        labels=labels,
        judged=judged,
        trend=trend,
        volatility=vol,
        members=list(members),
        weights=weights,
        combined=combined,
        report=report,
        correlation=corr,
        clusters=clusters(corr),
        marginal=marginal,
    )
