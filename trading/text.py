"""Counts in words for what Keel prints (progress lines, summaries, check messages): "1 day",
"2 days", never "1 days"."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` with thousands separators and ``noun`` in the number it needs: singular for
    exactly one, ``plural`` (default ``noun + "s"``) otherwise, zero included ("0 rows")."""
    word = noun if n == 1 else (plural if plural is not None else noun + "s")
    return f"{n:,} {word}"
