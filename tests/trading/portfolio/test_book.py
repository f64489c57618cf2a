"""The whole analysis: the portfolio up to a bar does not change when later bars are cut off,
and the regime report carries every strategy, the portfolio and BTC."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.portfolio.allocation import AllocationConfig
from trading.portfolio.book import BENCHMARK, PORTFOLIO, analyse
from trading.regimes.labels import RegimeConfig

BARS, PER_DAY = 24 * 40, 24.0
ALLOCATION = AllocationConfig(lookback_days=10, rebalance_days=3, min_history_days=4)
REGIMES = RegimeConfig(trend_days=5, vol_days=2, bootstrap=50)


def _inputs(seed: int) -> tuple[pl.Series, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ts = pl.Series("ts", np.arange(BARS) * 3_600_000_000, dtype=pl.Datetime("us", "UTC"))
    returns = rng.normal(0.0, 0.01, (BARS, 4))
    close = 100 * np.exp(np.cumsum(rng.normal(0.0, 0.01, BARS)))
    return ts, returns, close


def _positions(name: str) -> np.ndarray:
    rng = np.random.default_rng(ord(name))
    return np.repeat(rng.normal(0, 0.3, (BARS // 12, 3)), 12, axis=0)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 1000), cut=st.integers(24 * 5, BARS - 1))
def test_the_portfolio_up_to_a_bar_ignores_every_later_bar(seed: int, cut: int) -> None:
    ts, returns, close = _inputs(seed)
    names, members, fee = ["a", "b", "c", "d"], ["a", "b", "c"], np.full(3, 0.001)

    full = analyse(
        ts, names, returns, members, close, PER_DAY, REGIMES, ALLOCATION, _positions, fee
    )
    part = analyse(
        ts[:cut],
        names,
        returns[:cut],
        members,
        close[:cut],
        PER_DAY,
        REGIMES,
        ALLOCATION,
        lambda n: _positions(n)[:cut],
        fee,
    )

    np.testing.assert_array_equal(part.weights, full.weights[:cut])
    np.testing.assert_allclose(part.combined.combined_return, full.combined.combined_return[:cut])
    assert part.labels.tolist() == full.labels[:cut].tolist()


def test_the_report_covers_strategies_portfolio_and_btc_in_every_group() -> None:
    ts, returns, close = _inputs(1)

    book = analyse(
        ts, ["a", "b", "c", "d"], returns, ["a", "b"], close, PER_DAY, REGIMES, ALLOCATION
    )

    assert book.report.height == 6 * 6  # 4 strategies + portfolio + BTC, 6 groups
    assert set(book.report["strategy"]) == {"a", "b", "c", "d", PORTFOLIO, BENCHMARK}
    assert book.marginal["candidate"].sort().to_list() == ["c", "d"]
    np.testing.assert_allclose(book.combined.combined_return, book.combined.parts_return)
