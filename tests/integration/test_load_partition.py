"""Landing -> staging against the real test PostgreSQL: verification, quarantine, idempotency, sensor."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest

from client_dwh import config
from client_dwh.landing import PartitionError, landing_root, list_landed_parts, write_partition
from client_dwh.operators.partition_sensor import find_pending_parts
from client_dwh.sources.synthetic.land import generate_and_land
from client_dwh.warehouse.staging import load_partition

AS_OF = dt.date(2026, 11, 20)


def _parts(landing, batch=None):
    return [p.to_xcom() for p in list_landed_parts(landing_root(landing), batch)]


def _staging_snapshot(conn):
    return {
        t: conn.execute(
            f"select natural_key, record_hash, batch_id, part_no from staging.{t} order by 1, 2"
        ).fetchall()
        for t in ("clients", "loans", "payments")
    }


def _rewrite(part_dir: Path, name: str, lines: list[str]) -> None:
    """Replace a landed file and fix its manifest, as a (buggy) source system would have written it."""
    body = ("\n".join(lines) + "\n").encode()
    (part_dir / name).write_bytes(body)
    manifest = json.loads((part_dir / "_manifest.json").read_text())
    entity = name.removesuffix(".jsonl")
    manifest["files"][entity].update(rows=len(lines), sha256=hashlib.sha256(body).hexdigest())
    (part_dir / "_manifest.json").write_text(json.dumps(manifest))


def test_loading_parts_twice_changes_nothing(warehouse, landing):
    generate_and_land(clients=60, parts=3, seed=5, batch="b", as_of=AS_OF, landing_url=landing)
    for part in _parts(landing):
        load_partition(part)
    before = _staging_snapshot(warehouse)
    again = [load_partition(part) for part in _parts(landing)]
    assert all(s["skipped"] for s in again)
    assert _staging_snapshot(warehouse) == before


def test_cumulative_and_delta_parts_stage_the_same_records(warehouse, landing):
    generate_and_land(clients=60, parts=3, seed=5, batch="cum", as_of=AS_OF, landing_url=landing)
    generate_and_land(
        clients=60, parts=3, seed=5, batch="delta", cumulative=False, as_of=AS_OF, landing_url=landing
    )
    stats = {}
    for part in _parts(landing):
        stats[(part["batch"], part["part"])] = load_partition(part)
    # The cumulative batch staged everything first; the delta batch brings no new content at all.
    assert sum(stats[("delta", p)]["staged"] for p in (1, 2, 3)) == 0
    cumulative_last = stats[("cum", 3)]
    assert cumulative_last["unchanged"] > 0
    for s in stats.values():
        assert s["read"] == s["staged"] + s["unchanged"] + s["quarantined"]


def test_bad_records_are_quarantined_with_reason_and_counts_reconcile(warehouse, landing):
    generate_and_land(clients=10, parts=1, seed=5, batch="bad", as_of=AS_OF, landing_url=landing)
    part_dir = Path(landing) / "bad" / "part-0001"
    good = (part_dir / "clients.jsonl").read_text().splitlines()[:3]
    _rewrite(
        part_dir,
        "clients.jsonl",
        [
            *good,
            '{"client_id": 99, "full_name": "Broken',  # malformed JSON
            '{"full_name": "Без Номера", "income": 50000}',  # missing key field
            '{"client_id": "abc", "full_name": "Тип Неверный", "income": 1}',  # wrong type
            "[1, 2, 3]",  # not an object
            "",  # empty line
        ],
    )
    (part,) = _parts(landing, "bad")
    stats = load_partition(part)
    clients = stats["entities"]["clients"]
    assert clients == {"read": 8, "staged": 3, "unchanged": 0, "quarantined": 5}
    reasons = warehouse.execute(
        "select line_no, reason, source_file from meta.quarantine where entity = 'clients' order by line_no"
    ).fetchall()
    assert [(line, reason) for line, reason, _ in reasons] == [
        (4, "malformed JSON"),
        (5, "missing key field client_id"),
        (6, "wrong type for client_id: expected number, got string"),
        (7, "not a JSON object"),
        (8, "empty line"),
    ]
    assert all(f.endswith("bad/part-0001/clients.jsonl") for _, _, f in reasons)
    registry = warehouse.execute(
        "select rows_read, rows_staged, rows_unchanged, rows_quarantined from meta.partitions"
    ).fetchone()
    assert registry[0] == registry[1] + registry[2] + registry[3]


@pytest.mark.parametrize("slice_bytes", [None, 300], ids=["one slice", "repeat in a later slice"])
def test_a_record_repeated_within_a_file_is_staged_once_and_counted_unchanged(
    warehouse, landing, monkeypatch, slice_bytes
):
    """Into an empty staging table the quick form inserts without looking for staged twins; a record the
    file repeats (byte for byte, or with its keys reordered and spaced: the same JSON) makes it fail, and
    the careful form stages the first occurrence and counts the others as unchanged, in the same slice or
    a later one."""
    if slice_bytes:
        monkeypatch.setattr("client_dwh.warehouse.staging.STAGE_SLICE_BYTES", slice_bytes)
    generate_and_land(clients=10, parts=1, seed=5, batch="twice", as_of=AS_OF, landing_url=landing)
    part_dir = Path(landing) / "twice" / "part-0001"
    first, second, third = (part_dir / "clients.jsonl").read_text().splitlines()[:3]
    reordered = json.dumps(dict(reversed(json.loads(first).items())), indent=None, separators=(" , ", " : "))
    _rewrite(part_dir, "clients.jsonl", [first, second, third, second, reordered])
    (part,) = _parts(landing, "twice")

    clients = load_partition(part)["entities"]["clients"]

    assert clients == {"read": 5, "staged": 3, "unchanged": 2, "quarantined": 0}
    staged = warehouse.execute("select line_no from staging.clients order by line_no").fetchall()
    assert staged == [(1,), (2,), (3,)]


@pytest.mark.parametrize("damage", ["missing_file", "checksum", "row_count"])
def test_manifest_mismatch_fails_naming_the_file_and_loads_nothing(warehouse, landing, damage):
    generate_and_land(clients=10, parts=1, seed=5, batch="dmg", as_of=AS_OF, landing_url=landing)
    part_dir = Path(landing) / "dmg" / "part-0001"
    payments = part_dir / "payments.jsonl"
    if damage == "missing_file":
        payments.unlink()
    elif damage == "checksum":
        payments.write_bytes(payments.read_bytes().replace(b"LN-", b"XX-", 1))
    else:
        payments.write_bytes(payments.read_bytes() + b'{"loan_id": "extra"}\n')
    (part,) = _parts(landing, "dmg")
    with pytest.raises(PartitionError, match=r"payments\.jsonl"):
        load_partition(part)
    # Each file loads in a transaction of its own: nothing of the refused file is staged, and the part is
    # not loaded (core will not build it) although its other files are.
    assert warehouse.execute("select count(*) from meta.partitions").fetchone()[0] == 0
    assert warehouse.execute("select count(*) from staging.payments").fetchone()[0] == 0
    assert (
        warehouse.execute("select count(*) from meta.quarantine where entity = 'payments'").fetchone()[0] == 0
    )
    loaded = {e for (e,) in warehouse.execute("select entity from meta.part_files").fetchall()}
    assert loaded == set(part["files"]) - {"payments"}


def test_a_failing_part_rolls_back_completely(warehouse, landing):
    generate_and_land(clients=10, parts=1, seed=5, batch="rb", as_of=AS_OF, landing_url=landing)
    (part,) = _parts(landing, "rb")
    part["files"]["unknown_entity"] = part["files"]["clients"]  # a file no loader knows
    with pytest.raises(ValueError, match="unknown entities"):
        load_partition(part)
    for table in ("staging.clients", "staging.loans", "meta.partitions", "meta.quarantine"):
        assert warehouse.execute(f"select count(*) from {table}").fetchone()[0] == 0


def test_partition_without_manifest_is_invisible(warehouse, landing):
    import pandas as pd

    root = landing_root(landing)
    write_partition(
        root, "vis", 1, {"clients": pd.DataFrame({"client_id": [1], "full_name": ["A"], "income": [1]})}
    )
    (Path(landing) / "vis" / "part-0002").mkdir()
    (Path(landing) / "vis" / "part-0002" / "clients.jsonl").write_text("{}\n")  # still being written
    assert [(p.batch, p.part) for p in list_landed_parts(root)] == [("vis", 1)]


def test_sensor_logic_lists_pending_parts_in_order(warehouse, landing):
    generate_and_land(clients=30, parts=3, seed=5, batch="s", as_of=AS_OF, landing_url=landing)
    pending = find_pending_parts(landing, None, 10, config.DWH_CONN_ID)
    assert [(p["batch"], p["part"]) for p in pending] == [("s", 1), ("s", 2), ("s", 3)]
    first = pending[0]
    assert set(first) >= {"batch", "part", "path", "files", "manifest_sha256", "rows"}
    assert set(first["files"]["clients"]) == {"path", "rows", "sha256"}
    assert len(find_pending_parts(landing, None, 2, config.DWH_CONN_ID)) == 2
    assert find_pending_parts(landing, "other", 10, config.DWH_CONN_ID) == []


def test_landing_identical_parts_again_leaves_them_untouched(warehouse, landing):
    first = generate_and_land(clients=20, parts=2, seed=5, batch="same", as_of=AS_OF, landing_url=landing)
    for part in _parts(landing):
        load_partition(part)
    again = generate_and_land(clients=20, parts=2, seed=5, batch="same", as_of=AS_OF, landing_url=landing)
    assert again == first  # same manifests (created_at included): nothing was rewritten
    assert all(load_partition(part)["skipped"] for part in _parts(landing))


def test_entities_loaded_at_once_stage_what_one_loader_stages(warehouse, landing):
    """The DAG's mapped loads: every entity at once, and each of them twice (two runs at once). A row
    that cumulative parts repeat stays with the part that first brought it, as in a sequential load."""
    from concurrent.futures import ThreadPoolExecutor

    from client_dwh.entities import ENTITIES
    from client_dwh.warehouse.pipeline import stage_parts
    from client_dwh.warehouse.staging import load_entity_files, seal_partitions

    generate_and_land(clients=80, parts=3, seed=6, batch="par", as_of=AS_OF, landing_url=landing)
    parts = _parts(landing, "par")
    sequential = stage_parts(parts)
    staged = _staging_snapshot(warehouse)
    tables = [f"staging.{name}" for name in ENTITIES]
    warehouse.execute(
        f"truncate {', '.join(tables)}, meta.part_files, meta.partitions, meta.quarantine cascade"
    )

    with ThreadPoolExecutor(max_workers=6) as pool:
        loads = list(pool.map(lambda entity: load_entity_files(entity, parts), [*ENTITIES, *ENTITIES]))
    assert sum(not f["skipped"] for files in loads for f in files) == sum(len(p["files"]) for p in parts)
    assert seal_partitions(parts) == sequential
    assert _staging_snapshot(warehouse) == staged
    first_part = {}  # each clients record (as content) -> the first part whose file has it
    for part in parts:
        for line in (
            (Path(landing) / "par" / f"part-{part['part']:04d}" / "clients.jsonl").read_text().splitlines()
        ):
            first_part.setdefault(json.dumps(json.loads(line), sort_keys=True), part["part"])
    attributed = {
        json.dumps(record, sort_keys=True): part_no
        for record, part_no in warehouse.execute("select record, part_no from staging.clients").fetchall()
    }
    assert attributed == first_part
    assert set(attributed.values()) == {1, 2, 3}  # later parts did bring changed and new clients


def test_a_file_changed_after_it_was_loaded_is_refused_naming_it(warehouse, landing):
    generate_and_land(clients=10, parts=1, seed=5, batch="chg", as_of=AS_OF, landing_url=landing)
    part_dir = Path(landing) / "chg" / "part-0001"
    payments = part_dir / "payments.jsonl"
    good = payments.read_bytes()
    payments.write_bytes(good.replace(b"LN-", b"XX-", 1))  # damaged in transit: refused, part not loaded
    (part,) = _parts(landing, "chg")
    with pytest.raises(PartitionError, match=r"payments\.jsonl: sha256"):
        load_partition(part)
    payments.write_bytes(good)
    # The source re-exports the part with another clients file (and a manifest to match) instead of re-sending it.
    clients = (part_dir / "clients.jsonl").read_text().splitlines()
    _rewrite(part_dir, "clients.jsonl", clients[:-1])
    (part,) = _parts(landing, "chg")
    with pytest.raises(PartitionError, match=r"chg/part-0001/clients\.jsonl: was loaded before with sha256"):
        load_partition(part)
    assert warehouse.execute("select count(*) from meta.partitions").fetchone() == (0,)
    assert warehouse.execute("select count(*) from staging.clients").fetchone()[0] == len(clients)
