from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from trading.live.states import STATE_LAYOUT, TradingStates, change

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def _log(*changes: tuple[str, str, str, int]) -> pl.DataFrame:
    rows = [
        change(state, T0 + timedelta(minutes=m), "test", "cli", scope, target).row()  # type: ignore[arg-type]
        for state, scope, target, m in changes
    ]
    return pl.DataFrame(rows, schema=STATE_LAYOUT)


def test_no_changes_means_everything_active() -> None:
    states = TradingStates.from_log(_log())
    assert states.of(venue="a", strategy="s", symbol="BTC/USDT") == "ACTIVE"


def test_latest_change_of_a_scope_wins() -> None:
    states = TradingStates.from_log(
        _log(
            ("HALTED", "venue", "a", 1), ("ACTIVE", "venue", "a", 2), ("REDUCING", "venue", "b", 3)
        )
    )
    assert states.of(venue="a") == "ACTIVE"
    assert states.of(venue="b") == "REDUCING"


def test_most_restrictive_covering_scope_applies() -> None:
    states = TradingStates.from_log(
        _log(("REDUCING", "all", "*", 1), ("HALTED", "instrument", "BTC/USDT", 2))
    )
    assert states.of(venue="a", symbol="BTC/USDT") == "HALTED"
    assert states.of(venue="a", symbol="ETH/USDT") == "REDUCING"
    assert "HALTED instrument BTC/USDT" in states.why(venue="a", symbol="BTC/USDT")


def test_resume_of_one_scope_leaves_others_halted() -> None:
    states = TradingStates.from_log(
        _log(("HALTED", "all", "*", 1), ("HALTED", "venue", "a", 2), ("ACTIVE", "all", "*", 3))
    )
    assert states.of(venue="a") == "HALTED"
    assert states.of(venue="b") == "ACTIVE"
    assert [(c.scope, c.target) for c in states.non_active()] == [("venue", "a")]


def test_a_change_without_reason_or_with_a_bad_scope_is_refused() -> None:
    with pytest.raises(ValueError, match="say why"):
        change("HALTED", T0, " ", "cli")
    with pytest.raises(ValueError, match="needs a target"):
        change("HALTED", T0, "x", "cli", "venue", "*")
    with pytest.raises(ValueError, match="unknown trading state"):
        change("STOP", T0, "x", "cli")  # type: ignore[arg-type]
