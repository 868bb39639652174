"""Every step from staging to published marts also works when PostgreSQL runs it with parallel plans, on a
PostgreSQL 15 server (where meta.try_* are PL/pgSQL with an exception block: a subtransaction, which a
parallel operation cannot start - such a function must be declared parallel unsafe).

Tables big enough for a parallel plan take minutes to load, so parallel plans are forced instead, for
every statement, in a database of the test's own on that server (``force_parallel_mode`` on 15,
``debug_parallel_query`` on 16 and later, zero parallel costs). The same landed parts are processed on
the suite's own warehouse without forcing, and the two give the same core and marts.

The server is ``CLIENT_DWH_PG15_URI`` (default: this machine's ``postgresql://postgres@127.0.0.1:5432/postgres``;
the role needs CREATEDB); without a reachable PostgreSQL 15 there, the test is skipped saying so.
``make test-parallel`` runs the whole integration suite that way.
"""

from __future__ import annotations

import datetime as dt
import os
from urllib.parse import urlsplit, urlunsplit

import pytest
from _warehouse import force_parallel_plans

from client_dwh import config
from client_dwh.landing import landing_root, list_landed_parts
from client_dwh.sources.synthetic.land import generate_and_land
from client_dwh.warehouse.ddl import create_schema
from client_dwh.warehouse.pipeline import process_parts

PG15_URI = os.environ.get("CLIENT_DWH_PG15_URI", "postgresql://postgres@127.0.0.1:5432/postgres")
AS_OF = dt.date(2026, 3, 15)
COMPARED = (
    "select count(*), count(*) filter (where is_current) from core.clients",
    "select loan_id, client_id, status, max_dpd, overdue_amount, outstanding_amount from core.loans order by 1",
    "select loan_id, instalment_no, is_overdue, days_past_due, dpd_bucket from core.instalments order by 1, 2",
    "select entity, line_no, reason from meta.quarantine order by 1, 2",
    "select * from mart.overdue_by_month order by 1, 2",
    "select * from mart.portfolio_at_risk order by 1",
    "select * from mart.client_segments order by 1",
    "select * from mart.rfm order by 1, 2",
    "select source, count(*) from core.retail_lines group by 1 order by 1",
    "select count(*) from core.station_visits",
)


@pytest.fixture
def pg15_database():
    """A database of its own on the PostgreSQL 15 server, every statement planned in parallel; dropped after."""
    import psycopg

    try:
        admin = psycopg.connect(PG15_URI, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        pytest.skip(f"no PostgreSQL 15 reachable at {PG15_URI} (set CLIENT_DWH_PG15_URI): {error}".strip())
    with admin:
        version = admin.info.server_version
        if version // 10000 != 15:
            pytest.skip(f"{PG15_URI} is PostgreSQL {version // 10000}, not 15 (set CLIENT_DWH_PG15_URI)")
        database = f"client_dwh_pg15_{os.getpid()}"
        admin.execute(f'drop database if exists "{database}"')
        admin.execute(f'create database "{database}"')
        force_parallel_plans(admin, database)
        uri = urlunsplit(urlsplit(PG15_URI)._replace(path=f"/{database}"))
        try:
            yield uri
        finally:
            admin.execute(f'drop database if exists "{database}" with (force)')


def _snapshot(uri: str) -> list[list[tuple]]:
    import psycopg

    with psycopg.connect(uri) as conn:
        return [conn.execute(sql).fetchall() for sql in COMPARED]


def test_core_and_marts_build_with_forced_parallel_plans_on_postgresql_15(
    pg15_database, warehouse, test_database, landing, monkeypatch
):
    import psycopg

    generate_and_land(clients=150, parts=2, seed=15, batch="parallel", as_of=AS_OF, landing_url=landing)
    parts = [p.to_xcom() for p in list_landed_parts(landing_root(landing))]

    monkeypatch.setenv("AIRFLOW_CONN_DWH_PG15", pg15_database)
    with psycopg.connect(pg15_database) as conn:
        ((forced,),) = conn.execute("select current_setting('force_parallel_mode')").fetchall()
        assert forced == "on"
        create_schema(conn)
        # The labels themselves: a function with an exception block (a subtransaction) is parallel unsafe.
        mislabelled = conn.execute(
            """select p.oid::regprocedure::text from pg_proc as p
               where p.pronamespace = 'meta'::regnamespace and p.prosrc ~* '\\mexception\\M'
                 and p.proparallel <> 'u'"""
        ).fetchall()
        assert not mislabelled, f"declare these parallel unsafe: {mislabelled}"
    # The pipeline's connections ask for no parallel workers by default (DWH_PARALLEL_WORKERS): without
    # some, PostgreSQL plans nothing in parallel, forced or not.
    monkeypatch.setattr(config, "DWH_PARALLEL_WORKERS", 2)
    from client_dwh.warehouse.db import connect, query

    with connect("dwh_pg15") as conn:
        assert query(conn, "select current_setting('max_parallel_workers_per_gather')") == [("2",)]
    on_pg15 = process_parts(parts, AS_OF.isoformat(), run_id="parallel", conn_id="dwh_pg15")
    assert all(not p["skipped"] for p in on_pg15["core"])
    assert on_pg15["marts"]["published"]["overdue_by_month"] > 0

    process_parts(
        parts, AS_OF.isoformat(), run_id="reference"
    )  # the suite's own warehouse, plans as the planner likes
    assert _snapshot(pg15_database) == _snapshot(test_database)
