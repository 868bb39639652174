"""Test session set-up: a real PostgreSQL warehouse and a real (migrated) Airflow metadata DB.

The warehouse is a fresh database on the embedded PostgreSQL (started from the pip wheel), or on the
server named by ``AIRFLOW_CONN_DWH`` when that is set; it is dropped at the end. Airflow's SQLite
metadata DB is migrated once per Airflow version into ``data/test-cache`` and copied per session.
Environment variables are set here, before anything imports Airflow.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SESSION_DIR = Path(tempfile.mkdtemp(prefix="client_dwh_tests_"))
CACHE_DIR = ROOT / "data" / "test-cache"

os.environ["AIRFLOW_HOME"] = str(SESSION_DIR / "airflow")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{SESSION_DIR}/airflow.db"
os.environ["LANDING_DIR"] = str(SESSION_DIR / "landing")
os.environ["CLIENT_DWH_DATA_DIR"] = str(SESSION_DIR)
os.environ.setdefault("PYTHONPATH", str(ROOT / "include"))
if str(ROOT / "include") not in os.environ["PYTHONPATH"].split(os.pathsep):
    os.environ["PYTHONPATH"] = f"{ROOT / 'include'}{os.pathsep}{os.environ['PYTHONPATH']}"


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
    shutil.copy(cached, SESSION_DIR / "airflow.db")


TEST_PGDATA = ROOT / "data" / "pg-test"


def _test_warehouse() -> tuple[str, str, str, bool]:
    """Return (server URI, test database name, test database URI, whether this session started the
    embedded server, and so stops it at the end)."""
    from urllib.parse import urlsplit, urlunsplit

    base = os.environ.get("AIRFLOW_CONN_DWH")
    started = False
    if not base:
        from client_dwh.devtools import embedded_postgres

        started = embedded_postgres.running_port(TEST_PGDATA.resolve()) is None
        base = embedded_postgres.start(pgdata=TEST_PGDATA, port=None)  # any free port
    parts = urlsplit(base)
    test_db = f"client_dwh_test_{os.getpid()}"
    return base, test_db, urlunsplit(parts._replace(path=f"/{test_db}")), started


_migrated_airflow_db()
_SERVER_URI, _TEST_DB, _TEST_DB_URI, _STARTED_SERVER = _test_warehouse()
os.environ["AIRFLOW_CONN_DWH"] = _TEST_DB_URI


def _admin_connection():
    import psycopg

    return psycopg.connect(_SERVER_URI, autocommit=True)


@pytest.fixture(scope="session", autouse=True)
def test_database():
    """A warehouse database of this session's own, dropped at the end."""
    with _admin_connection() as conn:
        conn.execute(f'drop database if exists "{_TEST_DB}"')
        conn.execute(f'create database "{_TEST_DB}"')
    yield _TEST_DB_URI
    with _admin_connection() as conn:
        conn.execute(f'drop database if exists "{_TEST_DB}" with (force)')
    shutil.rmtree(SESSION_DIR, ignore_errors=True)
    if _STARTED_SERVER:  # leave no server running behind the suite (one already running is left alone)
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


@pytest.fixture
def landing(tmp_path):
    """A landing zone of the test's own (a local folder, reached through ObjectStoragePath)."""
    path = tmp_path / "landing"
    path.mkdir()
    return str(path)
