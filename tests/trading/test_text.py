"""Counts in words: exactly one takes the singular, every other count the plural."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from trading.text import counted


def test_one_is_singular_and_zero_and_many_are_plural() -> None:
    assert counted(1, "day") == "1 day"
    assert counted(0, "row") == "0 rows"
    assert counted(2, "asset") == "2 assets"
    assert counted(36_000, "row") == "36,000 rows"


def test_an_irregular_plural_is_used_as_given() -> None:
    assert counted(1, "strategy", "strategies") == "1 strategy"
    assert counted(224, "strategy", "strategies") == "224 strategies"


@given(st.integers(min_value=0, max_value=10**9))
def test_the_noun_is_singular_exactly_when_the_count_is_one(n: int) -> None:
    words = counted(n, "run").split(" ")

    assert words[0].replace(",", "") == str(n)
    assert (words[1] == "run") == (n == 1)
