"""Servers of the production profile, started once per test session on free ports in temporary
folders: PostgreSQL, Redis and moto's S3 server. Absent servers skip their tests with the
install command, except under CI (``CI`` set), where they fail: CI must exercise them."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestration.services import (
    Postgres,
    Process,
    free_port,
    postgres_bin,
    redis_bin,
    start_redis,
    start_s3,
)


def require(what: str, present: bool, fix: str) -> None:
    """Skip (locally) or fail (under CI) when a server the test needs is not installed."""
    if present:
        return
    message = f"{what} is not installed; {fix}"
    if os.environ.get("CI"):
        pytest.fail(f"CI must run this test: {message}")
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    require("PostgreSQL", postgres_bin() is not None, "apt-get install -y postgresql")
    # Under /tmp, not pytest's tmp_path: as root the server runs as the postgres user, who
    # cannot enter root's private folders.
    data = Path(tempfile.mkdtemp(prefix="keel-pg-"))
    server = Postgres(data, free_port()).start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    require("redis-server", redis_bin() is not None, "apt-get install -y redis-server")
    server = start_redis(free_port(), tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3() -> Iterator[str]:
    """The endpoint URL of a moto S3 server."""
    try:
        import moto.server  # noqa: F401
    except ImportError:
        require("moto", False, "pip install -e '.[prod]'")
    server = start_s3(free_port())
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()
