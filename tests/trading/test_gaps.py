"""Gap detection: runs of missing bars against the expected calendar, checked against a slow
reference that walks every expected timestamp."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from trading import frames
from trading.gaps import find_gaps

T0 = datetime(2024, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)


def _bars(symbol: str, hours: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {"symbol": [symbol] * len(hours), "ts": [T0 + h * H for h in hours]},
        schema={"symbol": pl.String, "ts": frames.UTC_TS},
    )


def _reference(candles: pl.DataFrame, symbols: list[str], n: int) -> list[tuple[str, int, int]]:
    """Walk every expected hour; collect (symbol, first missing hour, last missing hour)."""
    out = []
    for symbol in symbols:
        present = {
            int((ts - T0) / H) for ts in candles.filter(pl.col("symbol") == symbol)["ts"].to_list()
        }
        run_start = None
        for h in range(n + 1):
            missing = h < n and h not in present
            if missing and run_start is None:
                run_start = h
            if not missing and run_start is not None:
                out.append((symbol, run_start, h - 1))
                run_start = None
    return out


def test_complete_history_has_no_gaps() -> None:
    gaps = find_gaps(_bars("BTC", list(range(24))), "1h", T0, T0 + 23 * H, ["BTC"])

    assert gaps.is_empty()


def test_interior_leading_trailing_and_total_gaps_are_reported() -> None:
    candles = pl.concat([_bars("BTC", [2, 3, 4, 7, 8, 9]), _bars("ETH", list(range(10)))])

    gaps = find_gaps(candles, "1h", T0, T0 + 11 * H, ["BTC", "ETH", "SOL"])

    assert gaps.rows() == [
        ("BTC", T0, T0 + 1 * H, 2),
        ("BTC", T0 + 5 * H, T0 + 6 * H, 2),
        ("BTC", T0 + 10 * H, T0 + 11 * H, 2),
        ("ETH", T0 + 10 * H, T0 + 11 * H, 2),
        ("SOL", T0, T0 + 11 * H, 12),
    ]


def test_gaps_match_the_slow_reference_on_a_ragged_history() -> None:
    hours = [h for h in range(200) if h % 7 not in (3, 4) and h % 31 != 0]
    candles = pl.concat([_bars("A", hours), _bars("B", hours[::3])])

    gaps = find_gaps(candles, "1h", T0, T0 + 199 * H, ["A", "B"])

    got = [(s, int((a - T0) / H), int((b - T0) / H)) for s, a, b, _ in gaps.rows()]
    assert got == _reference(candles, ["A", "B"], 200)


def test_a_bar_that_closed_after_the_fetch_is_not_a_gap() -> None:
    from trading.gaps import last_expected_bar

    bars = pl.concat([_bars("BTC", list(range(10))), _bars("ETH", list(range(8)))])
    check_time = T0 + 11 * H + timedelta(minutes=1)  # bar 10 closed after the data was fetched

    last = last_expected_bar(bars, "1h", T0 + 24 * H, check_time)

    assert last == T0 + 9 * H  # the newest bar delivered; ETH's missing 8 and 9 still count
    assert find_gaps(bars, "1h", T0, last, ["BTC", "ETH"])["missing_bars"].to_list() == [2]


def test_the_expected_bar_never_passes_the_window_or_the_clock() -> None:
    from trading.gaps import last_expected_bar

    empty = _bars("BTC", [])

    assert last_expected_bar(empty, "1h", T0 + 5 * H, T0 + 30 * H) == T0 + 4 * H
    assert last_expected_bar(empty, "1h", T0 + 24 * H, T0 + 3 * H + timedelta(minutes=9)) == (
        T0 + 2 * H
    )
