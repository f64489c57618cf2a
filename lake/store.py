"""The lake: idempotent, validated writes and lazy, time-travelling reads of Delta tables.

Writes MERGE on the table key with a literal partition filter, so re-writing a partition
changes nothing, other partitions are never rewritten, and cost follows the new rows rather
than the table (delta-rs only prunes on literal partition predicates). Every frame is
validated whole before the first byte is written: a bad frame leaves the table as it was.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from lake.catalog import TableSpec
from trading import frames

LAKE_ENV = "KEEL_LAKE"
DEFAULT_ROOT = Path(__file__).resolve().parents[1] / "var" / "lake"
_COMMIT_RETRIES = 8
_MAX_FILES_PER_PARTITION = 12


class SchemaViolationError(ValueError):
    """A frame broke its table's schema; carries the failing rows so the caller can show them."""

    def __init__(self, table: str, message: str, failures: pl.DataFrame) -> None:
        super().__init__(f"{table}: rejected, nothing written.\n{message}")
        self.table = table
        self.failures = failures


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What one write did, for asset metadata and logs."""

    table: str
    version: int | None  # None when the frame was empty and nothing was committed
    rows: int
    inserted: int
    updated: int
    min_ts: datetime | None
    max_ts: datetime | None


def default_root() -> str:
    """``$KEEL_LAKE`` (a folder or an object-store URI such as ``s3://bucket/lake``), else
    ``var/lake`` in the project."""
    return os.environ.get(LAKE_ENV) or str(DEFAULT_ROOT)


def _sql_literal(value: object) -> str:
    if isinstance(value, date | datetime):
        return f"'{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


class Lake:
    """Delta tables under one root (a local path or an object-store URI)."""

    def __init__(
        self, root: str | Path | None = None, storage_options: dict[str, str] | None = None
    ):
        self.root = str(root) if root is not None else default_root()
        self.storage_options = storage_options
        self._tables: dict[str, Any] = {}

    def uri(self, spec: TableSpec) -> str:
        """Where a table lives."""
        return f"{self.root.rstrip('/')}/{spec.name}"

    def exists(self, spec: TableSpec) -> bool:
        """Whether the table has been created."""
        from deltalake import DeltaTable

        return bool(DeltaTable.is_deltatable(self.uri(spec), storage_options=self.storage_options))

    # ------------------------------------------------------------------ validation

    def validate(
        self, spec: TableSpec, df: pl.DataFrame, *, keys_unique: bool = False
    ) -> pl.DataFrame:
        """Cast to the table layout and check every rule in one pass; on a failure, run the
        pandera schema (on the eager frame: pandera checks data only on DataFrames) to raise
        with the rows that break each rule. ``keys_unique``: the caller builds keys unique by
        construction (tested where it builds them), so the key scan is skipped."""
        from lake.admission import admission_problems
        from lake.schemas import failing_rules

        partitions = [c for c in spec.partition_by if c in spec.layout]
        problems = admission_problems(df, spec.layout, spec.key, partitions)
        if problems:
            raise SchemaViolationError(spec.name, "\n".join(problems), pl.DataFrame())
        try:
            conformed = frames.conform(df, spec.layout)
        except (ValueError, pl.exceptions.PolarsError) as exc:
            raise SchemaViolationError(
                spec.name, f"wrong columns or types: {exc}", pl.DataFrame()
            ) from None
        failed = failing_rules(conformed, spec.rules(), () if keys_unique else spec.key)
        if failed:
            self._report(spec, conformed, failed)
        return conformed

    @staticmethod
    def _report(spec: TableSpec, df: pl.DataFrame, failed: list[str]) -> None:
        import pandera.errors as pa_errors

        bad_rows = pl.DataFrame()
        try:
            spec.schema().validate(df, lazy=True)
        except pa_errors.SchemaErrors as exc:
            index = exc.failure_cases.get_column("index").drop_nulls().unique().sort()
            bad_rows = df.with_row_index("row").filter(pl.col("row").is_in(index.implode()))
        with pl.Config(tbl_rows=10, tbl_cols=12, fmt_str_lengths=40, tbl_width_chars=160):
            message = f"{len(bad_rows)} of {len(df)} rows fail: {', '.join(failed)}\n"
            message += str(bad_rows.head(10))
        raise SchemaViolationError(spec.name, message, bad_rows)

    # ------------------------------------------------------------------ writes

    def upsert(self, spec: TableSpec, df: pl.DataFrame) -> WriteResult:
        """Validate, then MERGE on the key: matched rows are updated, new rows inserted."""
        return self.upsert_many(spec, [df])[0]

    def upsert_many(self, spec: TableSpec, dfs: list[pl.DataFrame]) -> list[WriteResult]:
        """Validate every frame first, then MERGE them one by one (bounded memory per write):
        a bad frame anywhere leaves the table as it was."""
        return [self._merge(spec, data) for data in [self.validate(spec, df) for df in dfs]]

    def _merge(self, spec: TableSpec, data: pl.DataFrame) -> WriteResult:
        min_ts, max_ts = _ts_range(data)
        if data.is_empty():
            return WriteResult(spec.name, self.version(spec), 0, 0, 0, None, None)
        data = data.with_columns(spec.derived_columns())
        table = self._table_or_create(spec, data)
        predicate = " AND ".join(
            [f"t.{k} = s.{k}" for k in spec.key] + self._partition_filter(spec, data)
        )
        # Update only rows whose values changed: re-writing identical data commits nothing.
        # A column the table lacks (a new feature) cannot be named in the predicate: then
        # every matched row is updated, and the schema merge adds the column.
        present = {f.name for f in table.schema().fields}
        values = [c for c in spec.layout if c not in spec.key and c in data.columns]
        changed = (
            " OR ".join(f"(t.{c} IS DISTINCT FROM s.{c})" for c in values)
            if all(c in present for c in values)
            else ""
        )
        from deltalake.exceptions import CommitFailedError

        source = data.to_arrow()
        for attempt in range(_COMMIT_RETRIES):
            try:
                metrics: dict[str, Any] = (
                    table.merge(
                        source,
                        predicate=predicate,
                        source_alias="s",
                        target_alias="t",
                        streamed_exec=False,
                        merge_schema=spec.evolve_schema,
                    )
                    .when_matched_update_all(predicate=changed or None)
                    .when_not_matched_insert_all()
                    .execute()
                )
                break
            except CommitFailedError:
                if attempt == _COMMIT_RETRIES - 1:
                    raise
                # Another writer committed to this table first; MERGE is idempotent, so retry.
                time.sleep(0.05 * 2**attempt)
                table.update_incremental()
            except Exception as exc:
                if type(exc).__name__ != "DeltaError" and not isinstance(exc, OSError):
                    raise
                # A file this partition's MERGE must read is lost: say which, and the recovery.
                from lake.diagnose import LakeReadError, explain

                venue = str(data["venue"][0]) if "venue" in data.columns else None
                raise LakeReadError(spec.name, explain(self, spec, exc, venue)) from None
        table.update_incremental()
        self._compact(spec, table, data)
        return WriteResult(
            spec.name,
            table.version(),
            len(data),
            int(metrics.get("num_target_rows_inserted", 0)),
            int(metrics.get("num_target_rows_updated", 0)),
            min_ts,
            max_ts,
        )

    def _table_or_create(self, spec: TableSpec, data: pl.DataFrame) -> Any:
        """The table, created empty first if it does not exist. Rows always arrive by MERGE:
        two writers that both *create* a table with rows both commit (versions 0 and 1) and
        store every row twice, whereas two empty creates are harmless and their MERGEs
        conflict and retry."""
        from deltalake import DeltaTable

        uri = self.uri(spec)
        cached = self._tables.get(uri)
        if cached is not None:
            # Reading only the commits since the last write beats replaying the whole log.
            cached.update_incremental()
            return cached
        if not DeltaTable.is_deltatable(uri, storage_options=self.storage_options):
            DeltaTable.create(
                uri,
                data.head(0).to_arrow().schema,
                mode="ignore",
                partition_by=list(spec.partition_by) or None,
                storage_options=self.storage_options,
            )
        self._tables[uri] = DeltaTable(uri, storage_options=self.storage_options)
        return self._tables[uri]

    def replace(
        self, spec: TableSpec, df: pl.DataFrame, column: str, *, keys_unique: bool = False
    ) -> WriteResult:
        """Validate, then atomically replace every row whose ``column`` value appears in ``df``
        (a predicate overwrite): for results that are recomputed whole, such as a strategy's
        equity curve, where rows the new result lacks must go too. ``keys_unique`` as in
        ``validate``: for frames whose keys are unique by construction (millions of research
        trades, where the scan costs more than the write)."""
        from deltalake import write_deltalake

        data = self.validate(spec, df, keys_unique=keys_unique)
        values = data.get_column(column).unique().sort().to_list()
        if not values:
            return WriteResult(spec.name, self.version(spec), 0, 0, 0, None, None)
        min_ts, max_ts = _ts_range(data)
        predicate = f"{column} IN ({', '.join(_sql_literal(v) for v in values)})"
        arrow = data.with_columns(spec.derived_columns()).to_arrow()
        from deltalake.exceptions import CommitFailedError

        # Created empty first (race-free, see _table_or_create), then always overwritten.
        self._table_or_create(spec, data.with_columns(spec.derived_columns()))
        for attempt in range(_COMMIT_RETRIES):
            try:
                write_deltalake(
                    self.uri(spec),
                    arrow,
                    mode="overwrite",
                    predicate=predicate,
                    partition_by=list(spec.partition_by) or None,
                    storage_options=self.storage_options,
                    writer_properties=_writer_properties(arrow.schema),
                )
                break
            except CommitFailedError:
                # A concurrent writer (another research range) committed first; the
                # predicate overwrite is idempotent, so retry on the new version.
                if attempt == _COMMIT_RETRIES - 1:
                    raise
                time.sleep(0.05 * 2**attempt)
        self._tables.pop(self.uri(spec), None)
        return WriteResult(spec.name, self.version(spec), len(data), len(data), 0, min_ts, max_ts)

    def _compact(self, spec: TableSpec, table: Any, data: pl.DataFrame) -> None:
        """Merge the small files that frequent refreshes leave in the partitions just written,
        once a partition holds more than ``_MAX_FILES_PER_PARTITION``: delta-rs pays per file
        on every later read and write, so file count must not grow with refreshes."""
        if not spec.partition_by:
            return
        actions = pl.DataFrame(table.get_add_actions(flatten=True))
        columns = [f"partition.{c}" for c in spec.partition_by]
        touched = data.select(spec.partition_by).unique()
        crowded = (
            actions.group_by(columns)
            .len()
            .filter(pl.col("len") > _MAX_FILES_PER_PARTITION)
            .rename(dict(zip(columns, spec.partition_by, strict=True)))
        )
        if crowded.is_empty():
            return
        crowded = crowded.with_columns(pl.col(c).cast(touched.schema[c]) for c in spec.partition_by)
        for partition in crowded.join(touched, on=list(spec.partition_by)).iter_rows(named=True):
            filters = [(c, "=", str(partition[c])) for c in spec.partition_by]
            table.optimize.compact(partition_filters=filters)

    @staticmethod
    def _partition_filter(spec: TableSpec, data: pl.DataFrame) -> list[str]:
        """Literal bounds on partition columns: what lets delta-rs skip untouched partitions."""
        clauses = []
        for column in spec.partition_by:
            values = data.get_column(column).unique().sort()
            if values.dtype == pl.Date and len(values) > 8:
                lo, hi = values.min(), values.max()
                clauses.append(
                    f"t.{column} >= {_sql_literal(lo)} AND t.{column} <= {_sql_literal(hi)}"
                )
            else:
                listed = ", ".join(_sql_literal(v) for v in values.to_list())
                clauses.append(f"t.{column} IN ({listed})")
        return clauses

    # ------------------------------------------------------------------ reads

    def scan(
        self, spec: TableSpec, *, version: int | None = None, as_of: datetime | None = None
    ) -> pl.LazyFrame:
        """A lazy read of the table, optionally at a past version or point in time."""
        if version is not None and as_of is not None:
            raise ValueError("give version or as_of, not both")
        if not self.exists(spec):
            return frames.empty(spec.layout).lazy()
        at: int | datetime | None = version if version is not None else as_of
        scan = pl.scan_delta(self.uri(spec), version=at, storage_options=self.storage_options)
        present = scan.collect_schema()
        return scan.select([c for c in spec.layout if c in present])

    def version(self, spec: TableSpec) -> int | None:
        """The table's current Delta version, or None if it does not exist yet."""
        from deltalake import DeltaTable

        if not self.exists(spec):
            return None
        return int(DeltaTable(self.uri(spec), storage_options=self.storage_options).version())


def _writer_properties(schema: Any) -> Any:
    """Parquet dictionary encoding for text columns only: on float columns (research returns,
    positions) it is tried on every page and abandoned, which more than doubled the write
    time of research results (measured in docs/performance.md)."""
    import pyarrow as pa
    from deltalake import ColumnProperties, WriterProperties

    text = {
        f.name: ColumnProperties(dictionary_enabled=True)
        for f in schema
        if pa.types.is_string(f.type)
        or pa.types.is_large_string(f.type)
        or pa.types.is_string_view(f.type)
    }
    return WriterProperties(
        default_column_properties=ColumnProperties(dictionary_enabled=False),
        column_properties=text or None,
    )


def _ts_range(df: pl.DataFrame) -> tuple[datetime | None, datetime | None]:
    if "ts" not in df.columns or df.is_empty():
        return None, None
    if isinstance(df.schema["ts"], pl.List):  # bars held as lists (research/trade_lists)
        df = df.select(pl.col("ts").explode())
    lo, hi = df.get_column("ts").min(), df.get_column("ts").max()
    assert lo is None or isinstance(lo, datetime)
    assert hi is None or isinstance(hi, datetime)
    return lo, hi
