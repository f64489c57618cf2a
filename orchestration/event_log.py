"""Keel's PostgreSQL event log: dagster-postgres's storage with two costs of long runs cut,
nothing dropped (every per-partition event is still stored, so the UI keeps per-partition
status, failed partitions included).

- **Pooled connections.** dagster-postgres opens a new connection for every event (a
  ``NullPool``, safe across forks); a run stores thousands of events, each paying a TCP
  connect, authentication and a server backend start. This storage keeps one pooled
  connection per process (``pool_pre_ping`` checks it before use). Every process, executor
  subprocess and Celery task builds its own storage from the instance config, so no pooled
  connection crosses a fork.
- **Batched planned events.** A run over a partition range announces every partition of every
  asset (``ASSET_MATERIALIZATION_PLANNED``, one each) and every check it will evaluate
  (``ASSET_CHECK_EVALUATION_PLANNED``, one per check, with a row per partition in the check
  index); dagster-postgres stores such a batch one event at a time, and serializes a planned
  check's event again for every partition row. Here the batch's events go in one ``INSERT``, the
  asset index is updated once per asset, exactly as dagster-postgres already does for batches
  of materializations, and the check index gets one ``INSERT`` with each event serialized once:
  the same rows as upstream writes.

Used by ``profiles/prod/dagster.yaml``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dagster import DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._serdes import ConfigurableClassData
from dagster_postgres import PostgresEventLogStorage
from dagster_postgres.utils import create_pg_engine, pg_url_from_config

_PLANNED = DagsterEventType.ASSET_MATERIALIZATION_PLANNED
_CHECK_PLANNED = DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED
_BATCHED = (_PLANNED, _CHECK_PLANNED)


class KeelPostgresEventLogStorage(PostgresEventLogStorage):  # type: ignore[misc]
    """PostgresEventLogStorage with a per-process connection pool and batched planned events."""

    def __init__(
        self,
        postgres_url: str,
        should_autocreate_tables: bool = True,
        inst_data: ConfigurableClassData | None = None,
    ) -> None:
        super().__init__(postgres_url, should_autocreate_tables, inst_data)
        self._engine = create_pg_engine(
            self.postgres_url,
            None,
            isolation_level="AUTOCOMMIT",
            pool_size=1,
            max_overflow=4,
            pool_pre_ping=True,
            pool_recycle=3600,
        )

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> KeelPostgresEventLogStorage:
        """Built from the same config block as dagster-postgres's storage."""
        return cls(
            inst_data=inst_data,
            postgres_url=pg_url_from_config(config_value),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
        )

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """One INSERT for the planned events of a batch (materializations and checks); the rest
        (materializations of a step) as upstream."""
        planned = [e for e in events if e.get_dagster_event().event_type in _BATCHED]
        rest = [e for e in events if e.get_dagster_event().event_type not in _BATCHED]
        if len(planned) < 2:
            super().store_event_batch(events)
            return
        if rest:
            super().store_event_batch(rest)
        from dagster._core.storage.event_log.schema import SqlEventLogStorageTable

        statement = self.prepare_insert_event_batch(planned)
        with self._connect() as conn:
            result = conn.execute(statement.returning(SqlEventLogStorageTable.c.id))
            ids = [int(row[0]) for row in result.fetchall()]
        stored = list(zip(planned, ids, strict=True))
        assets = [(e, i) for e, i in stored if e.get_dagster_event().event_type == _PLANNED]
        if assets:
            last: dict[str, tuple[EventLogEntry, int]] = {}
            for event, event_id in assets:
                key = event.get_dagster_event().asset_key
                last[key.to_string() if key else ""] = (event, event_id)
            with self.index_transaction() as conn:
                self._store_asset_event_tags(conn, [e for e, _ in assets], [i for _, i in assets])
                for event, event_id in last.values():
                    self._store_asset_event(conn, event, event_id)
        checks = [(e, i) for e, i in stored if e.get_dagster_event().event_type == _CHECK_PLANNED]
        if checks:
            self._store_planned_checks(checks)

    def _store_planned_checks(self, checks: Sequence[tuple[EventLogEntry, int]]) -> None:
        """The check index rows of planned check evaluations, as upstream's
        ``_store_asset_check_evaluation_planned`` writes them, in one statement."""
        from dagster._core.definitions.asset_checks.asset_check_evaluation import (
            AssetCheckEvaluationPlanned,
        )
        from dagster._core.storage.asset_check_execution_record import (
            AssetCheckExecutionRecordStatus,
        )
        from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable
        from dagster._serdes import serialize_value

        rows: list[dict[str, Any]] = []
        for event, event_id in checks:
            planned = event.get_dagster_event().event_specific_data
            assert isinstance(planned, AssetCheckEvaluationPlanned)
            subset = planned.partitions_subset
            partitions = subset.get_partition_keys() if subset else [None]
            serialized = serialize_value(event)
            stamp = self._event_insert_timestamp(event)  # type: ignore[no-untyped-call]
            rows.extend(
                {
                    "asset_key": planned.asset_key.to_string(),
                    "check_name": planned.check_name,
                    "partition": partition,
                    "run_id": event.run_id,
                    "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
                    "evaluation_event": serialized,
                    "evaluation_event_timestamp": stamp,
                    "evaluation_event_storage_id": event_id,
                }
                for partition in partitions
            )
        with self.index_connection() as conn:
            conn.execute(AssetCheckExecutionsTable.insert().values(rows))
