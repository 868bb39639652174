"""Load one landed part into staging in a single transaction: verify, COPY, validate, upsert.

A missing file fails before the transaction starts; each file then streams (in chunks, never whole in
memory) into a temp table with COPY while its row count and sha256 are checked against the manifest, and
a mismatch raises inside the transaction, so a damaged part loads nothing. Raw lines are staged with
set-based SQL; bad lines are quarantined. A ``meta.partitions`` row marks the
part as loaded, so loading it again changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from client_dwh import config
from client_dwh.entities import ENTITIES
from client_dwh.landing import MANIFEST, PartitionError, part_files, verified_chunks
from client_dwh.warehouse.db import connect, query, run_sql

log = logging.getLogger(__name__)

# JSON Lines never contain raw \x01/\x02 (JSON escapes control characters), so CSV mode with these as
# delimiter and quote passes each line through untouched - no backslash or tab interpretation.
COPY_RAW_LINES = "copy raw_lines (line) from stdin with (format csv, delimiter e'\\x01', quote e'\\x02')"


def load_partition(
    part: dict[str, Any], run_id: str | None = None, conn_id: str = config.DWH_CONN_ID
) -> dict[str, Any]:
    """Stage every file of ``part`` (XCom metadata from the sensor); return the load's stats."""
    batch, part_no = part["batch"], part["part"]
    files = part_files(part)  # a missing file: PartitionError naming it, before any write
    unknown = set(files) - set(ENTITIES)
    if unknown:
        raise PartitionError(
            f"{part['path']}/{MANIFEST}: lists files of unknown entities {sorted(unknown)}; "
            f"known: {', '.join(ENTITIES)}"
        )
    with connect(conn_id) as conn:
        query(conn, "select pg_advisory_xact_lock(hashtext(%(b)s), %(p)s)", {"b": batch, "p": part_no})
        done = query(
            conn,
            "select manifest_sha256 from meta.partitions where batch_id = %(b)s and part_no = %(p)s",
            {"b": batch, "p": part_no},
        )
        if done:
            if done[0][0] != part["manifest_sha256"]:
                raise PartitionError(
                    f"{part['path']}/{MANIFEST}: part {batch}/{part_no} was loaded before from a different "
                    "manifest; a landed part must not change (land it as a new part or a new batch)"
                )
            log.info("part %s/%s is already loaded; nothing to do", batch, part_no)
            return {"batch": batch, "part": part_no, "skipped": True, "entities": {}}
        # Each file streams into COPY and is verified as it goes: a count or checksum mismatch raises
        # after its last chunk, inside this transaction, so nothing of the part is loaded.
        stats = {
            name: _stage_file(conn, ENTITIES[name], verified_chunks(path, part["files"][name]), part)
            for name, path in files.items()
        }
        totals = {
            k: sum(s[k] for s in stats.values()) for k in ("read", "staged", "unchanged", "quarantined")
        }
        query(
            conn,
            """insert into meta.partitions (batch_id, part_no, manifest_sha256, rows_read, rows_staged,
                   rows_unchanged, rows_quarantined, loaded_by_run)
               values (%(b)s, %(p)s, %(sha)s, %(read)s, %(staged)s, %(unchanged)s, %(quarantined)s, %(run)s)""",
            {"b": batch, "p": part_no, "sha": part["manifest_sha256"], "run": run_id, **totals},
        )
    log.info("loaded part %s/%s: %s", batch, part_no, totals)
    return {"batch": batch, "part": part_no, "skipped": False, "entities": stats, **totals}


def _stage_file(conn, entity, chunks: Iterable[bytes], part: dict[str, Any]) -> dict[str, int]:
    import json

    import psycopg

    with conn.cursor() as cur:
        cur.execute("create temp table raw_lines (line_no bigint generated always as identity, line text)")
        with cur.copy(COPY_RAW_LINES) as copy:
            for chunk in chunks:
                copy.write(chunk)
    source_file = f"{part['path']}/{entity.file_name}"
    params = {
        "entity": entity.name,
        "batch_id": part["batch"],
        "part_no": part["part"],
        "source_file": source_file,
        "required": json.dumps(entity.required),
    }
    try:
        with conn.transaction():  # a savepoint: a malformed line aborts only this attempt
            cursor = run_sql(conn, "staging/load_entity_file.sql", params, entity=entity, safe_parse=False)
    except psycopg.DataError:  # SQLSTATE class 22: some line is not valid JSON
        cursor = run_sql(conn, "staging/load_entity_file.sql", params, entity=entity, safe_parse=True)
    read, quarantined, staged = cursor.fetchone()
    query(conn, "drop table raw_lines")
    stats = {
        "read": read,
        "staged": staged,
        "unchanged": read - quarantined - staged,
        "quarantined": quarantined,
    }
    if stats["unchanged"] < 0:
        raise AssertionError(f"{source_file}: counts do not reconcile: {stats}")
    return stats
