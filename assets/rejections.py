"""A rejected write, explained where the trader reads it: why, which bars, and what to run.

The lake rejects a whole chunk when one bar breaks a rule (nothing half-written). The raw
rejection ends in a table of rows; the CLI and the run's failure show only its first lines, so
the explanation leads with the rule, names the bars, and gives the backfills that load
everything around them while the source stays broken.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from lake.store import SchemaViolationError


class WriteRejectedError(ValueError):
    """A venue served rows the lake refuses; nothing of the window was written."""


def _bar(row: dict[str, object]) -> str:
    ts = row.get("ts")
    when = ts.strftime("%Y-%m-%d %H:%M UTC") if isinstance(ts, datetime) else str(ts)
    return f"{row.get('venue')} {row.get('symbol')} {when}"


def explain_rejection(
    error: SchemaViolationError,
    dataset: str,
    start: datetime,
    end: datetime,
    range_start: datetime | None = None,
    range_end: datetime | None = None,
) -> WriteRejectedError:
    """The rejection as: rule, bars, what was not written (the chunk ``start..end``), and the
    repair commands over the whole range (``range_start..range_end``, default the chunk)."""
    lines = str(error).splitlines()
    rule = lines[1] if len(lines) > 1 else lines[0]
    bad = error.failures
    if bad.is_empty() or "ts" not in bad.columns:
        return WriteRejectedError(
            f"{error.table}: rejected, nothing written for {start.date()}..{end.date()}: {rule}"
        )
    rows = bad.sort("ts").head(5).to_dicts()
    venue = str(rows[0].get("venue"))
    days = sorted({d for d in bad.get_column("ts").dt.date().to_list() if isinstance(d, date)})
    first, last = start.date(), (end - timedelta(microseconds=1)).date()
    range_first = (range_start or start).date()
    range_last = ((range_end or end) - timedelta(microseconds=1)).date()
    around = []
    if days[0] > range_first:
        around.append((range_first, days[0] - timedelta(days=1)))
    if days[-1] < range_last:
        around.append((days[-1] + timedelta(days=1), range_last))
    base = f"keel backfill --venue {venue} --dataset {dataset}"
    repair = " and ".join(f"{base} --start {a} --end {b}" for a, b in around)
    more = f" and {bad.height - len(rows)} more" if bad.height > len(rows) else ""
    return WriteRejectedError(
        f"{error.table}: {venue} served {bad.height} broken rows ({rule}): "
        f"{'; '.join(_bar(r) for r in rows)}{more}. Nothing of {first}..{last} was written. "
        f"Repair: load the days around them now ({repair or 'none: every day is affected'}), "
        f"then {base} --start {days[0]} --end {days[-1]} once {venue} serves them correctly"
    )
