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
  asset (``ASSET_MATERIALIZATION_PLANNED``, one each); dagster-postgres stores such a batch one
  event at a time. Here they go in one ``INSERT`` per batch, and the asset index is updated once
  per asset, exactly as dagster-postgres already does for batches of materializations.

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
        """One INSERT for the planned-materialization events of a batch; the rest (a run's
        planned check evaluations, materializations) as upstream."""
        planned = [e for e in events if e.get_dagster_event().event_type == _PLANNED]
        rest = [e for e in events if e.get_dagster_event().event_type != _PLANNED]
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
        last: dict[str, tuple[EventLogEntry, int]] = {}
        for event, event_id in zip(planned, ids, strict=True):
            key = event.get_dagster_event().asset_key
            last[key.to_string() if key else ""] = (event, event_id)
        with self.index_transaction() as conn:
            self._store_asset_event_tags(conn, planned, ids)
            for event, event_id in last.values():
                self._store_asset_event(conn, event, event_id)
