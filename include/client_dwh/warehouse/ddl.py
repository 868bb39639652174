"""Idempotent DDL: every schema, table and view of the warehouse from ``include/sql/ddl``."""

from __future__ import annotations

import functools
import logging
import re
from typing import TYPE_CHECKING

from client_dwh import config
from client_dwh.entities import ENTITIES
from client_dwh.warehouse.db import connect, query, render, run_sql, sql_files

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


def ensure_schema(conn_id: str = config.DWH_CONN_ID) -> None:
    """Create or complete the warehouse's schemas and tables on the warehouse connection (idempotent)."""
    with connect(conn_id) as conn:
        create_schema(conn)


_CREATE_TABLE = re.compile(r"create table if not exists (\w+)\.(\w+) \((.*?)\n\);", re.S | re.I)
_ADD_COLUMNS = re.compile(r"alter table (?:if exists )?(\w+)\.(\w+)\s+(add column .*?);", re.S | re.I)
_ADDED_COLUMN = re.compile(r"add column (?:if not exists )?(\w+)", re.I)
_CONSTRAINTS = {"primary", "unique", "foreign", "constraint", "check", "exclude"}


@functools.cache
def table_columns(schema: str) -> dict[str, tuple[str, ...]]:
    """Columns of every table of ``schema`` in the order the DDL creates them (``create table`` then any
    ``alter table ... add column``), read from ``include/sql/ddl`` without a database, so code that must
    know a mart's columns before connecting (the dashboards' registry) takes them from the one definition.
    A test compares the result with ``information_schema`` of a real warehouse."""
    tables: dict[str, list[str]] = {}
    for name in sql_files("ddl"):
        text = re.sub(r"--[^\n]*", "", render(name, entities=list(ENTITIES.values())))
        for table_schema, table, body in _CREATE_TABLE.findall(text):
            if table_schema == schema:
                lines = (line.strip() for line in body.splitlines())
                tables[table] = [
                    w.split()[0] for w in lines if w and w.split()[0].lower() not in _CONSTRAINTS
                ]
        for table_schema, table, clauses in _ADD_COLUMNS.findall(text):
            if table_schema == schema:
                tables[table] += [c for c in _ADDED_COLUMN.findall(clauses) if c not in tables[table]]
    return {table: tuple(columns) for table, columns in tables.items()}
