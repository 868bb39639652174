"""Talking to the warehouse: the ``dwh`` connection and SQL files from ``include/sql``.

SQL files are Jinja templates for *structure only* (table names from the entity registry); every value
goes in as a bind parameter.
"""

from __future__ import annotations

import functools
import logging
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from client_dwh import config

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)


@functools.cache
def _jinja():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(config.SQL_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render(template: str, **structure: Any) -> str:
    return _jinja().get_template(template).render(**structure)


def sql_files(folder: str) -> list[str]:
    return sorted(f"{folder}/{p.name}" for p in (config.SQL_DIR / folder).glob("*.sql"))


@contextmanager
def connect(conn_id: str = config.DWH_CONN_ID):
    """A psycopg 3 connection from the Airflow connection; commits on success, rolls back on error."""
    conn = _open(conn_id)
    try:
        yield conn
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()


@contextmanager
def connect_many(count: int, conn_id: str = config.DWH_CONN_ID):
    """``count`` idle connections like ``connect``'s, opened here (the Airflow connection is looked up in
    the calling thread) for threads to use one each; each user commits or rolls back its own work. Closed
    on exit, rolling back whatever is left uncommitted."""
    conns = []
    try:
        for _ in range(count):
            conns.append(_open(conn_id))
        yield conns
    finally:
        for conn in conns:
            conn.close()  # psycopg rolls back an open transaction on close


def _open(conn_id: str) -> psycopg.Connection:
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    conn = PostgresHook(postgres_conn_id=conn_id).get_conn()
    try:
        with conn.cursor() as cur:
            # Bulk statements sort, hash and stage in temp tables: give them memory (session-level only),
            # and as many parallel workers as config.DWH_PARALLEL_WORKERS says.
            cur.execute(
                """select set_config('work_mem', %s, false), set_config('temp_buffers', %s, false),
                          set_config('maintenance_work_mem', %s, false),
                          set_config('max_parallel_workers_per_gather', %s, false)""",
                (
                    config.DWH_WORK_MEM,
                    config.DWH_TEMP_BUFFERS,
                    config.DWH_MAINTENANCE_WORK_MEM,
                    str(config.DWH_PARALLEL_WORKERS),
                ),
            )
        conn.commit()  # leave the connection idle, so callers can still set read_only etc.
    except BaseException:
        conn.close()
        raise
    return conn


def run_sql(conn: psycopg.Connection, template: str, params: dict | None = None, **structure: Any):
    """Run a (multi-statement) SQL file; values are bound client-side by psycopg, never formatted in."""
    import psycopg

    cursor = psycopg.ClientCursor(conn)
    cursor.execute(render(template, **structure), params or None)
    return cursor


def query(conn: psycopg.Connection, sql: str, params: dict | None = None) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, params or None)
        return cur.fetchall() if cur.description else []


def is_empty(conn: psycopg.Connection, table: str) -> bool:
    """Whether ``table`` holds no row (a first load into it)."""
    ((empty,),) = query(conn, f"select not exists (select from {table})")
    return empty


def truncate_for_bulk_load(conn: psycopg.Connection, table: str) -> None:
    """Empty an already empty ``table`` again in the caller's transaction: on a server with
    wal_level=minimal (the embedded warehouse) the rows and index builds that follow in this transaction
    then go to disk without WAL, which two loads at once otherwise contend on (payments of 100,000
    clients: 26 s -> 19 s). The table stays locked until the transaction ends."""
    query(conn, f"truncate {table}")


def connection_uri(conn_id: str = config.DWH_CONN_ID) -> str:
    """SQLAlchemy-style URI of the warehouse connection (for pandas and benchmarks)."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    return PostgresHook(postgres_conn_id=conn_id).get_uri()
