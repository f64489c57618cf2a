"""Five-field cron expressions, checked when the config loads (``trading`` does not import
Dagster, whose scheduler would otherwise reject a bad expression only when the schedule loads).
"""

from __future__ import annotations

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
# name, lowest, highest, names (value of the first name)
_FIELDS: tuple[tuple[str, int, int, list[str], int], ...] = (
    ("minute", 0, 59, [], 0),
    ("hour", 0, 23, [], 0),
    ("day of month", 1, 31, [], 0),
    ("month", 1, 12, _MONTHS, 1),
    ("day of week", 0, 7, _DAYS, 0),
)


def _value(text: str, lo: int, hi: int, names: list[str], first: int) -> int | None:
    lowered = text.lower()
    if lowered in names:
        return names.index(lowered) + first
    if not text.isdigit():
        return None
    number = int(text)
    return number if lo <= number <= hi else None


def _item_problem(item: str, lo: int, hi: int, names: list[str], first: int) -> str | None:
    span, _, step = item.partition("/")
    if step and (not step.isdigit() or int(step) < 1):
        return f"step {step!r} must be a whole number of at least 1"
    if span == "*":
        return None
    start, dash, end = span.partition("-")
    a = _value(start, lo, hi, names, first)
    b = _value(end, lo, hi, names, first) if dash else a
    if a is None or b is None:
        allowed = f"{lo}-{hi}" + (f" or {names[0]}..{names[-1]}" if names else "")
        return f"{span!r} is not a value in {allowed}"
    if a > b:
        return f"range {span!r} runs backwards"
    return None


def cron_problem(expression: str) -> str | None:
    """Why ``expression`` is not a valid five-field cron expression, or None if it is."""
    fields = expression.split()
    if len(fields) != 5:
        return (
            f"{expression!r} is not a 5-field cron expression (minute hour day-of-month "
            f"month day-of-week; it has {len(fields)}), e.g. '5 * * * *'"
        )
    for text, (name, lo, hi, names, first) in zip(fields, _FIELDS, strict=True):
        for item in text.split(","):
            problem = _item_problem(item, lo, hi, names, first)
            if problem is not None:
                return f"{expression!r}: {name} field: {problem}"
    return None
