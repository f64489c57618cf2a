"""The two instance profiles: ``local`` (SQLite under var/dagster, the default) and ``prod``
(PostgreSQL through dagster-postgres, ``profiles/prod/dagster.yaml``). ``KEEL_PROFILE=prod``
or ``make ... PROFILE=prod`` selects the second."""

from __future__ import annotations

import os

from assets.paths import PROJECT_ROOT

PROFILE_ENV = "KEEL_PROFILE"
POSTGRES_URL_ENV = "KEEL_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg2://postgres@127.0.0.1:5433/keel"  # `keel services start`
# Per-partition materializations of one step go to the event log in batches of this many:
# dagster-postgres writes a batch in one statement (SQLite stores them one by one regardless).
EVENT_BATCH_SIZE = "1000"


def apply_profile() -> str:
    """Set the environment defaults of the selected profile (explicit settings win) and return
    its name; an unknown name stops with the valid ones."""
    name = os.environ.get(PROFILE_ENV) or "local"
    if name not in ("local", "prod"):
        raise SystemExit(f"{PROFILE_ENV}={name!r} is not a profile; use local or prod")
    os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", EVENT_BATCH_SIZE)
    if name == "prod":
        os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / "profiles" / "prod"))
        os.environ.setdefault(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL)
    return name
