"""The simulated account: margin, fees, partial fills, resting orders, funding, faults, and
state that two processes share without losing an update."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.trading.sim_helpers import T0, account, bars_from, flat_bars
from trading.venues.base import (
    OrderOutcomeUnknownError,
    OrderRejectedError,
    OrderRequest,
    RetryableError,
)

SWAP = "BTC/USDT:USDT"
SPOT = "BTC/USDT"


def _usdt(acct: object) -> float:
    balances = acct.fetch_balances()  # type: ignore[attr-defined]
    return float(balances.filter(pl.col("asset") == "USDT")["total"][0])


def test_perp_order_far_beyond_the_leverage_limit_is_rejected_for_margin() -> None:
    acct = account(flat_bars(), [T0 + timedelta(seconds=30)], max_leverage=5.0)
    # $65M of BTC at 100 on a $100k account: 650x, not 5x
    with pytest.raises(OrderRejectedError, match="margin") as err:
        acct.create_order(OrderRequest(SWAP, "buy", 650_000.0, "big"))

    assert err.value.reason == "margin"
    assert acct.fetch_order(SWAP, "big") is None
    assert acct.fetch_positions().is_empty()
    assert _usdt(acct) == 100_000.0


def test_perp_order_within_the_leverage_limit_opens_the_position() -> None:
    acct = account(flat_bars(), [T0 + timedelta(seconds=30)], max_leverage=5.0)

    acct.create_order(OrderRequest(SWAP, "buy", 4_000.0, "ok"))  # $400k on $100k at 5x

    assert acct.fetch_positions()["size"].to_list() == [4_000.0]


def test_market_fill_is_bounded_by_bar_volume_and_the_rest_fills_on_later_bars() -> None:
    now = [T0 + timedelta(seconds=30)]
    acct = account(flat_bars(volume=100.0), now, participation=0.1)  # 10 BTC a bar

    first = acct.create_order(OrderRequest(SPOT, "buy", 25.0, "m1"))
    now[0] = T0 + timedelta(minutes=3, seconds=30)  # bars 12:01 and 12:02 opened after it
    later = acct.fetch_order(SPOT, "m1")

    assert (first.filled, first.status) == (10.0, "open")
    assert later is not None
    assert (later.filled, later.status) == (25.0, "closed")
    assert acct.fetch_fills()["amount"].to_list() == [10.0, 10.0, 5.0]


def test_ioc_cancels_the_unfilled_rest_and_fok_fills_nothing() -> None:
    acct = account(flat_bars(volume=100.0), [T0 + timedelta(seconds=30)], participation=0.1)

    ioc = acct.create_order(OrderRequest(SPOT, "buy", 25.0, "ioc", time_in_force="IOC"))
    fok = acct.create_order(OrderRequest(SPOT, "buy", 25.0, "fok", time_in_force="FOK"))

    assert (ioc.filled, ioc.status) == (10.0, "canceled")
    assert (fok.filled, fok.status) == (0.0, "canceled")
    assert acct.fetch_fills().height == 1


def test_resting_limit_fills_as_maker_with_a_negative_fee_paid_as_a_rebate() -> None:
    rows = [(m, 100.0, 100.0, 100.0, 100.0, 1e6) for m in range(-10, 1)]
    rows += [(1, 100.0, 100.0, 98.5, 99.0, 1e6), (2, 99.0, 99.0, 99.0, 99.0, 1e6)]
    now = [T0 + timedelta(seconds=30)]
    acct = account(bars_from(rows), now)

    resting = acct.create_order(OrderRequest(SPOT, "buy", 2.0, "lim", "limit", 99.0))
    now[0] = T0 + timedelta(minutes=2, seconds=5)  # the 12:01 bar traded through 99
    fill = acct.fetch_fills().row(0, named=True)

    assert resting.status == "open"
    assert (fill["price"], fill["liquidity"]) == (99.0, "maker")
    assert fill["fee"] == pytest.approx(-2.0 * 99.0 * 0.0001)
    assert _usdt(acct) == pytest.approx(100_000.0 - 198.0 + 0.0198)


def test_open_spot_buy_holds_its_quote_as_used() -> None:
    acct = account(flat_bars(), [T0 + timedelta(seconds=30)])

    acct.create_order(OrderRequest(SPOT, "buy", 2.0, "lim", "limit", 90.0))
    row = acct.fetch_balances().row(0, named=True)

    assert (row["asset"], row["used"], row["free"], row["total"]) == (
        "USDT",
        180.0,
        100_000.0 - 180.0,
        100_000.0,
    )


def test_post_only_order_that_would_cross_is_rejected() -> None:
    acct = account(flat_bars(), [T0 + timedelta(seconds=30)])

    with pytest.raises(OrderRejectedError) as err:
        acct.create_order(OrderRequest(SPOT, "buy", 1.0, "po", "limit", 101.0, post_only=True))

    assert err.value.reason == "post_only_would_cross"


def test_reduce_only_order_that_would_grow_the_position_is_rejected() -> None:
    acct = account(flat_bars(), [T0 + timedelta(seconds=30)])
    acct.create_order(OrderRequest(SWAP, "buy", 1.0, "open"))

    with pytest.raises(OrderRejectedError, match="reduce-only"):
        acct.create_order(OrderRequest(SWAP, "buy", 1.0, "more", reduce_only=True))
    acct.create_order(OrderRequest(SWAP, "sell", 1.0, "close", reduce_only=True))

    assert acct.fetch_positions().is_empty()


def test_spot_sell_without_the_coin_is_rejected_for_funds() -> None:
    acct = account(flat_bars(), [T0 + timedelta(seconds=30)])

    with pytest.raises(OrderRejectedError, match="insufficient_funds"):
        acct.create_order(OrderRequest(SPOT, "sell", 1.0, "short-spot"))


def test_long_perp_pays_funding_at_each_settlement() -> None:
    funding = pl.DataFrame(
        {
            "ts": [T0 + timedelta(minutes=30), T0 + timedelta(hours=8)],
            "funding_rate": [0.0001, -0.0002],
            "mark_price": [100.0, 100.0],
        }
    ).with_columns(pl.col("ts").dt.cast_time_unit("us"))
    now = [T0 + timedelta(seconds=30)]
    acct = account(flat_bars(minutes=600), now, funding=funding, symbols=(SWAP,))
    acct.create_order(OrderRequest(SWAP, "buy", 10.0, "long"))
    fee = acct.fetch_fills()["fee"][0]

    now[0] = T0 + timedelta(hours=9)

    # paid 10 * 100 * 0.0001 = 0.1, then received 10 * 100 * 0.0002 = 0.2
    assert _usdt(acct) == pytest.approx(100_000.0 - fee - 0.1 + 0.2)


def test_a_lost_acknowledgement_leaves_an_order_that_fetch_order_finds() -> None:
    acct = account(flat_bars(), [T0 + timedelta(seconds=30)])
    acct.inject("lost_ack")
    request = OrderRequest(SPOT, "buy", 1.0, "lost-1")

    with pytest.raises(OrderOutcomeUnknownError, match="fetch_order"):
        acct.create_order(request)
    found = acct.fetch_order(SPOT, "lost-1")
    again = acct.create_order(request)  # a resend with the same id never doubles it

    assert found is not None
    assert found.status == "closed"
    assert again.order_id == found.order_id
    assert acct.fetch_fills().height == 1


def test_a_duplicated_fill_report_repeats_the_same_fill_id_once() -> None:
    acct = account(flat_bars(), [T0 + timedelta(seconds=30)])
    acct.create_order(OrderRequest(SPOT, "buy", 1.0, "f-1"))
    acct.inject("duplicate_fill")

    first = acct.fetch_fills()
    second = acct.fetch_fills()

    assert first.height == 2
    assert first["fill_id"].n_unique() == 1
    assert second.height == 1


def test_an_injected_rejection_refuses_one_order_then_orders_go_on() -> None:
    acct = account(flat_bars(), [T0 + timedelta(seconds=30)])
    acct.inject("reject")

    with pytest.raises(OrderRejectedError, match="injected"):
        acct.create_order(OrderRequest(SPOT, "buy", 1.0, "r-1"))
    order = acct.create_order(OrderRequest(SPOT, "buy", 1.0, "r-2"))

    assert acct.fetch_order(SPOT, "r-1") is None
    assert order.status == "closed"


def test_an_outage_fails_every_call_for_its_count_then_recovers() -> None:
    acct = account(flat_bars(), [T0 + timedelta(seconds=30)])
    acct.inject("outage", 2)

    with pytest.raises(RetryableError):
        acct.fetch_balances()
    with pytest.raises(RetryableError):
        acct.create_order(OrderRequest(SPOT, "buy", 1.0, "o-1"))

    assert acct.fetch_order(SPOT, "o-1") is None
    assert _usdt(acct) == 100_000.0


def test_faults_configured_up_front_apply_from_the_start() -> None:
    acct = account(flat_bars(), [T0 + timedelta(seconds=30)], account_faults={"reject": 1})

    with pytest.raises(OrderRejectedError):
        acct.create_order(OrderRequest(SPOT, "buy", 1.0, "c-1"))


def _place_many(path: str, tag: str, n: int) -> None:
    acct = account(flat_bars(), [T0 + timedelta(seconds=30)], path=Path(path))
    for i in range(n):
        acct.create_order(OrderRequest(SPOT, "buy", 0.1, f"{tag}{i}"))


def test_two_processes_on_one_account_lose_no_update(tmp_path: Path) -> None:
    path = tmp_path / "acct.json"
    ctx = multiprocessing.get_context("spawn")  # fork deadlocks polars threads
    workers = [ctx.Process(target=_place_many, args=(str(path), t, 15)) for t in "ab"]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)

    state = json.loads(path.read_text())
    acct = account(flat_bars(), [T0 + timedelta(seconds=30)], path=path)
    fills = acct.fetch_fills()
    assert [w.exitcode for w in workers] == [0, 0]
    assert len(state["orders"]) == 30
    assert fills.height == 30
    assert fills["fill_id"].n_unique() == 30
    spent = float((fills["amount"] * fills["price"] + fills["fee"]).sum())
    assert _usdt(acct) == pytest.approx(100_000.0 - spent)
    assert float(acct.fetch_balances().filter(pl.col("asset") == "BTC")["total"][0]) == (
        pytest.approx(3.0)
    )


def test_state_survives_a_new_account_object_on_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "acct.json"
    account(flat_bars(), [T0 + timedelta(seconds=30)], path=path).create_order(
        OrderRequest(SPOT, "buy", 1.0, "persist")
    )

    reopened = account(flat_bars(), [T0 + timedelta(minutes=5)], path=path)

    found = reopened.fetch_order(SPOT, "persist")
    assert found is not None
    assert found.filled == 1.0
    assert isinstance(found.ts, datetime)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["buy", "sell"]), st.floats(0.01, 30.0)),
        min_size=1,
        max_size=12,
    )
)
def test_spot_balances_always_equal_the_sum_of_fills_and_never_go_negative(
    orders: list[tuple[str, float]],
) -> None:
    acct = account(flat_bars(volume=1_000.0), [T0 + timedelta(seconds=30)])
    for i, (side, amount) in enumerate(orders):
        with contextlib.suppress(OrderRejectedError):  # refused sells of coins not held
            acct.create_order(OrderRequest(SPOT, side, amount, f"h{i}"))  # type: ignore[arg-type]

    fills = acct.fetch_fills()
    totals = {r["asset"]: r["total"] for r in acct.fetch_balances().iter_rows(named=True)}
    signed = [a if s == "buy" else -a for s, a in zip(fills["side"], fills["amount"], strict=True)]
    cash = 100_000.0 - sum(
        q * p + f for q, p, f in zip(signed, fills["price"], fills["fee"], strict=True)
    )
    assert totals.get("USDT", 0.0) == pytest.approx(cash)
    assert totals.get("BTC", 0.0) == pytest.approx(sum(signed), abs=1e-9)
    assert min(totals.values()) >= -1e-9
