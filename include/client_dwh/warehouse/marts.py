"""Build every mart into the ``mart_next`` schema, then publish it into ``mart`` in one transaction.

Readers of ``mart`` never see a half-built or unchecked mart: if the build or the quality gate between
the two steps fails, ``mart`` keeps the previous run's tables.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from client_dwh import config
from client_dwh.warehouse.db import connect, query, run_sql
from client_dwh.warehouse.progress import claim_parts, finish_claimed_parts

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

NEXT_SCHEMA = "mart_next"

# mart table -> SQL file that fills it (reads core, writes {{ target }}.<table>).
MARTS: dict[str, str] = {
    "overdue_by_month": "mart/overdue_by_month.sql",
    "portfolio_at_risk": "mart/portfolio_at_risk.sql",
    "overdue_notifications": "mart/overdue_notifications.sql",
    "roll_rates": "mart/roll_rates.sql",
    "vintage_curves": "mart/vintage_curves.sql",
    # segment_top_products first: client_segments takes its suggestions from that ranking.
    "segment_top_products": "mart/segment_top_products.sql",
    "client_segments": "mart/client_segments.sql",
    "rfm": "mart/rfm.sql",
    "rfm_segments": "mart/rfm_segments.sql",  # summarises rfm
    "rfm_settings": "mart/rfm_settings.sql",  # how rfm was computed (duplicate lines), for the dashboard
}


def build_marts(
    as_of: str,
    conn_id: str = config.DWH_CONN_ID,
    marts: dict[str, str] | None = None,
    rfm_as_of: str | None = None,
    run_id: str | None = None,
    rfm_exclude_duplicate_lines: bool = False,
) -> dict[str, Any]:
    """``rfm_as_of`` (yyyy-mm-dd) overrides the RFM as-of date, by default each source's last day + 1;
    ``rfm_exclude_duplicate_lines`` leaves exact-duplicate export lines out of RFM (default: they count,
    as the RFM specification says).

    Claims the core-built parts for ``run_id`` (meta.part_steps); ``publish_marts`` of the same run
    marks them done."""
    marts = marts or MARTS
    params = {
        "as_of": as_of,
        "rfm_as_of": rfm_as_of or None,
        "rfm_exclude_duplicate_lines": bool(rfm_exclude_duplicate_lines),
    }
    with connect(conn_id) as conn:
        query(conn, "select pg_advisory_xact_lock(hashtext('client_dwh.marts'))")
        claim_parts(conn, "marts", run_id)  # before reading core: never claims more than the marts saw
        query(conn, f"drop schema if exists {NEXT_SCHEMA} cascade")
        query(conn, f"create schema {NEXT_SCHEMA}")
        rows, seconds = {}, {}
        for table, sql_file in marts.items():
            started = time.perf_counter()
            query(conn, f"create table {NEXT_SCHEMA}.{table} (like mart.{table} including all)")
            run_sql(conn, sql_file, params, target=NEXT_SCHEMA)
            ((rows[table],),) = query(conn, f"select count(*) from {NEXT_SCHEMA}.{table}")
            seconds[table] = round(time.perf_counter() - started, 2)
    log.info("built marts as of %s into %s: rows %s, seconds %s", as_of, NEXT_SCHEMA, rows, seconds)
    return {"as_of": str(as_of), "rows": rows, "seconds": seconds}


def publish_marts(
    run_id: str | None,
    last_part: dict | None,
    conn_id: str = config.DWH_CONN_ID,
    marts: dict[str, str] | None = None,
) -> dict[str, Any]:
    marts = marts or MARTS
    rows = {}
    with connect(conn_id) as conn:
        query(conn, "select pg_advisory_xact_lock(hashtext('client_dwh.marts'))")
        for table in marts:
            query(conn, f"truncate mart.{table}")
            query(conn, f"insert into mart.{table} select * from {NEXT_SCHEMA}.{table}")
            ((rows[table],),) = query(conn, f"select count(*) from mart.{table}")
            record_mart_refresh(conn, f"mart.{table}", run_id, last_part, rows[table])
        finish_claimed_parts(conn, "marts", run_id)
    log.info("published marts: %s", rows)
    return {"rows": rows}


def record_mart_refresh(
    conn: psycopg.Connection,
    mart: str,
    run_id: str | None,
    last_part: dict | None = None,
    rows: int | None = None,
) -> None:
    """Note in ``meta.mart_refresh`` that ``mart`` (schema-qualified) was just published, by which run and
    from which part; the dashboards show it. ``rows`` defaults to the mart's current row count."""
    if rows is None:
        ((rows,),) = query(conn, f"select count(*) from {mart}")
    query(
        conn,
        """insert into meta.mart_refresh (mart, refreshed_at, dag_run_id, last_batch_id, last_part_no, row_count)
           values (%(mart)s, now(), %(run)s, %(batch)s, %(part)s, %(rows)s)
           on conflict (mart) do update set refreshed_at = excluded.refreshed_at,
               dag_run_id = excluded.dag_run_id, last_batch_id = excluded.last_batch_id,
               last_part_no = excluded.last_part_no, row_count = excluded.row_count""",
        {
            "mart": mart,
            "run": run_id,
            "batch": (last_part or {}).get("batch"),
            "part": (last_part or {}).get("part"),
            "rows": rows,
        },
    )
