"""``keel services``: start and stop the production profile's local servers (PostgreSQL for
Dagster's instance, Redis for Celery workers) under var/, and print how to use them."""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path
from typing import Any

from assets.paths import VAR

POSTGRES_PORT = 5433  # beside a system PostgreSQL on 5432
REDIS_PORT = 6380


def register(sub: Any) -> None:
    """Add ``keel services start|stop``."""
    services = sub.add_parser("services", help="start or stop the prod profile's local servers")
    services.add_argument("action", choices=["start", "stop"])


def run(args: argparse.Namespace) -> int | None:
    """Handle ``keel services``; None when the command is not this module's."""
    if args.command != "services":
        return None
    from orchestration.services import Postgres, ServiceError, redis_bin, wait_for_port

    postgres = Postgres(
        Path(os.environ.get("KEEL_POSTGRES_DATA") or VAR / "postgres"), POSTGRES_PORT
    )
    redis_dir = VAR / "redis"
    pidfile = redis_dir / "redis.pid"
    try:
        if args.action == "stop":
            postgres.stop()
            if pidfile.exists():
                os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
            print("stopped")
            return 0
        postgres.start()
        binary = redis_bin()
        if binary is None:
            raise ServiceError("redis-server not found; apt-get install -y redis-server")
        redis_dir.mkdir(parents=True, exist_ok=True)
        if not pidfile.exists():
            import subprocess

            subprocess.run(
                [
                    str(binary),
                    "--port",
                    str(REDIS_PORT),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(redis_dir),
                    "--daemonize",
                    "yes",
                    "--pidfile",
                    str(pidfile),
                ],
                check=True,
            )
        wait_for_port(REDIS_PORT)
    except ServiceError as exc:
        print(exc)
        return 1
    print(f"PostgreSQL {postgres.url()}  (data {postgres.data_dir})")
    print(f"Redis      redis://127.0.0.1:{REDIS_PORT}/0")
    print("use them:  make ui PROFILE=prod   or   KEEL_PROFILE=prod .venv/bin/keel backfill ...")
    return 0
