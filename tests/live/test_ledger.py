"""The ledger fold: positions are the signed sum of fills plus adjustments, whatever order the
journal's files come back in; a finished order is never reopened by a late event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.live.journal import frame
from trading.live.ledger import Ledger

T0 = datetime(2024, 3, 1, tzinfo=UTC)
RUN = {"run_id": "r", "bar": T0, "strategy": "s", "account": "paper", "venue": "v"}
fills_st = st.lists(
    st.tuples(st.sampled_from(["buy", "sell"]), st.integers(1, 1000), st.sampled_from(["a", "b"])),
    max_size=30,
)


def _fills(items: list[tuple[str, int, str]]) -> pl.DataFrame:
    return frame(
        "fills",
        [
            RUN
            | {"symbol": sym, "fill_id": f"f{i}", "order_id": "o", "client_order_id": "c"}
            | {"side": side, "amount": amount / 100, "price": 1.0, "fee": 0.0, "fee_asset": "USDT"}
            | {"liquidity": "taker", "ts": T0, "origin": "keel", "at": T0}
            for i, (side, amount, sym) in enumerate(items)
        ],
    )


def _empty(table: str) -> pl.DataFrame:
    return frame(table, [])


@settings(max_examples=60, deadline=None)
@given(fills_st, st.randoms(use_true_random=False))
def test_positions_are_the_signed_sum_of_fills_in_any_order(
    items: list[tuple[str, int, str]], rng: object
) -> None:
    fills = _fills(items)
    shuffled = fills.sample(fraction=1.0, shuffle=True, seed=rng.randint(0, 10**6))  # type: ignore[attr-defined]
    ledger = Ledger.from_frames(
        _empty("orders"), _empty("order_events"), shuffled, _empty("reconciliations")
    )
    for sym in ("a", "b"):
        expected = sum((a if s == "buy" else -a) for s, a, x in items if x == sym) / 100
        assert abs(ledger.position("paper", "v", sym) - expected) < 1e-9


@settings(max_examples=60, deadline=None)
@given(st.permutations(["intent", "unknown", "accepted", "closed"]))
def test_a_finished_order_stays_finished_whatever_order_events_are_read_in(
    events: list[str],
) -> None:
    orders = frame(
        "orders",
        [RUN | {"symbol": "a", "client_order_id": "c", "side": "buy", "amount": 1.0}
         | {"type": "market", "price": 1.0, "reduce_only": False, "at": T0}],
    )  # fmt: skip
    rows = [
        RUN | {"symbol": "a", "client_order_id": "c", "event": e, "order_id": "o"}
        | {"filled": 1.0 if e == "closed" else 0.0, "detail": None, "at": T0 + timedelta(seconds=1)}
        for e in events
    ]  # fmt: skip
    ledger = Ledger.from_frames(
        orders, frame("order_events", rows), _empty("fills"), _empty("reconciliations")
    )
    order = ledger.orders[("paper", "v", "c")]
    assert (order.status, order.filled, order.in_flight) == ("closed", 1.0, False)
