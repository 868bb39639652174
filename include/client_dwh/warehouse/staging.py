"""Load landed files into staging, one (part, entity) per transaction: verify, COPY, validate, upsert.

A staged row is unique per natural key and content and keeps the part that first brought it, and core
applies each part's rows in part order; so the files of one entity are loaded in part order, serialised
per entity by an advisory lock, while different entities may load at once (the DAG maps one task per
entity). Each file streams (in chunks, never whole in memory) into a temp table with COPY while its row
count and sha256 are checked against the manifest; a mismatch raises inside the file's transaction, so
nothing of that file is staged. ``meta.part_files`` records each loaded file (loading it again changes
nothing); ``seal_partitions`` gives a part its ``meta.partitions`` row once every file of its manifest
is loaded, and only then can core build it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from client_dwh import config
from client_dwh.entities import ENTITIES
from client_dwh.landing import MANIFEST, PartitionError, part_file, verified_chunks
from client_dwh.warehouse.db import connect, is_empty, query, run_sql, truncate_for_bulk_load
from client_dwh.warehouse.pipeline import in_order, stage_parts

log = logging.getLogger(__name__)

# JSON Lines never contain raw \x01/\x02 (JSON escapes control characters), so CSV mode with these as
# delimiter and quote passes each line through untouched - no backslash or tab interpretation.
COPY_RAW_LINES = "copy raw_lines (line) from stdin with (format csv, delimiter e'\\x01', quote e'\\x02')"
COUNTS = ("read", "staged", "unchanged", "quarantined")
# Lines of a file staged at a time (bytes, cut at a line end): bounds the temp table and the parsed rows
# the staging statement holds, so a file of tens of millions of lines stages in the same memory and temp
# space as one of a few hundred thousand.
STAGE_SLICE_BYTES = 64 * 1024 * 1024


def load_partition(
    part: dict[str, Any], run_id: str | None = None, conn_id: str = config.DWH_CONN_ID
) -> dict[str, Any]:
    """Stage every file of ``part`` (XCom metadata from the sensor) and seal it; return the load's stats."""
    return stage_parts([part], run_id=run_id, conn_id=conn_id)[0]


def load_entity_files(
    entity: str, parts: Any, run_id: str | None = None, conn_id: str = config.DWH_CONN_ID
) -> list[dict[str, Any]]:
    """Stage ``entity``'s file of every part that has one, in load order, each in its own transaction.

    Stops at the first file refused (PartitionError naming it): loading a later part's file first would
    attribute the rows both parts share to the later part. Returns the stats per (part, entity) loaded."""
    results = []
    for part in in_order(parts):
        _refuse_unknown_entities(part)
        if entity in part["files"]:
            results.append(_load_file(part, entity, run_id, conn_id))
    return results


def _refuse_unknown_entities(part: dict[str, Any]) -> None:
    unknown = set(part["files"]) - set(ENTITIES)
    if unknown:
        raise PartitionError(
            f"{part['path']}/{MANIFEST}: lists files of unknown entities {sorted(unknown)}; "
            f"known: {', '.join(ENTITIES)}"
        )


def _load_file(part: dict[str, Any], entity: str, run_id: str | None, conn_id: str) -> dict[str, Any]:
    batch, part_no = part["batch"], part["part"]
    where = {"b": batch, "p": part_no, "e": entity}
    expected = part["files"][entity]["sha256"]
    result = {"batch": batch, "part": part_no, "entity": entity}
    with connect(conn_id) as conn:
        # One loader per entity at a time (any run, any worker): its parts go in order.
        query(conn, "select pg_advisory_xact_lock(hashtext('client_dwh.staging'), hashtext(%(e)s))", where)
        sealed = _sealed(conn, part)
        loaded = query(
            conn,
            """select file_sha256 from meta.part_files
               where batch_id = %(b)s and part_no = %(p)s and entity = %(e)s""",
            where,
        )
        if loaded and loaded[0][0] != expected:
            raise PartitionError(
                f"{part['path']}/{part['files'][entity]['path']}: was loaded before with sha256 {loaded[0][0]}, the "
                f"manifest now says {expected}; a landed file must not change (land it as a new part or a "
                "new batch)"
            )
        if loaded or sealed:  # a part sealed before meta.part_files existed has no rows there
            log.info("%s of part %s/%s is already loaded; nothing to do", entity, batch, part_no)
            return {**result, "skipped": True}
        # The file streams into COPY and is verified as it goes: a count or checksum mismatch raises
        # after its last chunk, inside this transaction, so nothing of the file is staged.
        path = part_file(part, entity)  # a missing file: PartitionError naming it, before any write
        stats = _stage_file(conn, ENTITIES[entity], verified_chunks(path, part["files"][entity]), part)
        query(
            conn,
            """insert into meta.part_files (batch_id, part_no, entity, file_sha256, rows_read, rows_staged,
                   rows_unchanged, rows_quarantined, loaded_by_run)
               values (%(b)s, %(p)s, %(e)s, %(sha)s, %(read)s, %(staged)s, %(unchanged)s, %(quarantined)s,
                       %(run)s)""",
            {**where, "sha": expected, "run": run_id, **stats},
        )
    log.info("loaded %s of part %s/%s: %s", entity, batch, part_no, stats)
    return {**result, "skipped": False, **stats}


def _sealed(conn, part: dict[str, Any]) -> bool:
    """Whether the part is recorded as loaded; PartitionError when it was loaded from another manifest."""
    sealed = query(
        conn,
        "select manifest_sha256 from meta.partitions where batch_id = %(b)s and part_no = %(p)s",
        {"b": part["batch"], "p": part["part"]},
    )
    if sealed and sealed[0][0] != part["manifest_sha256"]:
        raise PartitionError(
            f"{part['path']}/{MANIFEST}: part {part['batch']}/{part['part']} was loaded before from a "
            "different manifest; a landed part must not change (land it as a new part or a new batch)"
        )
    return bool(sealed)


def seal_partitions(
    parts: Any, run_id: str | None = None, conn_id: str = config.DWH_CONN_ID
) -> list[dict[str, Any]]:
    """Record as loaded (``meta.partitions``, with its totals) each part whose every file is loaded.

    A part with a file missing from ``meta.part_files`` (its load failed or has not run) is left
    unsealed, and core will not build it. Returns the stats of the sealed or already sealed parts."""
    sealed = []
    for part in in_order(parts):
        stats = _seal(part, run_id, conn_id)
        if stats is not None:
            sealed.append(stats)
    return sealed


def _seal(part: dict[str, Any], run_id: str | None, conn_id: str) -> dict[str, Any] | None:
    batch, part_no = part["batch"], part["part"]
    where = {"b": batch, "p": part_no}
    with connect(conn_id) as conn:
        query(conn, "select pg_advisory_xact_lock(hashtext(%(b)s), %(p)s)", where)
        if _sealed(conn, part):
            log.info("part %s/%s is already loaded; nothing to do", batch, part_no)
            return {"batch": batch, "part": part_no, "skipped": True, "entities": {}}
        rows = query(
            conn,
            f"""select entity, file_sha256, {", ".join(f"rows_{k}" for k in COUNTS)} from meta.part_files
                where batch_id = %(b)s and part_no = %(p)s""",
            where,
        )
        loaded = {entity: (sha, dict(zip(COUNTS, counts, strict=True))) for entity, sha, *counts in rows}
        missing = [e for e, meta in part["files"].items() if loaded.get(e, (None,))[0] != meta["sha256"]]
        if missing:
            log.warning("part %s/%s is not sealed: %s not loaded", batch, part_no, ", ".join(sorted(missing)))
            return None
        stats = {entity: loaded[entity][1] for entity in part["files"]}
        totals = {k: sum(s[k] for s in stats.values()) for k in COUNTS}
        query(
            conn,
            """insert into meta.partitions (batch_id, part_no, manifest_sha256, rows_read, rows_staged,
                   rows_unchanged, rows_quarantined, loaded_by_run)
               values (%(b)s, %(p)s, %(sha)s, %(read)s, %(staged)s, %(unchanged)s, %(quarantined)s, %(run)s)""",
            {**where, "sha": part["manifest_sha256"], "run": run_id, **totals},
        )
    log.info("loaded part %s/%s: %s", batch, part_no, totals)
    return {"batch": batch, "part": part_no, "skipped": False, "entities": stats, **totals}


def _stage_file(conn, entity, chunks: Iterable[bytes], part: dict[str, Any]) -> dict[str, int]:
    """Stage one file, a slice of whole lines at a time (``STAGE_SLICE_BYTES``): each slice is copied into
    the temp table and staged before the next, so the work tables stay small whatever the file's size.
    Line numbers run on across slices (the identity column is never reset); all in the caller's transaction."""
    source_file = f"{part['path']}/{entity.file_name}"
    totals = dict.fromkeys(("read", "quarantined", "staged"), 0)
    # Empty when its file begins (loads of an entity are serialised): only this file's own rows can then
    # repeat a staged record, and the quick form inserts without looking for one (see _stage_slice).
    fresh = is_empty(conn, entity.staging_table)
    if fresh:  # nothing waits on an empty staging table but core reading it for a part without this entity
        truncate_for_bulk_load(conn, entity.staging_table)
    with conn.cursor() as cur:
        cur.execute("create temp table raw_lines (line_no bigint generated always as identity, line text)")
    for slice_ in _line_slices(chunks, STAGE_SLICE_BYTES):
        with conn.cursor() as cur:
            with cur.copy(COPY_RAW_LINES) as copy:
                for piece in slice_:
                    copy.write(piece)
            lines = cur.rowcount
        for key, value in zip(
            totals, _stage_slice(conn, entity, part, source_file, lines, fresh), strict=True
        ):
            totals[key] += value
        query(conn, "truncate raw_lines")  # keeps the identity sequence: the next slice numbers on
    query(conn, "drop table raw_lines")
    read, quarantined, staged = totals["read"], totals["quarantined"], totals["staged"]
    stats = {
        "read": read,
        "staged": staged,
        "unchanged": read - quarantined - staged,
        "quarantined": quarantined,
    }
    if stats["unchanged"] < 0:
        raise AssertionError(f"{source_file}: counts do not reconcile: {stats}")
    return stats


def _line_slices(chunks: Iterable[bytes], limit: int) -> Iterator[Iterator[bytes]]:
    """Cut a byte stream into slices of whole lines of about ``limit`` bytes each; every slice is an
    iterator of pieces, to be consumed before the next slice is asked for. Always at least one slice
    (an empty file stages as an empty slice)."""
    chunks = iter(chunks)
    carry = b""
    exhausted = False

    def one_slice() -> Iterator[bytes]:
        nonlocal carry, exhausted
        size = len(carry)
        if carry:
            yield carry
            carry = b""
        for chunk in chunks:
            cut = chunk.rfind(b"\n") if size + len(chunk) >= limit else -1
            if cut < 0:
                size += len(chunk)
                yield chunk
                continue
            yield chunk[: cut + 1]
            carry = chunk[cut + 1 :]
            return
        exhausted = True

    while not exhausted:
        yield one_slice()
        if not exhausted and not carry:
            # The slice ended exactly at a chunk's end: peek, so a file ending there gives no empty slice.
            try:
                carry = next(chunks)
            except StopIteration:
                return


def _stage_slice(
    conn, entity, part: dict[str, Any], source_file: str, lines: int, fresh: bool
) -> tuple[int, int, int]:
    """Stage the ``lines`` lines in raw_lines: (read, quarantined, staged).

    The quick form first: when every line parses and has its required fields (the usual case) the slice
    is parsed and inserted in one pass. Else (or when a fresh table meets a record repeated within its
    file) that attempt is rolled back to its savepoint and the careful form quarantines the bad lines:
    with a plain cast when every line is valid JSON, with a safe one otherwise."""
    import psycopg

    params = {
        "entity": entity.name,
        "batch_id": part["batch"],
        "part_no": part["part"],
        "source_file": source_file,
    }
    try:
        with conn.transaction():  # a savepoint: a bad line aborts only this attempt
            cursor = run_sql(
                conn, "staging/load_entity_file.sql", params, entity=entity, careful=False, fresh=fresh
            )
        return lines, 0, cursor.rowcount
    except (psycopg.DataError, psycopg.errors.UniqueViolation) as refused:
        # 22P02: some line is not JSON at all, so the plain cast would fail again
        safe_parse = refused.sqlstate == "22P02"
    if not safe_parse:
        try:
            with conn.transaction():
                cursor = run_sql(
                    conn,
                    "staging/load_entity_file.sql",
                    params,
                    entity=entity,
                    careful=True,
                    safe_parse=False,
                )
            return cursor.fetchone()
        except psycopg.DataError:  # SQLSTATE class 22: some line is not valid JSON
            pass
    cursor = run_sql(
        conn, "staging/load_entity_file.sql", params, entity=entity, careful=True, safe_parse=True
    )
    return cursor.fetchone()
