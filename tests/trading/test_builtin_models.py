"""The built-in models target canonical instruments: one row per (symbol, ts) with venue null,
however many venues list the instrument; only ``basis`` (declared ``per_venue``) pins legs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from trading.models.registry import registered_models, strategies

T0 = datetime(2024, 1, 1, tzinfo=UTC)
VENUES = ("a", "b", "c")
SYMBOLS = ("BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT")


def _features() -> pl.DataFrame:
    """Every built-in model's features on three venues, the first bar a warm-up (all null)."""
    rows = []
    for h in range(3):
        for i, symbol in enumerate(SYMBOLS):
            for j, venue in enumerate(VENUES):
                x = None if h == 0 else (i - 1) * 0.7 + 0.01 * j + 0.1 * h
                rows.append(
                    {
                        "venue": venue,
                        "symbol": symbol,
                        "ts": T0 + timedelta(hours=h),
                        "venue_basis": None if x is None else 0.0003 * (j - 1),
                        "funding_carry_72": None if x is None else 0.0004 * x,
                        "max_daily_return_30d": x,
                        "zscore_48": None if x is None else 4.0 * x,
                        "ret_168": x,
                        "vol_168": None if x is None else 0.01,
                        "xs_momentum_rank": None if x is None else max(-1.0, min(1.0, x)),
                    }
                )
    return pl.DataFrame(rows).with_columns(pl.col("ts").dt.cast_time_unit("us"))


@pytest.mark.parametrize("name", [s.name for s in strategies() if not s.model.per_venue])
def test_a_venue_neutral_model_gives_one_target_per_instrument_and_bar(name: str) -> None:
    s = next(x for x in strategies() if x.name == name)

    out = s.targets(_features())

    assert out["venue"].null_count() == out.height
    assert out.select("symbol", "ts").is_duplicated().sum() == 0
    assert out.height == len(SYMBOLS) * 3
    assert out.filter(pl.col("ts") == T0)["weight"].null_count() == len(SYMBOLS)  # warm-up
    signal = out.filter(pl.col("weight").is_not_null())
    per_bar = signal.group_by("ts").agg(pl.col("weight").abs().sum())
    assert (per_bar["weight"] <= 1.0 + 1e-12).all()  # one budget, not one per venue


def test_only_basis_pins_legs_and_its_legs_keep_their_venues() -> None:
    pinned = sorted(n for n, m in registered_models().items() if m.per_venue)
    basis = next(s for s in strategies() if s.name == "basis")

    out = basis.targets(_features())

    assert pinned == ["basis"]
    assert out["venue"].null_count() == 0
    at = out.filter(pl.col("ts") == T0 + timedelta(hours=1), pl.col("symbol") == SYMBOLS[0])
    # Rich on c (+0.0003): short; cheap on a: long; a third of the budget per instrument.
    assert at.select("venue", "weight").rows() == [
        ("a", pytest.approx(0.6 / 3)),
        ("b", 0.0),
        ("c", pytest.approx(-0.6 / 3)),
    ]


def test_funding_carry_has_no_signal_on_spot() -> None:
    carry = next(s for s in strategies() if s.name == "funding_carry")

    out = carry.targets(_features())

    assert out.filter(pl.col("symbol") == "SOL/USDT")["weight"].null_count() == 3
