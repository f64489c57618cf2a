"""Five-field cron expressions, checked when the config loads (``trading`` does not import
Dagster, whose scheduler would otherwise reject a bad expression only when the schedule loads).
What is accepted follows croniter, the parser behind Dagster's schedules: wrapping ranges
(``22-2``), ``?`` in the day fields, ``L`` (last day) in the day of the month.
"""

from __future__ import annotations

from dataclasses import dataclass

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    lo: int
    hi: int
    names: tuple[str, ...] = ()  # the first name stands for ``first``
    first: int = 0
    specials: frozenset[str] = frozenset()


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31, specials=frozenset({"?", "L"})),
    _Field("month", 1, 12, _MONTHS, 1),
    _Field("day of week", 0, 7, _DAYS, 0, frozenset({"?"})),
)


def _value(text: str, field: _Field) -> int | None:
    lowered = text.lower()
    if lowered in field.names:
        return field.names.index(lowered) + field.first
    if not text.isdigit():
        return None
    number = int(text)
    return number if field.lo <= number <= field.hi else None


def _item_problem(item: str, field: _Field) -> str | None:
    span, _, step = item.partition("/")
    if step and (not step.isdigit() or int(step) < 1):
        return f"step {step!r} must be a whole number of at least 1"
    if span in field.specials and step:
        return f"{span!r} takes no step"
    if span == "*" or span in field.specials:
        return None
    start, dash, end = span.partition("-")
    if _value(start, field) is None or (dash and _value(end, field) is None):
        names = f" or {field.names[0]}..{field.names[-1]}" if field.names else ""
        return f"{span!r} is not a value in {field.lo}-{field.hi}{names}"
    return None  # a range that runs backwards wraps around (22-2 is 22, 23, 0, 1, 2)


def cron_problem(expression: str) -> str | None:
    """Why ``expression`` is not a valid five-field cron expression, or None if it is."""
    fields = expression.split()
    if len(fields) != 5:
        return (
            f"{expression!r} is not a 5-field cron expression (minute hour day-of-month "
            f"month day-of-week; it has {len(fields)}), e.g. '5 * * * *'"
        )
    for text, field in zip(fields, _FIELDS, strict=True):
        for item in text.split(","):
            problem = _item_problem(item, field)
            if problem is not None:
                return f"{expression!r}: {field.name} field: {problem}"
    return None
