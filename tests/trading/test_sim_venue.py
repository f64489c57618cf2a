"""The simulated venue: deterministic market data and a real (if small) matching account."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import NOW
from trading import frames
from trading.venues.base import (
    HaltError,
    OrderRejectedError,
    OrderRequest,
    UnknownSymbolError,
    Venue,
)
from trading.venues.sim.market import SyntheticMarket
from trading.venues.sim.venue import SimVenue

DAY = datetime(2024, 3, 4, tzinfo=UTC)


def _venue(
    name: str = "sim_a",
    seed: int = 3,
    clock: Callable[[], datetime] = lambda: NOW,
    state_dir: Path | None = None,
    **kwargs: float,
) -> SimVenue:
    return SimVenue(
        name,
        SyntheticMarket(seed),
        ("BTC/USDT", "ETH/USDT", "SOL/USDT", "BTC/USDT:USDT", "ETH/USDT:USDT"),
        clock=clock,
        state_dir=state_dir,
        **kwargs,  # type: ignore[arg-type]
    )


def test_sim_venue_implements_the_venue_interface() -> None:
    assert isinstance(_venue(), Venue)


def test_same_request_returns_identical_bars_across_instances() -> None:
    first = _venue().fetch_candles("BTC/USDT", "1h", DAY, DAY + timedelta(days=2))
    second = _venue().fetch_candles("BTC/USDT", "1h", DAY, DAY + timedelta(days=2))

    assert first.equals(second)
    assert first.height == 48


def test_a_sub_window_equals_the_slice_of_a_larger_window() -> None:
    venue = _venue()
    whole = venue.fetch_candles("ETH/USDT", "15m", DAY, DAY + timedelta(days=3))
    part = venue.fetch_candles(
        "ETH/USDT", "15m", DAY + timedelta(hours=30), DAY + timedelta(hours=31)
    )

    expected = whole.filter(
        (pl.col("ts") >= DAY + timedelta(hours=30)) & (pl.col("ts") < DAY + timedelta(hours=31))
    )
    assert part.equals(expected)
    assert part.height == 4


@settings(max_examples=40, deadline=None)
@given(
    calls=st.lists(
        st.tuples(
            st.sampled_from(["BTC/USDT", "ETH/USDT:USDT"]),
            st.sampled_from(["1m", "15m", "1h"]),
            st.integers(0, 3 * 24 * 3600),  # window start, seconds after DAY
            st.integers(1, 30 * 3600),  # window length, seconds
            st.integers(0, 4 * 24 * 3600),  # the clock, seconds after DAY
        ),
        min_size=1,
        max_size=8,
    )
)
def test_candles_equal_a_plain_filter_of_whole_days_as_the_clock_moves(
    calls: list[tuple[str, str, int, int, int]],
) -> None:
    """The venue keeps built days and cuts windows by index; the reference is whole days
    (a clock far ahead) filtered on ts in [start, end) and at the newest closed bar."""
    now = [DAY]
    kept = _venue(clock=lambda: now[0])
    whole = _venue(clock=lambda: DAY + timedelta(days=30))
    for symbol, timeframe, start, length, clock in calls:
        now[0] = DAY + timedelta(seconds=clock)
        lo = DAY + timedelta(seconds=start)
        hi = lo + timedelta(seconds=length)
        minutes = {"1m": 1, "15m": 15, "1h": 60}[timeframe]
        closed = DAY + timedelta(minutes=clock // 60 - minutes)  # newest bar that has closed
        days = whole.fetch_candles(
            symbol, timeframe, lo.replace(hour=0, minute=0, second=0), hi + timedelta(days=1)
        )
        expected = days.filter(
            (pl.col("ts") >= lo) & (pl.col("ts") < hi) & (pl.col("ts") <= closed)
        )
        assert kept.fetch_candles(symbol, timeframe, lo, hi).equals(expected)


def test_different_seeds_give_different_markets() -> None:
    a = _venue(seed=1).fetch_candles("BTC/USDT", "1h", DAY, DAY + timedelta(days=1))
    b = _venue(seed=2).fetch_candles("BTC/USDT", "1h", DAY, DAY + timedelta(days=1))

    assert not np.allclose(a["close"].to_numpy(), b["close"].to_numpy())


def test_hourly_bars_roll_up_minute_bars_exactly() -> None:
    venue = _venue()
    minutes = venue.fetch_candles("BTC/USDT", "1m", DAY, DAY + timedelta(hours=2))
    hours = venue.fetch_candles("BTC/USDT", "1h", DAY, DAY + timedelta(hours=2))

    rolled = minutes.group_by_dynamic("ts", every="1h").agg(
        pl.col("open").first(),
        pl.col("high").max(),
        pl.col("low").min(),
        pl.col("close").last(),
        pl.col("volume").sum(),
    )
    for col in ("open", "high", "low", "close", "volume"):
        np.testing.assert_allclose(rolled[col].to_numpy(), hours[col].to_numpy(), rtol=1e-12)


def test_bars_are_valid_candles_in_the_shared_layout() -> None:
    bars = _venue().fetch_candles("SOL/USDT", "5m", DAY, DAY + timedelta(days=1))

    assert dict(bars.schema) == dict(frames.CANDLES)
    assert bars.filter(
        (pl.col("high") < pl.max_horizontal("open", "close"))
        | (pl.col("low") > pl.min_horizontal("open", "close"))
        | (pl.col("low") <= 0)
        | (pl.col("volume") < 0)
    ).is_empty()
    assert bars["ts"].is_sorted()
    assert bars["ts"].n_unique() == 288


def test_no_bar_is_served_that_has_not_closed_yet() -> None:
    now = datetime(2024, 3, 4, 10, 30, 15, tzinfo=UTC)
    venue = _venue(clock=lambda: now)

    bars = venue.fetch_candles("BTC/USDT", "1h", DAY, DAY + timedelta(days=1))

    assert bars["ts"].max() == datetime(2024, 3, 4, 9, tzinfo=UTC)
    assert bars.height == 10


def test_assets_are_correlated_and_venues_differ_by_a_small_basis() -> None:
    window = (DAY, DAY + timedelta(days=10))
    alpha = _venue("alpha", basis_bps=5.0)
    beta = _venue("beta", basis_bps=5.0)
    btc = alpha.fetch_candles("BTC/USDT", "1h", *window)["close"].to_numpy()
    eth = alpha.fetch_candles("ETH/USDT", "1h", *window)["close"].to_numpy()
    btc_beta = beta.fetch_candles("BTC/USDT", "1h", *window)["close"].to_numpy()

    corr = np.corrcoef(np.diff(np.log(btc)), np.diff(np.log(eth)))[0, 1]
    basis = np.log(btc_beta / btc)
    assert corr > 0.4
    assert 0 < np.abs(basis).max() < 0.01  # venues differ, but by basis points, not percent


def test_returns_have_fat_tails() -> None:
    market = SyntheticMarket(5)
    levels, _ = market._daily
    returns = np.diff(levels[:, 0])
    z = (returns - returns.mean()) / returns.std()

    assert float(np.mean(z**4)) > 4.0  # a normal distribution has kurtosis 3


def test_all_three_regimes_occur() -> None:
    regimes = SyntheticMarket(5).regimes

    assert set(np.unique(regimes)) == {0, 1, 2}


def test_funding_rates_every_eight_hours_follow_the_perp_premium() -> None:
    venue = _venue()
    start, end = DAY, DAY + timedelta(days=60)
    funding = venue.fetch_funding_rates("BTC/USDT:USDT", start, end)
    perp = venue.fetch_candles("BTC/USDT:USDT", "8h", start - timedelta(hours=8), end)
    spot = venue.fetch_candles("BTC/USDT", "8h", start - timedelta(hours=8), end)

    assert funding.height == 180
    assert funding["ts"].dt.hour().unique().sort().to_list() == [0, 8, 16]
    premium = np.log(perp["close"].to_numpy() / spot["close"].to_numpy())[:-1]
    corr = np.corrcoef(premium, funding["funding_rate"].to_numpy())[0, 1]
    assert corr > 0.3
    assert funding["funding_rate"].abs().max() <= 0.0075  # type: ignore[operator]


def test_funding_of_a_spot_pair_halts() -> None:
    with pytest.raises(HaltError, match="not a perpetual swap"):
        _venue().fetch_funding_rates("BTC/USDT", DAY, DAY + timedelta(days=1))


def test_unconfigured_symbol_raises_unknown_symbol() -> None:
    with pytest.raises(UnknownSymbolError, match="'XRP/USDT' is not configured"):
        _venue().fetch_candles("XRP/USDT", "1h", DAY, DAY + timedelta(days=1))


def test_market_buy_moves_balances_by_cost_and_fee(tmp_path: Path) -> None:
    venue = _venue(state_dir=tmp_path, taker_fee=0.001)

    order = venue.create_order(OrderRequest("BTC/USDT", "buy", 0.1, "cid-1"))

    balances = {r["asset"]: r["total"] for r in venue.fetch_balances().iter_rows(named=True)}
    fill = venue.fetch_fills().row(0, named=True)
    assert order.status == "closed"
    assert order.filled == pytest.approx(0.1)
    assert balances["BTC"] == pytest.approx(0.1)
    assert balances["USDT"] == pytest.approx(100_000 - 0.1 * fill["price"] * 1.001)
    assert fill["liquidity"] == "taker"
    assert fill["fee"] == pytest.approx(0.1 * fill["price"] * 0.001)


def test_repeated_client_order_id_never_doubles_an_order(tmp_path: Path) -> None:
    request = OrderRequest("ETH/USDT", "buy", 1.0, "same-id")
    _venue(state_dir=tmp_path).create_order(request)

    again = _venue(state_dir=tmp_path).create_order(request)  # a retried run, new process

    assert again.client_order_id == "same-id"
    assert _venue(state_dir=tmp_path).fetch_fills().height == 1


def test_resting_limit_order_fills_when_the_market_trades_through(tmp_path: Path) -> None:
    placed_at = datetime(2024, 3, 4, 1, 0, 30, tzinfo=UTC)
    later = datetime(2024, 3, 6, tzinfo=UTC)
    venue = _venue(state_dir=tmp_path, clock=lambda: placed_at)
    bars = venue.fetch_candles("BTC/USDT", "1m", DAY, placed_at)
    low_next_days = (
        _venue(clock=lambda: later).fetch_candles("BTC/USDT", "1h", DAY, later)["low"].min()
    )
    price = float(bars["close"][-1]) * 0.999
    assert isinstance(low_next_days, float)
    assert low_next_days < price

    venue.create_order(OrderRequest("BTC/USDT", "buy", 0.01, "limit-1", "limit", price))
    assert venue.fetch_open_orders().height == 1
    filled = _venue(state_dir=tmp_path, clock=lambda: later)

    assert filled.fetch_open_orders().is_empty()
    fill = filled.fetch_fills().row(0, named=True)
    assert fill["price"] == pytest.approx(price)
    assert fill["liquidity"] == "maker"


def test_cancel_leaves_a_resting_order_canceled(tmp_path: Path) -> None:
    venue = _venue(state_dir=tmp_path)
    last = float(
        venue.fetch_candles("ETH/USDT", "1m", NOW - timedelta(minutes=5), NOW)["close"][-1]
    )
    venue.create_order(OrderRequest("ETH/USDT", "buy", 1.0, "c-1", "limit", last * 0.5))

    canceled = venue.cancel_order("ETH/USDT", "c-1")

    assert canceled.status == "canceled"
    assert venue.fetch_open_orders().is_empty()


def test_swap_round_trip_realizes_pnl_and_closes_the_position(tmp_path: Path) -> None:
    now = [NOW]
    venue = _venue(state_dir=tmp_path, clock=lambda: now[0])

    venue.create_order(OrderRequest("BTC/USDT:USDT", "buy", 0.5, "open-1"))
    position = venue.fetch_positions().row(0, named=True)
    now[0] = NOW + timedelta(hours=6)
    venue.create_order(OrderRequest("BTC/USDT:USDT", "sell", 0.5, "close-1"))
    positions = venue.fetch_positions()

    fills = _venue(state_dir=tmp_path).fetch_fills()
    buy, sell = fills.row(0, named=True), fills.row(1, named=True)
    rates = venue.fetch_funding_rates("BTC/USDT:USDT", NOW, NOW + timedelta(hours=6))
    funding = sum(0.5 * r["mark_price"] * r["funding_rate"] for r in rates.iter_rows(named=True))
    expected = 100_000 + 0.5 * (sell["price"] - buy["price"]) - buy["fee"] - sell["fee"] - funding
    usdt = _venue(state_dir=tmp_path).fetch_balances().filter(pl.col("asset") == "USDT")["total"][0]
    assert position["size"] == pytest.approx(0.5)
    assert positions.is_empty()
    assert usdt == pytest.approx(expected)


def test_buying_more_than_the_balance_is_rejected_and_changes_nothing(tmp_path: Path) -> None:
    venue = _venue(state_dir=tmp_path)

    with pytest.raises(OrderRejectedError, match=r"insufficient_funds.*USDT"):
        venue.create_order(OrderRequest("BTC/USDT", "buy", 1_000.0, "too-big"))

    assert venue.fetch_fills().is_empty()
    assert venue.fetch_balances()["total"].to_list() == [100_000.0]


def test_order_below_minimum_notional_is_rejected() -> None:
    with pytest.raises(OrderRejectedError, match="notional"):
        _venue().create_order(OrderRequest("BTC/USDT", "buy", 0.00001, "tiny"))


def test_client_order_ids_derive_from_the_decision_and_change_with_it() -> None:
    from trading.venues.base import derive_client_order_id

    bar = datetime(2024, 3, 4, 10, tzinfo=UTC)
    first = derive_client_order_id("trend", "sim_a", "BTC/USDT", bar, 0)

    assert first == derive_client_order_id("trend", "sim_a", "BTC/USDT", bar, 0)  # a retry
    assert first != derive_client_order_id("trend", "sim_a", "BTC/USDT", bar, 1)
    assert first != derive_client_order_id("trend", "sim_b", "BTC/USDT", bar, 0)
    assert first.startswith("k")
    assert first.isalnum()
    assert len(first) == 32
