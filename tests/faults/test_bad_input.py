"""Every bad input of the fault campaign is refused before anything is written or run, with the
rule or key that failed and the fix."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lake import catalog
from lake.store import Lake, SchemaViolationError
from tests.conftest import small_config_dict
from tests.faults.writer import candles
from trading.config import ConfigError, parse_config
from trading.cron import cron_problem

SPEC = catalog.candles("1h")


def _edit(frame: pl.DataFrame, **columns: Any) -> pl.DataFrame:
    return frame.with_columns(**columns)


Edit = Callable[[pl.DataFrame], pl.DataFrame]
LAKE_CASES: dict[str, tuple[Edit, str]] = {
    "null symbol": (
        lambda f: _edit(
            f, symbol=pl.when(pl.col("ts") == f["ts"][0]).then(None).otherwise(pl.lit("X"))
        ),
        "1 row has a null 'symbol'",
    ),
    "empty symbol": (lambda f: _edit(f, symbol=pl.lit("")), "48 rows have an empty 'symbol'"),
    "null venue": (
        lambda f: _edit(f, venue=pl.lit(None, pl.String)),
        "48 rows have a null 'venue'",
    ),
    "numeric text price": (
        lambda f: _edit(f, close=pl.col("close").cast(pl.String)),
        "column 'close' is String, expected a number",
    ),
    "extra column": (
        lambda f: _edit(f, note=pl.lit("x")),
        "columns ['note'] are not in the table",
    ),
    "naive timestamp": (
        lambda f: _edit(f, ts=pl.col("ts").dt.replace_time_zone(None)),
        "column 'ts' is a timezone-less timestamp",
    ),
}


@pytest.mark.parametrize("case", sorted(LAKE_CASES))
def test_a_frame_the_lake_cannot_key_or_store_faithfully_is_rejected_whole(
    lake: Lake, case: str
) -> None:
    lake.upsert(SPEC, candles("a"))
    before = lake.version(SPEC)
    edit, rule = LAKE_CASES[case]

    with pytest.raises(SchemaViolationError) as err:
        lake.upsert(SPEC, edit(candles("b")))

    assert rule in str(err.value)
    assert "nothing written" in str(err.value)
    assert lake.version(SPEC) == before
    assert lake.scan(SPEC).collect().height == 48


def test_a_float_written_into_an_integer_column_is_rejected_not_truncated(lake: Lake) -> None:
    spec = catalog.research_metrics()
    row = {c: None for c in spec.layout} | {"strategy": "s", "features_version": 1.5}
    frame = pl.DataFrame([row]).with_columns(
        pl.col(c).cast(t) for c, t in spec.layout.items() if c != "features_version"
    )

    with pytest.raises(SchemaViolationError, match="'features_version' is Float64; a float"):
        lake.upsert(spec, frame)

    assert not lake.exists(spec)


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("61 * * * *", "minute field: '61' is not a value in 0-59"),
        ("a b c d e", "minute field: 'a' is not a value in 0-59"),
        ("5 * * 13 *", "month field: '13' is not a value in 1-12 or jan..dec"),
        ("*/0 * * * *", "step '0' must be a whole number of at least 1"),
        ("5 * * *", "is not a 5-field cron expression"),
    ],
)
def test_an_invalid_cron_names_the_field(expression: str, problem: str) -> None:
    assert problem in str(cron_problem(expression))


_CRON_TOKENS = [
    "*", "*/5", "*/0", "0", "5", "7", "12", "13", "23", "24", "31", "32", "59", "60", "61",
    "1-5", "5-1", "0-59/15", "1-5/0", "mon", "jan", "dec", "mon-fri", "sun-sat", "a", "1,2",
    "1,61", "L", "?", "?/2", "5L", "0-7", "1-31",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_CRON_TOKENS), min_size=5, max_size=5))
def test_the_cron_check_agrees_with_dagsters_parser(fields: list[str]) -> None:
    from dagster._utils.schedules import is_valid_cron_string

    expression = " ".join(fields)

    assert (cron_problem(expression) is None) == is_valid_cron_string(expression)


def _config(tmp_path: Path, **edits: Any) -> None:
    raw = copy.deepcopy(small_config_dict())
    for path, value in edits.items():
        node: Any = raw
        keys = path.split("__")
        for key in keys[:-1]:
            node = node[int(key)] if key.isdigit() else node[key]
        node[keys[-1]] = value
    parse_config(raw, tmp_path / "keel.toml")


FUTURE = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
CONFIG_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "cron minute 61": ({"data__refresh_cron": "61 * * * *"}, "data.refresh_cron: "),
    "cron of letters": ({"data__refresh_cron": "a b c d e"}, "minute field"),
    "history in the future": ({"data__history_start": FUTURE}, "is in the future"),
    "gap ending before it starts": (
        {
            "venues__0__faults": {
                "gaps": [
                    {"symbol": "BTC/USDT", "start": "2024-03-02T00:00:00Z", "end": "2024-03-01"}
                ]
            }
        },
        "ends (2024-03-01 00:00:00+00:00) before it starts",
    ),
    "fault on an unlisted symbol": (
        {"venues__0__faults": {"bars": [{"symbol": "DOGE/USDT", "ts": "2024-03-01T00:00:00Z"}]}},
        "a fault names 'DOGE/USDT', which sim_a does not list",
    ),
    "negative balance": (
        {"venues__0__starting_balances": {"USDT": -5.0}},
        "starting_balances['USDT'] must be >= 0, got -5.0",
    ),
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_a_bad_config_value_is_refused_on_load_with_the_key(tmp_path: Path, case: str) -> None:
    edits, message = CONFIG_CASES[case]

    with pytest.raises(ConfigError) as err:
        _config(tmp_path, **edits)

    assert message in str(err.value)
