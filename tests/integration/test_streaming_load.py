"""Staging streams each landed file into COPY in bounded chunks, verifying it on the way (issue 15: a
million clients' part must not be held in memory whole)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from client_dwh import landing as landing_module
from client_dwh.landing import PartitionError, landing_root, list_landed_parts
from client_dwh.sources.synthetic.land import generate_and_land
from client_dwh.warehouse.staging import load_partition

AS_OF = dt.date(2026, 11, 20)


def _staged(conn) -> dict[str, list[tuple]]:
    return {
        table: conn.execute(
            f"select natural_key, record_hash, line_no from staging.{table} order by 1, 2"
        ).fetchall()
        for table in ("clients", "loans", "payments")
    }


def test_tiny_chunks_split_lines_and_load_exactly_what_whole_files_load(warehouse, landing, monkeypatch):
    generate_and_land(clients=60, parts=1, seed=8, batch="chunks", as_of=AS_OF, landing_url=landing)
    (part,) = [p.to_xcom() for p in list_landed_parts(landing_root(landing), "chunks")]
    whole = load_partition(part)
    staged_whole = _staged(warehouse)
    staging_tables = [
        f"staging.{name}"
        for (name,) in warehouse.execute(
            "select tablename from pg_tables where schemaname = 'staging'"
        ).fetchall()
    ]
    warehouse.execute(
        f"truncate {', '.join(staging_tables)}, meta.part_files, meta.partitions, meta.quarantine cascade"
    )

    reads = []
    original = landing_module.verified_chunks

    def recording(path, meta):
        for chunk in original(path, meta):
            reads.append(len(chunk))
            yield chunk

    monkeypatch.setattr(landing_module, "READ_CHUNK", 97)  # smaller than a line: every line is split
    monkeypatch.setattr("client_dwh.warehouse.staging.verified_chunks", recording)
    chunked = load_partition(part)

    assert max(reads) == 97 and len(reads) > 100
    assert {k: chunked[k] for k in ("read", "staged", "quarantined")} == {
        k: whole[k] for k in ("read", "staged", "quarantined")
    }
    assert _staged(warehouse) == staged_whole


def test_a_damaged_last_chunk_rolls_back_what_earlier_chunks_copied(warehouse, landing, monkeypatch):
    generate_and_land(clients=30, parts=1, seed=9, batch="late", as_of=AS_OF, landing_url=landing)
    payments = Path(landing) / "late" / "part-0001" / "payments.jsonl"
    body = payments.read_bytes()
    payments.write_bytes(body[:-1] + b" \n")  # same rows, valid JSON, only the last bytes differ
    (part,) = [p.to_xcom() for p in list_landed_parts(landing_root(landing), "late")]
    monkeypatch.setattr(landing_module, "READ_CHUNK", 4096)

    with pytest.raises(PartitionError, match=r"payments\.jsonl: sha256 .* land the part again"):
        load_partition(part)
    # the file's transaction rolled back; the part's other files, each in its own, stand (unsealed)
    assert warehouse.execute("select count(*) from staging.payments").fetchone()[0] == 0
    assert (
        warehouse.execute("select count(*) from meta.part_files where entity = 'payments'").fetchone()[0] == 0
    )
    assert warehouse.execute("select count(*) from meta.partitions").fetchone()[0] == 0
    assert warehouse.execute("select count(*) from staging.loans").fetchone()[0] > 0


def _rewrite(path: Path, body: bytes, part: dict) -> None:
    """Replace a landed file and its entry in the part's metadata (as if it had landed so)."""
    import hashlib

    path.write_bytes(body)
    entry = next(meta for meta in part["files"].values() if meta["path"] == path.name)
    entry.update(rows=body.count(b"\n"), sha256=hashlib.sha256(body).hexdigest())


def test_files_staged_in_small_slices_load_exactly_what_one_slice_loads(warehouse, landing, monkeypatch):
    """A file is staged a slice of whole lines at a time (bounded temp space for a file of any size): many
    tiny slices give the same rows, hashes and line numbers as one, and a bad line in a late slice is
    quarantined under its own line number."""
    generate_and_land(clients=60, parts=1, seed=9, batch="slices", as_of=AS_OF, landing_url=landing)
    (part,) = [p.to_xcom() for p in list_landed_parts(landing_root(landing), "slices")]
    payments = Path(landing) / "slices" / "part-0001" / part["files"]["payments"]["path"]
    lines = payments.read_bytes().splitlines(keepends=True)
    bad_line_no = len(lines) - 3
    lines[bad_line_no - 1] = b'{"loan_id": "LN-broken"\n'  # malformed JSON, near the end
    _rewrite(payments, b"".join(lines), part)

    whole = load_partition(part)
    staged_whole = _staged(warehouse)
    quarantined_whole = warehouse.execute(
        "select entity, line_no, reason from meta.quarantine order by 1, 2"
    ).fetchall()
    staging_tables = [
        f"staging.{name}"
        for (name,) in warehouse.execute(
            "select tablename from pg_tables where schemaname = 'staging'"
        ).fetchall()
    ]
    warehouse.execute(
        f"truncate {', '.join(staging_tables)}, meta.part_files, meta.partitions, meta.quarantine cascade"
    )
    monkeypatch.setattr("client_dwh.warehouse.staging.STAGE_SLICE_BYTES", 700)  # a few lines a slice
    monkeypatch.setattr(landing_module, "READ_CHUNK", 113)
    sliced = load_partition(part)

    assert {k: sliced[k] for k in ("read", "staged", "quarantined")} == {
        k: whole[k] for k in ("read", "staged", "quarantined")
    }
    assert whole["quarantined"] == 1 and whole["read"] > 0
    assert _staged(warehouse) == staged_whole
    assert (
        warehouse.execute("select entity, line_no, reason from meta.quarantine order by 1, 2").fetchall()
        == quarantined_whole
        == [("payments", bad_line_no, "malformed JSON")]
    )
