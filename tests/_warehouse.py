"""The real PostgreSQL warehouse and the migrated Airflow metadata DB, for the tests that need them.

Only ``tests/integration`` and ``tests/plugin`` call ``set_up()`` (from their conftest, before their test
modules import Airflow or the package), so ``pytest tests/unit`` and ``tests/dag_validation`` start no
server and migrate nothing. The warehouse is a fresh database on the embedded PostgreSQL (started from
the pip wheel under ``data/pg-test`` on any free port), or on the server named by ``AIRFLOW_CONN_DWH``
when that is set; it is dropped at the end. With ``CLIENT_DWH_FORCE_PARALLEL=1`` every statement in it is
planned in parallel (``make test-parallel``). Airflow's SQLite metadata DB is migrated once per Airflow
version into ``data/test-cache`` and copied into the session's folder.

Registered once as a pytest plugin by ``tests/conftest.py``, so its session fixtures run once per session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
CACHE_DIR = ROOT / "data" / "test-cache"
TEST_PGDATA = ROOT / "data" / "pg-test"


@dataclass(frozen=True)
class WarehouseSession:
    server_uri: str  # the server (for create/drop database)
    database: str
    database_uri: str
    started_server: bool  # this session started the embedded server, so it stops it at the end


_warehouse: WarehouseSession | None = None


def _session_dir() -> Path:
    return Path(os.environ["CLIENT_DWH_DATA_DIR"])  # set by tests/conftest.py


def _migrated_airflow_db() -> None:
    from importlib.metadata import version

    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    cached = CACHE_DIR / f"airflow-{version('apache-airflow-core')}.db"
    if not cached.exists():
        env = {**os.environ, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{cached}.tmp"}
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL
        )
        Path(f"{cached}.tmp").rename(cached)
    shutil.copy(cached, _session_dir() / "airflow.db")


def _start_warehouse() -> WarehouseSession:
    base = os.environ.get("AIRFLOW_CONN_DWH")
    started = False
    if not base:
        from client_dwh.devtools import embedded_postgres

        started = embedded_postgres.running_port(TEST_PGDATA.resolve()) is None
        base = embedded_postgres.start(pgdata=TEST_PGDATA, port=None)  # any free port
    database = f"client_dwh_test_{os.getpid()}"
    uri = urlunsplit(urlsplit(base)._replace(path=f"/{database}"))
    return WarehouseSession(base, database, uri, started)


def set_up() -> WarehouseSession:
    """Migrate Airflow's DB, start (or pick) the server and point ``AIRFLOW_CONN_DWH`` at this session's
    database. Idempotent: the integration and plugin conftests both call it."""
    global _warehouse
    if _warehouse is None:
        _migrated_airflow_db()
        _warehouse = _start_warehouse()
        os.environ["AIRFLOW_CONN_DWH"] = _warehouse.database_uri
    return _warehouse


# Plan every statement in parallel where the planner may (zero costs; a Gather even over tiny tables), so a
# function wrongly declared parallel safe fails on test-sized data as it would on big tables.
PARALLEL_PLAN_SETTINGS = {
    "parallel_setup_cost": "0",
    "parallel_tuple_cost": "0",
    "min_parallel_table_scan_size": "0",
    "min_parallel_index_scan_size": "0",
    "max_parallel_workers_per_gather": "2",
}


def force_parallel_plans(admin, database: str) -> None:
    """Set the forced-parallel settings on ``database`` for every later connection (``admin``: autocommit
    connection to its server). The forcing setting is ``force_parallel_mode`` up to PostgreSQL 15,
    ``debug_parallel_query`` from 16."""
    forcing = "force_parallel_mode" if admin.info.server_version < 160000 else "debug_parallel_query"
    for setting, value in {forcing: "on", **PARALLEL_PLAN_SETTINGS}.items():
        admin.execute(f'alter database "{database}" set {setting} = {value}')


def _admin_connection(warehouse: WarehouseSession):
    import psycopg

    return psycopg.connect(warehouse.server_uri, autocommit=True)


@pytest.fixture(scope="session")
def test_database():
    """A warehouse database of this session's own, dropped at the end."""
    warehouse = set_up()
    with _admin_connection(warehouse) as conn:
        conn.execute(f'drop database if exists "{warehouse.database}"')
        conn.execute(f'create database "{warehouse.database}"')
        if os.environ.get("CLIENT_DWH_FORCE_PARALLEL", "").lower() in ("1", "true", "on"):
            force_parallel_plans(conn, warehouse.database)  # make test-parallel
    yield warehouse.database_uri
    with _admin_connection(warehouse) as conn:
        conn.execute(f'drop database if exists "{warehouse.database}" with (force)')
    if (
        warehouse.started_server
    ):  # leave no server running behind the suite (one already running is left alone)
        from client_dwh.devtools import embedded_postgres

        embedded_postgres.stop(TEST_PGDATA)


@pytest.fixture
def warehouse(test_database):
    """An empty warehouse with the project's schema; yields a psycopg connection (autocommit)."""
    import psycopg

    from client_dwh.warehouse.ddl import create_schema

    with psycopg.connect(test_database, autocommit=True) as conn:
        conn.execute("drop schema if exists staging, core, mart, mart_next, meta cascade")
        with conn.transaction():
            create_schema(conn)
        yield conn
