"""Timeframes as exact minute counts, so bars align to UTC midnight and daily partitions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

MINUTES_PER_DAY = 1440

# Every supported timeframe divides a day, so a daily partition always holds whole bars.
TIMEFRAME_MINUTES: dict[str, int] = {
    "1m": 1,
    "3m": 3,
    "5m": 5,
    "15m": 15,
    "30m": 30,
    "1h": 60,
    "2h": 120,
    "4h": 240,
    "6h": 360,
    "8h": 480,
    "12h": 720,
    "1d": 1440,
}


def timeframe_minutes(timeframe: str) -> int:
    """Minutes in one bar; raises with the list of valid timeframes on a typo."""
    try:
        return TIMEFRAME_MINUTES[timeframe]
    except KeyError:
        valid = ", ".join(TIMEFRAME_MINUTES)
        raise ValueError(f"unknown timeframe {timeframe!r}; use one of: {valid}") from None


def timeframe_delta(timeframe: str) -> timedelta:
    """The bar length as a timedelta."""
    return timedelta(minutes=timeframe_minutes(timeframe))


def day_start(day: date) -> datetime:
    """Midnight UTC of a calendar day: the start of its daily partition."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def floor_time(ts: datetime, timeframe: str) -> datetime:
    """The open time of the bar that contains ``ts``."""
    minutes = timeframe_minutes(timeframe)
    midnight = day_start(ts.astimezone(UTC).date())
    elapsed = int((ts - midnight).total_seconds() // 60)
    return midnight + timedelta(minutes=elapsed - elapsed % minutes)


def utc_now() -> datetime:
    """Now, timezone-aware; the one clock the venues and assets read."""
    return datetime.now(UTC)
