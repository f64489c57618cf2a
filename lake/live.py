"""The trading journal in the lake: ``live/*`` Delta tables, appended to, never rewritten.

Appends are blind (no MERGE): a journal row is a fact at a time, and the run deduplicates what
it writes (fills by venue and fill id) before writing. Each append is one Delta commit of one
small file, so the tables are compacted every ``_COMPACT_EVERY`` commits: delta-rs pays per
file on every read (docs/performance.md).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from lake.catalog import TableSpec
from lake.store import Lake
from lake.tables import no_rules
from trading.execution.types import MarketStat
from trading.live import journal
from trading.live.run import BarData

_COMPACT_EVERY = 50
_COMMIT_RETRIES = 8


@cache
def live_table(table: str) -> TableSpec:
    """The spec of one journal table (``live/<table>``)."""
    if table not in journal.LAYOUTS:
        raise KeyError(f"no journal table {table!r}; tables: {', '.join(journal.TABLES)}")
    layout = journal.LAYOUTS[table]
    return TableSpec(
        name=f"live/{table}",
        layout=layout,
        key=(),
        partition_by=(),
        rules_factory=no_rules,
        nullable=journal.nullable(table),
    )


SHORTFALL: dict[str, pl.DataType] = {
    "strategy": pl.String(),
    "account": pl.String(),
    "venue": pl.String(),
    "fills": pl.Int64(),
    "notional": pl.Float64(),
    "realized_bps": pl.Float64(),
    "model_bps": pl.Float64(),
    "excess_bps": pl.Float64(),
}


@cache
def shortfall_table() -> TableSpec:
    """``live/shortfall``: realized cost against the research cost model per strategy, account
    and venue, recomputed whole after each run: what research calibrates its costs from."""
    return TableSpec("live/shortfall", SHORTFALL, ("strategy", "account", "venue"), (), no_rules)


@cache
def cost_calibration_table() -> TableSpec:
    """``live/cost_calibration``: research's spread and impact per venue fitted from fills,
    appended as versions (one per calibration that saw new fills), so every research result
    can name the version it priced with and an old one stays readable."""
    from trading.live.calibration import LAYOUT, NULLABLE

    return TableSpec(
        "live/cost_calibration", LAYOUT, ("version", "venue", "side"), (), no_rules,
        nullable=NULLABLE,
    )  # fmt: skip


def read_calibration(lake: Lake) -> pl.DataFrame:
    """Every stored calibration version (empty in the table's layout when there is none)."""
    spec = cost_calibration_table()
    if not lake.exists(spec):
        return pl.DataFrame(schema=dict(spec.layout))
    return lake.scan(spec).collect()


class LakeJournal:
    """The ``Journal`` of the trading run, on the lake."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self._cache: dict[str, tuple[int, pl.DataFrame]] = {}
        self._tables: dict[str, Any] = {}

    def append(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Check the rows against the layout, then append them in one commit."""
        if not rows:
            return
        spec = live_table(table)
        df = journal.frame(table, rows)
        required = [c for c in spec.layout if c not in spec.nullable]
        nulls = [c for c in required if df.get_column(c).null_count()]
        if nulls:
            raise ValueError(f"{spec.name}: columns {nulls} must not be null; nothing written")
        uri = self.lake.uri(spec)
        before = _local_version(uri)
        self._tables[table] = append_frame(self.lake, spec, df, self._tables.get(table))
        self._extend(table, before, _local_version(uri), df)

    def _extend(self, table: str, before: int | None, after: int | None, df: pl.DataFrame) -> None:
        """Keep the cached table current after our own append, without reading it again: only
        when the cache was at ``before`` and the table moved by exactly one commit (ours)
        between the listings around the append. Any other commit (another writer, a
        compaction) drops the cache, and the next read reads the table."""
        cached = self._cache.pop(table, None)
        if cached is None or before is None or after is None:
            return
        if cached[0] != before or after != before + 1:
            return
        old = cached[1]
        if old.columns != df.columns or old.schema != df.schema:
            return
        self._cache[table] = (after, pl.concat([old, df], how="vertical", rechunk=False))

    def read(self, table: str) -> pl.DataFrame:
        """The whole table (the journal is small: rows per order, not per tick). On a local
        lake a table unchanged since the last read is not read again: the run checks trading
        states before every order, and that check must cost next to nothing."""
        spec = live_table(table)
        version = _local_version(self.lake.uri(spec))
        cached = self._cache.get(table)
        if version is not None and cached is not None and cached[0] == version:
            return cached[1]
        df = self.lake.scan(spec).collect()
        if version is not None:
            self._cache[table] = (version, df)
        return df


def _local_version(uri: str) -> int | None:
    """The newest commit of a Delta table on a local disk (a directory listing), -1 when the
    table does not exist yet; None for object stores (always read)."""
    if "://" in uri and not uri.startswith("file://"):
        return None
    log = Path(uri.removeprefix("file://")) / "_delta_log"
    try:
        commits = [int(n[:-5]) for n in os.listdir(log) if n.endswith(".json") and n[:-5].isdigit()]
    except FileNotFoundError:
        return -1
    return max(commits, default=-1)


def append_frame(lake: Lake, spec: TableSpec, df: pl.DataFrame, table: Any = None) -> Any:
    """A blind append with retries on commit conflicts (appends never conflict in content);
    returns the table object, which a caller may keep to skip reopening it (3 ms a time)."""
    from deltalake import DeltaTable, write_deltalake
    from deltalake.exceptions import CommitFailedError

    uri = lake.uri(spec)
    data = df.to_arrow()
    for attempt in range(_COMMIT_RETRIES):
        try:
            if table is not None and attempt > 0:
                table.update_incremental()  # delta-rs rebases an append; after a conflict, reload
            write_deltalake(
                uri if table is None else table,
                data,
                mode="append",
                storage_options=None if table is not None else lake.storage_options,
            )
            break
        except CommitFailedError:
            if attempt == _COMMIT_RETRIES - 1:
                raise
            time.sleep(0.02 * 2**attempt)
    if table is None:
        table = DeltaTable(uri, storage_options=lake.storage_options)
    # else: a write through the table object leaves it at the version it committed (with any
    # commit of another writer before it), so it is not reloaded (~3 ms a commit).
    if table.version() % _COMPACT_EVERY == 0 and table.version() > 0:
        # Another writer may append meanwhile; the next multiple of the interval compacts.
        with contextlib.suppress(CommitFailedError):
            table.optimize.compact()
    return table


@dataclass(frozen=True, slots=True)
class Window:
    """The feature rows of a span of bars at one table version, and the candles that price
    them, read once: a replay takes each bar's rows from here instead of scanning the lake per
    bar (``read_bar`` still checks the version, and reads the lake when it moved)."""

    version: int
    rows: Mapping[datetime, pl.DataFrame]  # bar -> its feature rows
    candles: pl.DataFrame  # venue, symbol, ts, close, volume: the router's window of each bar

    def covers(self, bar: datetime, version: int) -> bool:
        """Whether this window holds ``bar`` as of feature-table ``version``."""
        return version == self.version and bar in self.rows


def read_window(lake: Lake, timeframe: str, bars: Sequence[datetime]) -> Window | None:
    """The features of ``bars`` at the table's current version, and their candles."""
    from lake import catalog
    from trading.features.registry import registered_features

    spec = catalog.features(timeframe, list(registered_features()))
    version = lake.version(spec)
    if version is None or not bars:
        return None
    first, last = min(bars), max(bars)
    features = (
        lake.scan(spec, version=version)
        .filter(pl.col("ts") >= first, pl.col("ts") <= last)
        .collect()
    )
    rows = {ts: part for (ts,), part in features.partition_by("ts", as_dict=True).items()}
    empty = features.clear()
    return Window(
        version,
        {b: rows.get(b, empty) for b in bars},  # type: ignore[misc]
        _candles(lake, timeframe, _window_start(timeframe, first), last),
    )


def read_bar(
    lake: Lake,
    timeframe: str,
    bar: datetime,
    failing: tuple[str, ...] = (),
    window: Window | None = None,
) -> BarData:
    """The one feature-table version of a run, its rows at ``bar`` and the bar's closes (from
    ``window`` when it holds the bar at the table's current version)."""
    from lake import catalog
    from trading.features.registry import registered_features

    spec = catalog.features(timeframe, list(registered_features()))
    version = lake.version(spec)
    if version is None:
        raise RuntimeError(f"{spec.name} does not exist yet; materialize features first")
    if window is not None and window.covers(bar, version):
        tail = window.rows[bar]
        start = _window_start(timeframe, bar)
        week = window.candles.filter(pl.col("ts") > start, pl.col("ts") <= bar)
    else:
        tail = lake.scan(spec, version=version).filter(pl.col("ts") == bar).collect()
        week = _week(lake, timeframe, bar)  # one read of the candles for closes and liquidity
    closes = week.filter(pl.col("ts") == bar)
    prices = {
        (v, s): c
        for v, s, c in zip(closes["venue"], closes["symbol"], closes["close"], strict=True)
    }
    return BarData(bar, tail, version, prices, failing, _liquidity(week, timeframe, bar))


ROUTER_LIQUIDITY_DAYS = 7.0  # the router's window: recent liquidity sizes today's orders


def _week(lake: Lake, timeframe: str, bar: datetime) -> pl.DataFrame:
    """The candles of the router's window up to and including ``bar``, and the bar before
    it (the window's first return)."""
    return _candles(lake, timeframe, _window_start(timeframe, bar), bar)


def _window_start(timeframe: str, bar: datetime) -> datetime:
    """Candles after this time and up to ``bar`` are the router's window at ``bar``."""
    from trading.timeframes import timeframe_delta

    return bar - timedelta(days=ROUTER_LIQUIDITY_DAYS) - timeframe_delta(timeframe)


def _candles(lake: Lake, timeframe: str, after: datetime, until: datetime) -> pl.DataFrame:
    """Candles with ``after < ts <= until`` (the columns prices and liquidity need)."""
    from lake import catalog

    return (
        lake.scan(catalog.candles(timeframe))
        .filter(pl.col("ts") > after, pl.col("ts") <= until)
        .select("venue", "symbol", "ts", "close", "volume")
        .collect()
    )


def liquidity(lake: Lake, timeframe: str, bar: datetime) -> dict[tuple[str, str], MarketStat]:
    """What the router knows of each market at ``bar``, from the week of candles before it:
    daily traded value, daily return volatility and the traded value of one bar."""
    return _liquidity(_week(lake, timeframe, bar), timeframe, bar)


def _liquidity(
    week: pl.DataFrame, timeframe: str, bar: datetime
) -> dict[tuple[str, str], MarketStat]:
    """``trading.liquidity``'s estimates at ``bar`` over ``ROUTER_LIQUIDITY_DAYS`` (the same
    definition research and the cost calibration use, over a shorter window); a market whose
    estimates are not known yet (less than a day of bars) gets 0, which the router treats as
    no liquidity (infinite impact), as research does not trade it either."""
    from trading.liquidity import at
    from trading.timeframes import timeframe_delta

    stats = at(week, timeframe_delta(timeframe), ROUTER_LIQUIDITY_DAYS, bar)

    def known(x: float | None) -> bool:
        return x is not None and math.isfinite(x)

    out = {}
    for r in stats.iter_rows(named=True):
        usable = known(r["adv"]) and known(r["daily_vol"])  # as research's ``Market.tradable``
        out[(r["venue"], r["symbol"])] = MarketStat(
            adv_usd=r["adv"] if usable else 0.0,
            daily_vol=r["daily_vol"] if usable else 0.0,
            bar_volume_usd=r["bar_value"] if usable else 0.0,
        )
    return out


def newest_bar(lake: Lake, timeframe: str) -> datetime | None:
    """The newest bar in the feature table (what the sensor trades)."""
    from lake import catalog
    from trading.features.registry import registered_features

    spec = catalog.features(timeframe, list(registered_features()))
    if not lake.exists(spec):
        return None
    newest = lake.scan(spec).select(pl.col("ts").max()).collect().item()
    return newest if isinstance(newest, datetime) else None
