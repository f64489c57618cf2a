"""The account tables: strict write-time rules (a bad row rejects the whole write, nothing is
written), idempotent re-syncs, rows of vanished positions removed, incremental fills."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from lake import catalog
from lake.account_view import newest_fill, write_sync
from lake.store import Lake, SchemaViolationError
from tests.conftest import NOW
from trading.account.sync import AccountRead, read_account
from trading.config import KeelConfig
from trading.venues.base import OrderRequest
from trading.venues.factory import build_venue


def _venue(config: KeelConfig, tmp_path: Path, now: list[Any]) -> Any:
    return build_venue(
        config.venue("sim_a"), config, state_dir=tmp_path / "sim", clock=lambda: now[0]
    )


def _traded(config: KeelConfig, tmp_path: Path, now: list[Any]) -> Any:
    venue = _venue(config, tmp_path, now)
    venue.create_order(OrderRequest("BTC/USDT", "buy", 0.1, "k1"))
    venue.create_order(OrderRequest("BTC/USDT:USDT", "sell", 0.2, "k2"))
    last = venue.fetch_candles("ETH/USDT", "1m", NOW - timedelta(minutes=3), NOW)["close"][-1]
    venue.create_order(OrderRequest("ETH/USDT", "buy", 1.0, "k3", "limit", last * 0.9))
    return venue


def test_a_sync_writes_every_table_and_a_resync_writes_nothing_new(
    small_config: KeelConfig, lake: Lake, tmp_path: Path
) -> None:
    venue = _traded(small_config, tmp_path, [NOW])

    first = write_sync(lake, read_account(venue, None, NOW))
    versions = {s.name: lake.version(s) for s in _specs()}
    again = write_sync(lake, read_account(venue, newest_fill(lake, "sim_a"), NOW))

    assert (first.balances, first.positions, first.open_orders, first.new_fills) == (
        2,
        1,
        1,
        2,
    )  # USDT and BTC
    assert (again.new_fills, again.changed_rows) == (0, 0)
    assert {s.name: lake.version(s) for s in _specs()} == versions


def _specs() -> list[Any]:
    return [
        catalog.account_balances(),
        catalog.account_positions(),
        catalog.account_orders(),
        catalog.account_fills(),
    ]


def test_a_closed_position_and_a_filled_order_leave_the_state_tables(
    small_config: KeelConfig, lake: Lake, tmp_path: Path
) -> None:
    now = [NOW]
    venue = _traded(small_config, tmp_path, now)
    write_sync(lake, read_account(venue, None, NOW))

    venue.create_order(OrderRequest("BTC/USDT:USDT", "buy", 0.2, "k4"))
    venue.cancel_order("ETH/USDT", "k3")
    result = write_sync(lake, read_account(venue, newest_fill(lake, "sim_a"), NOW))

    assert lake.scan(catalog.account_positions()).collect().is_empty()
    assert lake.scan(catalog.account_orders()).collect().is_empty()
    assert result.new_fills == 1
    assert lake.scan(catalog.account_fills()).collect().height == 3


def _good_rows(config: KeelConfig, tmp_path: Path) -> dict[str, pl.DataFrame]:
    venue = _traded(config, tmp_path, [NOW])
    read = read_account(venue, None, NOW)
    return {
        "balances": read.balances,
        "positions": read.positions,
        "orders": read.open_orders,
        "fills": read.fills,
    }


_BAD_ROWS = [
    ("balances", {"asset": None}, "not null"),
    ("balances", {"total": float("nan")}, "total is finite"),
    ("balances", {"debt": -1.0}, "debt >= 0"),
    ("positions", {"size": 0.0}, "size is finite and not 0"),
    ("positions", {"entry_price": float("inf")}, "entry_price > 0"),
    ("positions", {"mark_price": 0.0}, "mark_price > 0 when known"),
    ("orders", {"side": "long"}, "side is buy or sell"),
    ("orders", {"status": "pending"}, "status is one of"),
    ("orders", {"amount": -1.0}, "amount > 0"),
    ("orders", {"order_id": None}, "not null"),
    ("fills", {"amount": float("nan")}, "amount > 0 and finite"),
    ("fills", {"price": None}, "not null"),
    ("fills", {"liquidity": "both"}, "liquidity is maker, taker or null"),
    ("fills", {"ts": NOW + timedelta(days=5_000)}, "ts is not in the future"),
]


@pytest.mark.parametrize(("table", "change", "rule"), _BAD_ROWS)
def test_each_account_rule_rejects_its_bad_row_with_nothing_written(
    small_config: KeelConfig,
    lake: Lake,
    tmp_path: Path,
    table: str,
    change: dict[str, Any],
    rule: str,
) -> None:
    rows = _good_rows(small_config, tmp_path)
    frame = rows[table]
    column, value = next(iter(change.items()))
    bad = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit(value, dtype=frame.schema[column]))
        .otherwise(pl.col(column))
        .alias(column)
    )
    parts = {**rows, table: bad}

    with pytest.raises(SchemaViolationError, match=rule):
        write_sync(lake, AccountRead("sim_a", NOW, *parts.values()))

    for spec in _specs():
        assert not lake.exists(spec)
