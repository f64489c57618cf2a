"""Where a run's steps execute: in the calling process (the default: fastest for one machine),
in one subprocess per step (``multiprocess``: per-table pools keep writers of one Delta table
apart while other tables run in parallel), or on Celery workers (``celery``: steps on any
machine that runs ``celery -A orchestration.celery_worker worker``, brokered by Redis).

``KEEL_EXECUTOR`` selects it for the ``keel`` CLI and for runs launched from the UI. Every
executor but in-process needs a persistent instance that the workers share (the prod profile's
PostgreSQL; SQLite only for workers on the same machine) and the same lake root.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from assets.paths import PROJECT_ROOT

EXECUTOR_ENV = "KEEL_EXECUTOR"
BROKER_ENV = "KEEL_CELERY_BROKER"
BACKEND_ENV = "KEEL_CELERY_BACKEND"
EXECUTORS = ("in_process", "multiprocess", "celery")
_RUN_TAG = "keel/launch"


def executor_name() -> str:
    """The selected executor; an unknown name stops with the valid ones."""
    name = os.environ.get(EXECUTOR_ENV) or "in_process"
    if name not in EXECUTORS:
        raise SystemExit(f"{EXECUTOR_ENV}={name!r} is not an executor; use one of {EXECUTORS}")
    return name


def celery_urls() -> tuple[str, str]:
    """Broker and result backend of the Celery executor (both Redis by default)."""
    broker = os.environ.get(BROKER_ENV) or "redis://127.0.0.1:6380/0"
    return broker, os.environ.get(BACKEND_ENV) or broker


def definitions_executor() -> Any:
    """The executor of every Keel job under ``KEEL_EXECUTOR=celery`` (None: Dagster's default,
    in-process or multiprocess by run config)."""
    if executor_name() != "celery":
        return None
    from dagster_celery import celery_executor

    broker, backend = celery_urls()
    return celery_executor.configured({"broker": broker, "backend": backend})


def _run_config(name: str, quiet: Mapping[str, Any], workers: int) -> dict[str, Any]:
    config: dict[str, Any] = dict(quiet)
    if name == "multiprocess":
        config["execution"] = {"config": {"multiprocess": {"max_concurrent": workers}}}
    return config


def execute_out_of_process(
    job_name: str,
    tags: Mapping[str, str],
    selection: list[Any] | None,
    quiet: Mapping[str, Any],
    listener: Callable[[Any], None] | None,
    workers: int = 2,
) -> Any:
    """Run ``job_name`` of the code location with the selected executor (steps in other
    processes or on Celery workers), feeding the run's stored events to ``listener`` as they
    land; returns the run's result."""
    from dagster import DagsterInstance, execute_job
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    # dagster-celery registers its task once per step; Celery warns about the repeat each time.
    warnings.filterwarnings("ignore", message="Task name 'execute_plan' is already registered")
    instance = DagsterInstance.get()
    if instance.is_ephemeral:
        raise SystemExit(
            f"{EXECUTOR_ENV}={executor_name()} needs a persistent Dagster instance that its "
            "workers share: set DAGSTER_HOME (make sets it) or use KEEL_PROFILE=prod"
        )
    repository = ReconstructableRepository.for_module(
        "orchestration.definitions", "defs", working_directory=str(PROJECT_ROOT)
    )
    launch = uuid.uuid4().hex
    done = threading.Event()
    follower = threading.Thread(
        target=_follow, args=(instance, launch, listener, done), daemon=True
    )
    if listener is not None:
        follower.start()
    try:
        return execute_job(
            repository.get_reconstructable_job(job_name),
            instance=instance,
            run_config=_run_config(executor_name(), quiet, workers),
            tags={**tags, _RUN_TAG: launch},
            asset_selection=selection,
            raise_on_error=False,
        )
    finally:
        done.set()
        if follower.is_alive():
            follower.join()


def _follow(
    instance: Any, launch: str, listener: Callable[[Any], None] | None, done: threading.Event
) -> None:
    """Poll the event log of the run tagged ``launch`` and hand each new event to ``listener``
    (steps run in other processes, so no in-memory subscription sees them)."""
    from dagster import RunsFilter

    assert listener is not None
    run_id = None
    cursor = None
    while True:
        finishing = done.is_set()
        if run_id is None:
            runs = instance.get_run_records(RunsFilter(tags={_RUN_TAG: launch}), limit=1)
            run_id = runs[0].dagster_run.run_id if runs else None
        if run_id is not None:
            connection = instance.get_records_for_run(run_id, cursor=cursor, limit=1000)
            for record in connection.records:
                listener(record.event_log_entry)
            cursor = connection.cursor if connection.records else cursor
            if connection.has_more:
                continue
        if finishing:
            return
        time.sleep(1.0)
