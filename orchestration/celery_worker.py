"""The Celery app Keel's workers run: ``celery -A orchestration.celery_worker worker -Q dagster``
(with the same ``KEEL_*`` and ``DAGSTER_HOME`` settings as the machine that launches runs).
It is dagster-celery's app and tasks, pointed at ``$KEEL_CELERY_BROKER`` (Redis)."""

from __future__ import annotations

from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_execute_job_task, create_resume_job_task, create_task

from orchestration.executors import celery_urls

_broker, _backend = celery_urls()
app = make_app({"broker": _broker, "backend": _backend})  # type: ignore[no-untyped-call]
execute_plan = create_task(app)  # type: ignore[no-untyped-call]
execute_job = create_execute_job_task(app)
resume_job = create_resume_job_task(app)
