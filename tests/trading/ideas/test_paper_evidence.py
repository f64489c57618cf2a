"""Paper evidence from journal frames: parity, notional-weighted shortfall and the drawdown of
a strategy's own target book."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from trading.ideas.paper import book_drawdown, parity_passed, shortfall_bps, stint_evidence

T0 = datetime(2024, 3, 1, tzinfo=UTC)
H = timedelta(hours=1)


def _targets(
    prices: list[float], held: list[float], capital: float = 1_000.0, **kw: str
) -> pl.DataFrame:
    n = len(prices)
    return pl.DataFrame(
        {
            "strategy": [kw.get("strategy", "trend")] * n,
            "account": [kw.get("account", "paper")] * n,
            "venue": ["sim"] * n,
            "symbol": ["BTC/USDT"] * n,
            "bar": [T0 + i * H for i in range(n)],
            "at": [T0 + i * H + timedelta(minutes=1) for i in range(n)],
            "contribution": held,
            "price": prices,
            "capital": [capital] * n,
        }
    )


def _reference_drawdown(prices: list[float], held: list[float], capital: float) -> float:
    equity, peak, worst = 1.0, 1.0, 0.0
    for i in range(1, len(prices)):
        equity *= 1.0 + held[i - 1] * (prices[i] - prices[i - 1]) / capital
        peak = max(peak, equity)
        worst = min(worst, equity / peak - 1.0)
    return worst


def test_held_target_marked_at_next_price_gives_the_drop() -> None:
    frame = _targets([100.0, 90.0, 99.0], [1.0, 1.0, 1.0])

    assert abs(book_drawdown(frame) - (-0.01)) < 1e-12


def test_no_targets_have_no_drawdown() -> None:
    assert book_drawdown(_targets([], [])) == 0.0


def test_rerun_bar_counts_once_with_its_newest_run() -> None:
    frame = _targets([100.0, 90.0], [1.0, 1.0])
    rerun = frame.tail(1).with_columns(price=pl.lit(80.0), at=pl.col("at") + timedelta(minutes=5))

    assert abs(book_drawdown(pl.concat([frame, rerun])) - (-0.02)) < 1e-12


@given(
    st.lists(st.floats(50.0, 150.0), min_size=2, max_size=20),
    st.floats(-5.0, 5.0),
)
def test_drawdown_matches_a_simple_reference(prices: list[float], size: float) -> None:
    held = [size] * len(prices)
    got = book_drawdown(_targets(prices, held))

    assert abs(got - _reference_drawdown(prices, held, 1_000.0)) < 1e-9
    assert got <= 0.0


def test_no_parity_rows_do_not_pass() -> None:
    assert not parity_passed(pl.DataFrame({"passed": []}, schema={"passed": pl.Boolean}))


def test_one_failing_parity_row_fails_parity() -> None:
    assert not parity_passed(pl.DataFrame({"passed": [True, False, True]}))
    assert parity_passed(pl.DataFrame({"passed": [True, True]}))


def test_shortfall_is_weighted_by_notional() -> None:
    rows = pl.DataFrame({"notional": [100.0, 300.0], "realized_bps": [10.0, 20.0], "fills": [1, 3]})

    assert shortfall_bps(rows) == (17.5, 4)
    assert shortfall_bps(rows.head(0)) == (0.0, 0)


def test_stint_evidence_reads_only_its_strategy_stage_and_period() -> None:
    since = T0 + H
    parity = pl.DataFrame(
        {
            "strategy": ["trend", "trend", "other"],
            "bar": [T0, T0 + 2 * H, T0 + 2 * H],
            "passed": [False, True, False],  # the failure before the stint does not count
        }
    )
    shortfall = pl.DataFrame(
        {
            "strategy": ["trend", "trend", "other"],
            "account": ["paper", "live", "paper"],
            "fills": [2, 5, 1],
            "notional": [500.0, 500.0, 500.0],
            "realized_bps": [8.0, 40.0, 99.0],
        }
    )
    targets = pl.concat(
        [
            _targets([100.0, 100.0, 95.0, 100.0], [1.0, 1.0, 1.0, 1.0]),
            _targets([100.0, 50.0], [1.0, 1.0], account="live"),
        ]
    )

    evidence, fills = stint_evidence(
        "trend", "paper", since, since + timedelta(days=2), parity, shortfall, targets
    )

    assert evidence.days == 2.0
    assert evidence.parity_passed
    assert (evidence.shortfall_bps, fills) == (8.0, 2)
    assert abs(evidence.max_drawdown - (-0.005)) < 1e-12
