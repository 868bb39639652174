"""Idempotent DDL: every schema, table and view of the warehouse from ``include/sql/ddl``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from client_dwh.entities import ENTITIES
from client_dwh.warehouse.db import query, run_sql, sql_files

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)


def create_schema(conn: psycopg.Connection) -> None:
    """Create (or complete) every schema, table and view. Safe to run on every start."""
    # Serialise concurrent DDL runs (several tasks may start at once on a fresh warehouse).
    query(conn, "select pg_advisory_xact_lock(hashtext('client_dwh.ddl'))")
    for name in sql_files("ddl"):
        run_sql(conn, name, entities=list(ENTITIES.values()))
    log.info("warehouse schema is up to date (%d DDL files)", len(sql_files("ddl")))
