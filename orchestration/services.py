"""Local servers of the production profile, for a workstation, CI and the tests: PostgreSQL
(Dagster's instance storage), Redis (the Celery broker) and an S3-compatible store (moto's
server mode, for the lake on object storage).

PostgreSQL and Redis are Debian's packages (``make services`` installs them with apt-get):
maintained, security-patched builds that any Debian or Ubuntu host has, where PyPI's server
wheels are either years old or download binaries at run time. PostgreSQL refuses to run as
root, so as root its commands run as the ``postgres`` user the package creates.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

_PG_ROOTS = (Path("/usr/lib/postgresql"), Path("/usr/local/lib/postgresql"))


class ServiceError(RuntimeError):
    """A server could not be found or started; the message says what to install or set."""


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    """Block until something accepts connections on ``127.0.0.1:port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise ServiceError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f}s")


def postgres_bin() -> Path | None:
    """The folder of the newest installed PostgreSQL server binaries (Debian's layout), or
    the folder of ``pg_ctl`` on the PATH."""
    for root in _PG_ROOTS:
        if root.is_dir():
            versions = sorted(
                (p for p in root.iterdir() if (p / "bin" / "pg_ctl").exists()),
                key=lambda p: int(p.name) if p.name.isdigit() else 0,
            )
            if versions:
                return versions[-1] / "bin"
    found = shutil.which("pg_ctl")
    return Path(found).resolve().parent if found else None


def redis_bin() -> Path | None:
    """``redis-server`` (or ``valkey-server``) on the PATH."""
    found = shutil.which("redis-server") or shutil.which("valkey-server")
    return Path(found) if found else None


def _as_postgres_user(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    if shutil.which("runuser") is None:
        raise ServiceError("running as root needs runuser (util-linux) to start PostgreSQL")
    return ["runuser", "-u", "postgres", "--", *args]


@dataclass(frozen=True)
class Postgres:
    """A PostgreSQL cluster in ``data_dir`` listening on ``127.0.0.1:port`` (trust auth on
    loopback only: a local development and test server)."""

    data_dir: Path
    port: int

    def url(self, database: str = "keel") -> str:
        """The SQLAlchemy URL of ``database``."""
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> Postgres:
        """Create the cluster if needed, start it and create the ``keel`` database."""
        bindir = postgres_bin()
        if bindir is None:
            raise ServiceError(
                "PostgreSQL server binaries not found; install them: "
                "apt-get install -y postgresql (or run `make services`)"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.data_dir, "postgres", "postgres")
            self.data_dir.chmod(0o700)
            reach = subprocess.run(
                _as_postgres_user(["test", "-w", str(self.data_dir)]), check=False, cwd="/"
            )
            if reach.returncode != 0:
                raise ServiceError(
                    f"the postgres user cannot reach {self.data_dir} (a parent folder is private "
                    "to root); set KEEL_POSTGRES_DATA to a folder it can reach, e.g. "
                    "/var/lib/keel/postgres"
                )
        if not (self.data_dir / "PG_VERSION").exists():
            self._run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                ]
            )
        options = f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1"
        log = self.data_dir / "server.log"
        self._run(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-o",
                options,
                "-l",
                str(log),
                "-w",
                "-t",
                "60",
                "start",
            ]
        )
        wait_for_port(self.port)
        exists = self._psql(bindir, "SELECT 1 FROM pg_database WHERE datname = 'keel'")
        if exists.strip() != "1":
            self._psql(bindir, "CREATE DATABASE keel")
        return self

    def create_database(self, name: str) -> str:
        """Create an empty database ``name`` (letters, digits, underscores) and return its URL."""
        if not name.replace("_", "").isalnum():
            raise ServiceError(f"database name {name!r}: use letters, digits and underscores")
        bindir = postgres_bin()
        assert bindir is not None
        self._psql(bindir, f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (fast shutdown); the cluster stays on disk."""
        bindir = postgres_bin()
        if bindir is not None and (self.data_dir / "postmaster.pid").exists():
            self._run([str(bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "stop"])

    def _psql(self, bindir: Path, sql: str) -> str:
        psql = bindir / "psql"
        command = [str(psql if psql.exists() else "psql"), "-h", "127.0.0.1"]
        command += ["-p", str(self.port), "-U", "postgres", "-d", "postgres", "-tAc", sql]
        return self._run(command)

    @staticmethod
    def _run(args: list[str]) -> str:
        done = subprocess.run(
            _as_postgres_user(args), capture_output=True, text=True, check=False, cwd="/"
        )
        if done.returncode != 0:
            raise ServiceError(f"{' '.join(args[:2])} failed: {done.stderr.strip()[-800:]}")
        return done.stdout


@dataclass
class Process:
    """A server run as a child process (Redis, moto); ``stop`` ends it."""

    popen: subprocess.Popen[bytes]
    port: int

    def stop(self) -> None:
        """Terminate the server and wait for it."""
        self.popen.terminate()
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


def start_redis(port: int, data_dir: Path) -> Process:
    """Redis on ``127.0.0.1:port``, no persistence: the Celery broker of the local profile."""
    binary = redis_bin()
    if binary is None:
        raise ServiceError(
            "redis-server not found; install it: apt-get install -y redis-server "
            "(or run `make services`)"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    args = [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    args += ["--appendonly", "no", "--dir", str(data_dir)]
    popen = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port)
    return Process(popen, port)


def start_s3(port: int) -> Process:
    """moto's S3-compatible server on ``127.0.0.1:port`` (in memory): the lake's object store
    in tests and demos. Any access key works."""
    try:
        import moto.server  # noqa: F401
    except ImportError:
        raise ServiceError("moto is not installed; pip install -e '.[prod]'") from None
    args = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    popen = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port)
    return Process(popen, port)
