"""The engine against a plain per-bar account, and each of its rules on a case worked by hand."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from tests.trading.backtest_reference import REWARDING, reference_equity
from tests.trading.markets import FREE, random_market, simple_market
from trading import frames
from trading.backtest.engine import (
    Settings,
    market_from_frames,
    run,
    weights_matrix,
)
from trading.costs import VenueCosts
from trading.execution.config import MakerModel, RoutingConfig


def test_the_target_of_bar_t_is_held_through_bar_t_plus_1() -> None:
    market = simple_market([[100.0], [110.0], [121.0], [121.0]])
    weights = np.array([[0.0], [1.0], [0.0], [0.0]])  # decided at the close of bar 1

    result = run(market, weights)

    assert result.positions[:, 0].tolist() == [0.0, 0.0, 1.0, 0.0]
    assert result.gross.tolist() == pytest.approx([0.0, 0.0, 0.1, 0.0])  # bar 1's +10% is missed
    assert result.equity[-1] == pytest.approx(1.1)


def test_no_signal_holds_the_position_and_zero_closes_it() -> None:
    market = simple_market([[100.0], [110.0], [121.0], [133.1], [133.1]])
    weights = np.array([[0.0], [1.0], [np.nan], [0.0], [np.nan]])

    result = run(market, weights)

    # NaN at bar 2: no order, the long is held through bar 3; the 0 at bar 3 closes it.
    assert result.positions[:, 0].tolist() == pytest.approx([0.0, 0.0, 1.0, 1.0, 0.0])
    assert result.turnover.tolist() == pytest.approx([0.0, 0.0, 1.0, 0.0, 1.0])
    assert result.equity[-1] == pytest.approx(1.21)


def test_trading_back_to_target_after_a_drift_is_charged() -> None:
    # Half in each of two instruments; one doubles. Holding 0.5/0.5 needs a trade back.
    market = simple_market([[100.0, 100.0], [100.0, 100.0], [200.0, 100.0], [200.0, 100.0]])
    weights = np.full((4, 2), 0.5)

    result = run(market, weights)

    # After bar 2 the book is 2/3 and 1/3 of equity 1.5: back to 1/2 is 1/6 each way.
    assert result.trades[3].tolist() == pytest.approx([-1 / 6, 1 / 6])
    assert result.turnover.tolist() == pytest.approx([0.0, 0.0, 1.0, 1 / 3])


def test_impact_is_sized_on_current_equity_not_starting_capital() -> None:
    # The price halves while fully long, then the target goes to zero: the sale is
    # half the starting capital, and the impact follows that size.
    close = [[100.0]] * 30 + [[100.0], [50.0], [50.0]]
    market = simple_market(
        close, volume=1e6, costs=VenueCosts(0.0, 0.0, 0.0, 1.0), liquidity_days=5
    )
    weights = np.zeros((33, 1))
    weights[29:31] = 1.0  # bought at the close of bar 29 (flat history: no volatility, no impact)
    result = run(market, weights, Settings(capital=1e6))

    sigma = market.daily_vol[31, 0]
    adv = market.adv[31, 0]
    assert sigma > 0
    # Selling everything at equity 0.5: notional 0.5 × 1e6.
    expected = 1.0 * sigma * math.sqrt(0.5e6 / adv)
    assert result.slippage[32] == pytest.approx(expected, rel=1e-12)


def test_fee_by_style_spread_and_impact_by_hand() -> None:
    costs = VenueCosts(maker_fee=-0.0001, taker_fee=0.0005, half_spread_bps=2.0, impact_k=0.5)
    rng = np.random.default_rng(1)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (60, 1)), axis=0))
    market = simple_market(close, volume=1e5, costs=costs, liquidity_days=10)
    weights = np.zeros((60, 1))
    weights[40:] = 0.5

    taker = run(market, weights, Settings(capital=1e5))
    maker = run(market, weights, Settings(capital=1e5, style="maker"))

    equity = taker.equity[40]
    notional = 0.5 * equity * 1e5
    impact = 0.5 * market.daily_vol[40, 0] * math.sqrt(notional / market.adv[40, 0])
    assert taker.fees[41] == pytest.approx(0.5 * 0.0005)
    assert taker.slippage[41] == pytest.approx(0.5 * (2e-4 + impact), rel=1e-12)
    # maker at the router's default model: 60% fills at the rebate (+1 bp adverse selection),
    # 40% crosses as a taker (fee, half spread, impact on the rest), 1 bp urgency on the whole
    assert maker.fees[41] == pytest.approx(0.5 * (0.6 * -0.0001 + 0.4 * 0.0005))
    rest = (0.4 * 2.0 + 0.6 * 1.0 + 1.0) * 1e-4 + 0.4**1.5 * impact
    assert maker.slippage[41] == pytest.approx(0.5 * rest, rel=1e-12)
    sure = RoutingConfig(maker=MakerModel(fill_probability=1.0, adverse_selection_bps=0.0))
    bare = run(
        market,
        weights,
        Settings(capital=1e5, style="maker", routing=sure.model_copy(update={"urgency_bps": 0.0})),
    )
    assert bare.fees[41] == pytest.approx(0.5 * -0.0001)  # a sure fill: the rebate shows
    assert bare.slippage[41] == 0.0


def test_funding_settled_at_a_bar_close_is_paid_by_the_position_held_through_that_bar() -> None:
    market = simple_market([[100.0]] * 4, funding=[[0.0], [0.0], [0.001], [0.0]])
    weights = np.array([[0.0], [0.5], [0.0], [0.0]])

    result = run(market, weights)

    assert result.funding.tolist() == pytest.approx([0.0, 0.0, 0.0005, 0.0])  # long pays


def test_equity_that_reaches_zero_ends_the_backtest() -> None:
    market = simple_market([[100.0], [100.0], [40.0], [10.0], [100.0]])
    weights = np.full((5, 1), -1.0)  # short: loses 60% then another 75% of the price move

    result = run(market, weights)

    assert result.equity.tolist() == pytest.approx([1.0, 1.0, 1.6, 1.6 * 1.75, 0.0])
    weights = np.full((5, 1), 1.0)
    market = simple_market([[100.0], [100.0], [0.0], [50.0], [100.0]])
    result = run(market, weights)
    assert result.equity.tolist() == [1.0, 1.0, 0.0, 0.0, 0.0]
    assert result.positions[3:].tolist() == [[0.0], [0.0]]


def test_a_position_is_held_across_a_missing_bar_and_marked_at_the_next_price() -> None:
    nan = math.nan
    with_gap = simple_market([[100.0, 10.0], [100.0, 10.0], [nan, 10.0], [94.0, 10.0]])
    weights = np.array([[1.0, 0.0]] * 4)

    result = run(with_gap, weights)

    assert result.equity[-1] == pytest.approx(0.94)  # the −6% across the gap is taken
    alone = run(simple_market([[100.0], [100.0], [nan], [94.0]]), weights[:, :1])
    np.testing.assert_allclose(alone.equity, result.equity, atol=1e-15)


def test_drift_inside_the_rebalancing_band_is_not_traded_but_closing_is() -> None:
    close = [[100.0, 100.0], [100.0, 100.0], [110.0, 100.0], [110.0, 100.0], [110.0, 100.0]]
    weights = np.array([[0.5, 0.5]] * 3 + [[0.0, 0.5]] * 2)

    result = run(simple_market(close), weights, Settings(band=0.05))

    # After +10% on the first: 0.55/1.05 = 0.5238 vs 0.5, a 2.4% drift, inside the 5% band.
    assert result.trades[3].tolist() == [0.0, 0.0]
    assert result.trades[4, 0] == pytest.approx(-0.55 / 1.05)  # closing is always sent


def test_orders_below_the_minimum_notional_or_amount_are_not_sent() -> None:
    market = simple_market([[100.0]] * 4)
    costs = market.costs
    tiny = replace(market, costs=replace(costs, min_notional=np.array([20.0])))
    weights = np.full((4, 1), 0.1)

    assert run(tiny, weights, Settings(capital=100.0)).positions[:, 0].tolist() == [0.0] * 4
    assert run(tiny, weights, Settings(capital=1000.0)).positions[2, 0] == pytest.approx(0.1)
    by_amount = replace(market, costs=replace(costs, min_amount=np.array([2.0])))
    assert run(by_amount, weights, Settings(capital=1000.0)).positions[2, 0] == 0.0  # 1 unit


def test_spot_shorts_pay_the_borrow_rate_and_swaps_do_not() -> None:
    spot = simple_market([[100.0]] * 3, spot=True, borrow_rate=0.0876)
    swap = simple_market([[100.0]] * 3, spot=False, borrow_rate=0.0876)
    weights = np.full((3, 1), -0.5)

    assert run(spot, weights).borrow.tolist() == pytest.approx([0.0, 0.0, 0.5 * 0.0876 / 365])
    assert run(swap, weights).borrow.tolist() == [0.0, 0.0, 0.0]


def test_execution_delay_fills_a_bar_later() -> None:
    market = simple_market([[100.0], [100.0], [110.0], [121.0]])
    weights = np.array([[0.0], [1.0], [0.0], [0.0]])

    now = run(market, weights)
    later = run(market, weights, Settings(delay=1))

    assert now.positions[:, 0].tolist() == [0.0, 0.0, 1.0, 0.0]
    assert later.positions[:, 0].tolist() == [0.0, 0.0, 0.0, 1.0]
    assert later.equity[-1] == pytest.approx(1.1)  # the fill after the decision bar


def test_daily_volume_does_not_depend_on_the_bar_length() -> None:
    hourly = simple_market([[100.0]] * 72, volume=1e4, liquidity_days=2, bars_per_year=8760.0)
    daily = simple_market([[100.0]] * 3, volume=24e4, liquidity_days=2)

    assert hourly.adv[71, 0] == pytest.approx(24e4)
    assert daily.adv[2, 0] == pytest.approx(24e4)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_vectorized_engine_matches_the_per_bar_account(seed: int) -> None:
    market = random_market(seed)
    bars, n = market.close.shape
    rng = np.random.default_rng(100 + seed)
    weights = np.clip(rng.normal(0, 0.4, (bars, n)), -1, 1)
    if seed % 2:  # NaN or inf is no signal: the position is held there
        weights[rng.random((bars, n)) < 0.02] = rng.choice([np.nan, np.inf, -np.inf])
    settings = Settings(
        capital=50_000.0,
        style=("taker", "taker", "maker", "auto")[seed],  # type: ignore[arg-type]
        delay=seed % 2,
        band=0.02 * (seed % 3),
        routing=REWARDING if seed >= 2 else RoutingConfig(),
    )

    fast = run(market, weights, settings).equity

    np.testing.assert_allclose(fast, reference_equity(market, weights, settings), rtol=0, atol=1e-9)


def test_frames_pivot_into_aligned_matrices_and_targets_align() -> None:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    ts = [t0 + timedelta(hours=h) for h in range(3)]
    candles = frames.conform(
        pl.DataFrame(
            {
                "venue": ["a"] * 3 + ["b"] * 2,
                "symbol": ["X/USDT:USDT"] * 3 + ["X/USDT"] * 2,
                "timeframe": "1h",
                "ts": ts + ts[:2],
                "date": [t.date() for t in ts + ts[:2]],
                "open": 1.0,
                "high": 1.0,
                "low": 1.0,
                "close": [1.0, 2.0, 3.0, 4.0, 5.0],
                "volume": 2.0,
            }
        ),
        frames.CANDLES,
    )
    funding = pl.DataFrame(
        {
            "venue": ["a"],
            "symbol": ["X/USDT:USDT"],
            "ts": [t0 + timedelta(hours=2)],  # settles at the close of bar 1
            "funding_rate": [0.001],
        }
    ).with_columns(pl.col("ts").dt.cast_time_unit("us"))
    fees = {"a": VenueCosts(0.0, 0.001), "b": VenueCosts(0.0, 0.002)}

    market = market_from_frames(candles, funding, fees, 60)
    targets = pl.DataFrame(
        {"venue": ["b"], "symbol": ["X/USDT"], "ts": [t0 + timedelta(hours=1)], "weight": [0.5]}
    ).with_columns(pl.col("ts").dt.cast_time_unit("us"))

    assert market.instruments == [("a", "X/USDT:USDT"), ("b", "X/USDT")]
    assert np.isnan(market.close[2, 1])
    assert market.funding[:, 0].tolist() == [0.0, 0.001, 0.0]
    assert market.costs.taker_fee.tolist() == [0.001, 0.002]
    assert market.costs.spot.tolist() == [False, True]
    # No target is no signal (NaN: the engine holds), not flat.
    np.testing.assert_array_equal(
        weights_matrix(market, targets), [[np.nan, np.nan], [np.nan, 0.5], [np.nan, np.nan]]
    )


def test_a_pair_quoted_in_another_currency_is_converted_or_refused() -> None:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [("v", "ADA/BTC", 1e-5), ("v", "BTC/USDT", 50_000.0)]
    candles = frames.conform(
        pl.DataFrame(
            {
                "venue": [r[0] for r in rows],
                "symbol": [r[1] for r in rows],
                "timeframe": "1h",
                "ts": [t0, t0],
                "date": [t0.date()] * 2,
                "open": 1.0,
                "high": 1.0,
                "low": 1.0,
                "close": [r[2] for r in rows],
                "volume": 1.0,
            }
        ),
        frames.CANDLES,
    )
    market = market_from_frames(candles, pl.DataFrame(), {"v": FREE}, 60)
    assert market.rates[0].tolist() == [50_000.0, 1.0]

    with pytest.raises(ValueError, match=r"quoted in BTC.*add such a pair"):
        market_from_frames(
            candles.filter(pl.col("symbol") == "ADA/BTC"), pl.DataFrame(), {"v": FREE}, 60
        )


def test_many_strategies_on_threads_equal_one_at_a_time_and_a_broken_one_fails_alone() -> None:
    from trading.backtest.batch import StrategyError, backtest_many

    rng = np.random.default_rng(9)
    market = simple_market(
        100 * np.exp(np.cumsum(rng.normal(0, 0.01, (300, 3)), axis=0)),
        costs=VenueCosts(0.0, 0.0005, 1.0, 0.5),
        liquidity_days=5,
    )
    grids = [np.clip(rng.normal(0, 0.5, (300, 3)), -1, 1) for _ in range(7)]

    def constant(grid: np.ndarray) -> Callable[[], np.ndarray]:
        return lambda: grid

    def broken() -> np.ndarray:
        raise KeyError("zscore_99")

    makers = [constant(g) for g in grids]
    makers.insert(3, broken)
    out = backtest_many(market, makers, lambda i, r: (i, r.equity[-1]), Settings(1e4), workers=2)

    sequential = [(i, run(market, g, Settings(1e4)).equity[-1]) for i, g in enumerate(grids)]
    failed = out.pop(3)
    assert isinstance(failed, StrategyError)
    assert failed.reason == "KeyError: 'zscore_99'"
    assert [x for x in out if not isinstance(x, StrategyError)] == [
        (i if i < 3 else i + 1, e) for i, e in sequential
    ]


def test_scattered_weights_equal_the_pivot_for_aligned_and_other_targets() -> None:
    from trading.backtest.markets import aligned_weights, row_index

    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    ts = [t0 + timedelta(hours=h) for h in range(4)]
    rows = [(v, s, t) for v in ("a", "b") for s in ("X/USDT", "Y/USDT") for t in ts][:-1]
    frame = pl.DataFrame(
        {"venue": [r[0] for r in rows], "symbol": [r[1] for r in rows], "ts": [r[2] for r in rows]}
    ).with_columns(pl.col("ts").dt.cast_time_unit("us"))
    candles = frames.conform(
        frame.with_columns(
            timeframe=pl.lit("1h"),
            date=pl.col("ts").dt.date(),
            open=1.0,
            high=1.0,
            low=1.0,
            close=1.0,
            volume=1.0,
        ),
        frames.CANDLES,
    )
    market = market_from_frames(candles, pl.DataFrame(), {"a": FREE, "b": FREE}, 60)
    index = row_index(market, frame)
    weights = frame.with_columns(weight=pl.Series(np.linspace(-1, 1, frame.height)))
    weights = weights.with_columns(
        pl.when(pl.col("weight") > 0.8).then(None).otherwise(pl.col("weight")).alias("weight")
    )

    aligned = aligned_weights(market, index, frame, weights)
    shuffled = aligned_weights(market, index, frame, weights.reverse())

    np.testing.assert_array_equal(aligned, weights_matrix(market, weights))
    np.testing.assert_array_equal(shuffled, weights_matrix(market, weights))
