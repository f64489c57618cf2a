"""The simulated account writes its state only when a cheap fingerprint of it moved (the whole
state is serialized only then). These tests pin that no change is ever left unwritten: after
any sequence of account calls, the file holds exactly the state the account works on."""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.trading.sim_helpers import T0, account, flat_bars
from trading.venues.base import OrderRequest, VenueError
from trading.venues.sim import ledger

SPOT, SWAP = "BTC/USDT", "BTC/USDT:USDT"

_OPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("order"),
            st.sampled_from([SPOT, SWAP]),
            st.sampled_from(["buy", "sell"]),
            st.sampled_from([0.5, 3.0, 40.0]),
            st.sampled_from([None, 99.0, 101.0]),  # market, or a limit below / above 100
        ),
        st.tuples(st.just("cancel"), st.integers(0, 5)),
        st.tuples(st.just("wait"), st.integers(1, 600)),  # minutes; funding every 8 hours
        st.tuples(st.just("fault"), st.sampled_from(["lost_ack", "duplicate_fill", "outage"])),
        st.tuples(st.just("read"), st.sampled_from(["fills", "balances", "positions", "open"])),
    ),
    min_size=1,
    max_size=14,
)


def _on_disk(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def _in_use(acct: Any) -> dict[str, Any]:
    with acct._store.transaction() as state:  # the cached state the next call works on
        return dict(json.loads(json.dumps(state)))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=_OPS)
def test_after_any_calls_the_file_holds_the_state_the_account_works_on(
    tmp_path: Path, ops: list[tuple[Any, ...]]
) -> None:
    path = Path(tempfile.mkdtemp(dir=tmp_path)) / "acct.json"  # one account per example
    funding = pl.DataFrame(
        {"ts": [T0 + timedelta(hours=h) for h in range(0, 48, 8)], "funding_rate": 0.0001,
         "mark_price": 100.0}
    ).with_columns(pl.col("ts").dt.cast_time_unit("us"))  # fmt: skip
    now = [T0 + timedelta(seconds=30)]
    acct = account(flat_bars(volume=20.0, minutes=3000), now, path=path, funding=funding)
    for i, op in enumerate(ops):
        with contextlib.suppress(VenueError):
            if op[0] == "order":
                _, symbol, side, amount, price = op
                kind: Literal["market", "limit"] = "market" if price is None else "limit"
                acct.create_order(OrderRequest(symbol, side, amount, f"c{i}", kind, price))
            elif op[0] == "cancel":  # the k-th resting order, if any
                resting = acct.fetch_open_orders().sort("client_order_id")
                if resting.height:
                    row = resting.row(op[1] % resting.height, named=True)
                    acct.cancel_order(row["symbol"], row["client_order_id"])
            elif op[0] == "wait":
                now[0] += timedelta(minutes=op[1])
            elif op[0] == "fault":
                acct.inject(op[1])
            else:
                reads = {
                    "fills": acct.fetch_fills,
                    "balances": acct.fetch_balances,
                    "positions": acct.fetch_positions,
                    "open": acct.fetch_open_orders,
                }
                reads[op[1]]()
        if path.exists():
            assert _on_disk(path) == _in_use(acct)


def test_every_kind_of_change_moves_the_fingerprint() -> None:
    base = ledger.new_state({"USDT": 1000.0}, {})
    base["orders"]["a"] = {"status": "open", "filled": 0.0}
    base["orders"]["b"] = {"status": "closed", "filled": 1.0}
    base["fills"].append({"fill_id": "f1"})
    changes: dict[str, Callable[[dict[str, Any]], object]] = {
        "a fill": lambda s: s["fills"].append({"fill_id": "f2"}),
        "an order": lambda s: s["orders"].__setitem__("c", {"status": "open", "filled": 0.0}),
        "an open order's fill": lambda s: s["orders"]["a"].__setitem__("filled", 0.5),
        "a cancel": lambda s: s["orders"]["a"].__setitem__("status", "canceled"),
        "a balance": lambda s: s["balances"].__setitem__("USDT", 999.0),
        "a position": lambda s: s["positions"].__setitem__("X", {"size": 1.0}),
        "the cursor": lambda s: s.__setitem__("cursor", "2024-06-01T12:00:00+00:00"),
        "funding": lambda s: s.__setitem__("funding_cursor", "2024-06-01T12:00:00+00:00"),
        "a fault": lambda s: s["faults"].__setitem__("outage", 1),
        "the sequence": lambda s: s.__setitem__("seq", 7),
    }
    before = ledger.fingerprint(base)
    for name, change in changes.items():
        state = json.loads(json.dumps(base))
        change(state)
        assert ledger.fingerprint(state) != before, name
    assert ledger.fingerprint(json.loads(json.dumps(base))) == before
