"""Lake writes: idempotent MERGE, partition isolation, all-or-nothing validation, time travel."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from deltalake import DeltaTable

from lake import catalog
from lake.store import Lake, SchemaViolationError
from trading import frames

SPEC = catalog.candles("1h")
T0 = datetime(2024, 3, 1, tzinfo=UTC)


def _candles(
    venue: str, symbol: str, day: int, hours: int = 24, close: float = 100.0
) -> pl.DataFrame:
    ts = [T0 + timedelta(days=day, hours=h) for h in range(hours)]
    return frames.conform(
        pl.DataFrame(
            {
                "venue": venue,
                "symbol": symbol,
                "timeframe": "1h",
                "ts": ts,
                "date": [t.date() for t in ts],
                "open": close,
                "high": close + 1.0,
                "low": close - 1.0,
                "close": close,
                "volume": 10.0,
            }
        ),
        frames.CANDLES,
    )


def _content(lake: Lake) -> pl.DataFrame:
    return lake.scan(SPEC).collect().sort("venue", "symbol", "ts")


def _files_by_partition(lake: Lake) -> dict[tuple[str, str], set[str]]:
    table = DeltaTable(lake.uri(SPEC))
    out: dict[tuple[str, str], set[str]] = {}
    for row in pl.DataFrame(table.get_add_actions(flatten=True)).to_dicts():
        key = (row["partition.venue"], str(row["partition.month"]))
        out.setdefault(key, set()).add(row["path"])
    return out


def test_upserting_the_same_rows_twice_changes_nothing(lake: Lake) -> None:
    rows = pl.concat([_candles("a", "BTC/USDT", 0), _candles("b", "BTC/USDT", 0)])
    first = lake.upsert(SPEC, rows)
    before = _content(lake)

    again = lake.upsert(SPEC, rows)

    assert _content(lake).equals(before)
    assert before.height == 48
    assert (again.inserted, again.updated) == (0, 0)
    assert again.version == first.version  # nothing changed, nothing committed


def test_overlapping_upsert_updates_changed_rows_without_duplicates(lake: Lake) -> None:
    lake.upsert(SPEC, _candles("a", "BTC/USDT", 0))

    result = lake.upsert(SPEC, _candles("a", "BTC/USDT", 0, close=105.0)[12:])

    content = _content(lake)
    assert (result.inserted, result.updated) == (0, 12)
    assert content.height == 24
    assert content["close"].to_list() == [100.0] * 12 + [105.0] * 12


def test_hourly_tables_partition_by_venue_and_month() -> None:
    assert SPEC.partition_by == ("venue", "month")
    assert catalog.candles("1m").partition_by == ("venue", "date")


def test_writing_one_partition_leaves_every_other_partition_untouched(lake: Lake) -> None:
    days = (0, 1, 40)  # 2024-03-01, 2024-03-02, 2024-04-10
    lake.upsert(
        SPEC,
        pl.concat(
            [_candles(v, s, d) for v in ("a", "b") for s in ("BTC/USDT", "ETH/USDT") for d in days]
        ),
    )
    files_before = _files_by_partition(lake)
    in_touched = (pl.col("venue") == "a") & (pl.col("date").dt.month() == 4)
    others_before = _content(lake).filter(~in_touched)

    lake.upsert(SPEC, _candles("a", "ETH/USDT", 40, close=200.0))

    files_after = _files_by_partition(lake)
    touched = ("a", "2024-04-01")
    assert set(files_before) == {(v, m) for v in "ab" for m in ("2024-03-01", "2024-04-01")}
    assert files_after[touched] != files_before[touched]
    assert {k: v for k, v in files_after.items() if k != touched} == {
        k: v for k, v in files_before.items() if k != touched
    }
    assert _content(lake).filter(~in_touched).equals(others_before)
    assert _content(lake).filter(in_touched, pl.col("symbol") == "ETH/USDT")[
        "close"
    ].unique().to_list() == [200.0]


def test_a_schema_violation_writes_nothing_and_shows_the_bad_rows(lake: Lake) -> None:
    lake.upsert(SPEC, _candles("a", "BTC/USDT", 0))
    version = lake.version(SPEC)
    good = _candles("a", "BTC/USDT", 1)
    bad = pl.concat([good[:5], good[5:6].with_columns(high=pl.lit(50.0)), good[6:]])

    with pytest.raises(SchemaViolationError) as err:
        lake.upsert(SPEC, bad)

    assert lake.version(SPEC) == version
    assert _content(lake).height == 24
    assert "low <= open, close <= high" in str(err.value)
    assert err.value.failures["row"].to_list() == [5]


@pytest.mark.parametrize(
    ("column", "value", "check"),
    [
        ("close", -1.0, "close > 0 and finite"),
        ("volume", -5.0, "volume >= 0 and finite"),
        ("timeframe", "4h", "timeframe is 1h"),
        ("close", float("nan"), "close > 0 and finite"),
    ],
)
def test_each_meaning_check_rejects_its_violation(
    lake: Lake, column: str, value: object, check: str
) -> None:
    rows = _candles("a", "BTC/USDT", 0).with_columns(
        pl.when(pl.col("ts") == T0).then(pl.lit(value)).otherwise(pl.col(column)).alias(column)
    )

    with pytest.raises(SchemaViolationError, match=re.escape(check)):
        lake.upsert(SPEC, rows)

    assert not lake.exists(SPEC)


def test_duplicate_keys_in_one_frame_are_rejected(lake: Lake) -> None:
    rows = _candles("a", "BTC/USDT", 0)

    with pytest.raises(SchemaViolationError, match=re.escape("unique ('venue', 'symbol', 'ts')")):
        lake.upsert(SPEC, pl.concat([rows, rows[:1]]))


def test_misaligned_and_future_timestamps_are_rejected(lake: Lake) -> None:
    rows = _candles("a", "BTC/USDT", 0)
    shifted = rows.with_columns(pl.col("ts") + timedelta(minutes=30))
    future = _candles("a", "BTC/USDT", 0).with_columns(
        ts=pl.col("ts") + timedelta(days=3650), date=(pl.col("ts") + timedelta(days=3650)).dt.date()
    )

    with pytest.raises(SchemaViolationError, match="aligned to the 1h grid"):
        lake.upsert(SPEC, shifted)
    with pytest.raises(SchemaViolationError, match="not in the future"):
        lake.upsert(SPEC, future)


def test_a_missing_column_is_a_clear_error(lake: Lake) -> None:
    with pytest.raises(SchemaViolationError, match=r"lacks columns \['volume'\]"):
        lake.upsert(SPEC, _candles("a", "BTC/USDT", 0).drop("volume"))


def test_time_travel_reads_a_past_version(lake: Lake) -> None:
    first = lake.upsert(SPEC, _candles("a", "BTC/USDT", 0))
    lake.upsert(SPEC, _candles("a", "BTC/USDT", 1))

    assert lake.scan(SPEC).collect().height == 48
    assert first.version is not None
    assert lake.scan(SPEC, version=first.version).collect().height == 24


def test_reading_a_table_that_does_not_exist_yields_an_empty_frame(lake: Lake) -> None:
    assert lake.scan(SPEC).collect().schema == pl.Schema(frames.CANDLES)


def test_lake_root_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_LAKE", "s3://bucket/keel")

    assert Lake().uri(SPEC) == "s3://bucket/keel/market/candles_1h"


def test_one_pass_rules_agree_with_the_pandera_schema_on_random_corruption() -> None:
    """The fast path decides validity; pandera, built from the same rules, is the reference."""
    import numpy as np
    import pandera.errors as pa_errors

    from lake.schemas import failing_rules

    rng = np.random.default_rng(1)
    clean = _candles("a", "BTC/USDT", 0)
    corruptions = [
        ("high", 1.0),
        ("low", 1e9),
        ("open", -3.0),
        ("volume", float("inf")),
        ("timeframe", "1d"),
    ]
    for _ in range(25):
        rows = clean
        for column, value in [corruptions[i] for i in rng.choice(5, size=2, replace=False)]:
            hit = int(rng.integers(0, 24))
            rows = rows.with_columns(
                pl.when(pl.int_range(pl.len()) == hit)
                .then(pl.lit(value))
                .otherwise(pl.col(column))
                .alias(column)
            )
        fast = set(failing_rules(rows, SPEC.rules(), SPEC.key))
        try:
            SPEC.schema().validate(rows, lazy=True)
            reference: set[str] = set()
        except pa_errors.SchemaErrors as exc:
            reference = set(exc.failure_cases.get_column("check").to_list())
        assert fast == reference
        assert fast  # every sample was corrupted


def test_frequent_small_refreshes_do_not_pile_up_files(lake: Lake) -> None:
    day = _candles("a", "BTC/USDT", 0)
    lake.upsert(SPEC, day[:1])

    for hour in range(1, 24):  # an hourly refresh appends the newest bar, 23 times
        lake.upsert(SPEC, day[hour : hour + 1])

    files = _files_by_partition(lake)[("a", "2024-03-01")]
    assert len(files) <= 12
    assert _content(lake).equals(day)


def test_concurrent_writers_to_one_table_both_land(tmp_path: object) -> None:
    """Two MERGEs into one table conflict in delta-rs even on different partitions; the lake
    retries the loser, so both writes land and nothing is duplicated."""
    from concurrent.futures import ThreadPoolExecutor

    root = str(tmp_path)
    Lake(root).upsert(SPEC, _candles("a", "BTC/USDT", 0))
    batches = [_candles(v, "ETH/USDT", d) for v in ("a", "b") for d in (1, 2, 3)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda rows: Lake(root).upsert(SPEC, rows), batches))

    content = Lake(root).scan(SPEC).collect()
    assert content.height == 24 * 7
    assert content.select("venue", "symbol", "ts").is_unique().all()


def test_one_bad_frame_among_many_writes_none_of_them(lake: Lake) -> None:
    good = [_candles("a", "BTC/USDT", d) for d in (0, 1)]
    bad = _candles("a", "BTC/USDT", 2).with_columns(low=pl.col("high") * 2)

    with pytest.raises(SchemaViolationError):
        lake.upsert_many(SPEC, [*good, bad])

    assert not lake.exists(SPEC)


def test_a_new_feature_column_merges_into_a_table_written_before_it_existed(lake: Lake) -> None:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)

    def rows(names: list[str], value: float) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "venue": ["a", "a"],
                "symbol": ["X", "X"],
                "ts": [t0, t0 + timedelta(hours=1)],
                "date": [t0.date()] * 2,
                **{n: [value, value] for n in names},
            }
        ).with_columns(pl.col("ts").dt.cast_time_unit("us"))

    lake.upsert(catalog.features("1h", ["old"]), rows(["old"], 1.0))
    spec = catalog.features("1h", ["old", "new"])

    lake.upsert(spec, rows(["old", "new"], 2.0))

    got = lake.scan(spec).collect().sort("ts")
    assert got.select("old", "new").rows() == [(2.0, 2.0), (2.0, 2.0)]
