"""The paper replay injects a buffered journal and pre-read bars into the same run code as the
live trading job; the trades must be the same as with a lake journal committed at every step
and a lake read per bar (the set-up the Dagster trading asset uses)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl

from assets.live_run import replay
from lake.live import LakeJournal, read_window
from lake.store import Lake
from tests.live.helpers import assert_books_agree, live_config, paper_setup, seed_lake
from trading.live.buffered import BufferedJournal

_ORDERS = ("bar", "strategy", "venue", "symbol", "client_order_id", "side", "amount")
_FILLS = ("venue", "symbol", "client_order_id", "side", "amount", "price", "fee")


def test_a_buffered_replay_trades_exactly_like_one_committed_every_step(tmp_path: Path) -> None:
    config = live_config(tmp_path)
    lake = Lake(tmp_path / "lake")
    bars = seed_lake(config, lake)[:6]
    direct, direct_clock = paper_setup(config, lake, tmp_path / "direct", bars[0])
    plain, clock = paper_setup(config, lake, tmp_path / "buffered", bars[0])
    buffered = replace(
        plain,
        journal=BufferedJournal(LakeJournal(plain.journal_lake)),
        window=read_window(lake, "1h", bars),
    )

    replay(direct, bars, direct_clock)
    replay(buffered, bars, clock)

    one, other = LakeJournal(direct.journal_lake), LakeJournal(buffered.journal_lake)
    orders = one.read("orders").select(_ORDERS).sort(_ORDERS)
    assert orders.height > 5
    assert orders.equals(other.read("orders").select(_ORDERS).sort(_ORDERS))
    fills = one.read("fills").select(_FILLS).sort(_FILLS)
    assert fills.equals(other.read("fills").select(_FILLS).sort(_FILLS))
    decisions = ("bar", "strategy", "symbol", "weight")
    assert (
        one.read("decisions")
        .select(decisions)
        .sort(decisions)
        .equals(other.read("decisions").select(decisions).sort(decisions))
    )
    assert other.read("order_events").filter(pl.col("event") == "intent").height == orders.height
    assert_books_agree(buffered)
