"""Parts of a batch are applied in order, whatever order their manifests appear in.

A source system exports cumulative parts: every part repeats each client as of its export. Client 3
moves and earns more between the exports, so the part applied last decides what is current.
"""

from __future__ import annotations

import os

import pytest
from faults import (
    assert_every_row_accounted_for,
    fingerprint,
    land_part_by_hand,
    landed_parts,
    later,
    reset_warehouse,
    run_pipeline,
    task_states,
)

BATCH = "crm-2026-11"


def _client(client_id: int, income: int, phone: str, region: str = "Москва") -> dict:
    names = {1: "Иванов Сергей Петрович", 2: "Смирнова Анна Викторовна", 3: "Кузнецов Илья Андреевич",
             4: "Попова Ольга Игоревна", 5: "Соколов Дмитрий Олегович"}  # fmt: skip
    last, first, middle = names[client_id].split()
    return {
        "client_id": client_id,
        "full_name": names[client_id],
        "last_name": last,
        "first_name": first,
        "middle_name": middle,
        "gender": "F" if last.endswith("а") else "M",  # Cyrillic а
        "birth_date": f"198{client_id}-0{client_id}-1{client_id}",
        "region": region,
        "education": "высшее",
        "employment": "работает",
        "income": income,
        "phone": phone,
        "registered_at": "2021-03-01",
    }


# What the source system said about client 3 at each export; the others never change.
CLIENT_3 = {
    1: (61000, "+7 916 100-00-03", "Москва"),
    2: (74000, "+7 916 200-00-03", "Тверь"),
    3: (92000, "+7 903 300-00-03", "Тверь"),
}


def _export(part_no: int) -> dict[str, list[dict]]:
    others = [_client(i, 50000 + 1000 * i, f"+7 925 000-00-0{i}") for i in (1, 2, 4, 5)]
    return {"clients": [*others[:2], _client(3, *CLIENT_3[part_no]), *others[2:]]}


@pytest.fixture
def three_exports(landing_zone):
    for part_no in (1, 2, 3):
        land_part_by_hand(landing_zone, BATCH, part_no, _export(part_no))
    return landing_zone


def _current_client_3(conn) -> tuple:
    return conn.execute(
        "select income::int, phone, region, part_no from core.clients where client_id = 3 and is_current"
    ).fetchone()


def _clean_run(conn) -> dict:
    reset_warehouse(conn)
    run = run_pipeline({"batch": BATCH}, later(50))
    assert str(run.state) == "success"
    return fingerprint(conn)


def test_a_part_waits_for_the_missing_part_before_it_then_all_apply_in_order(warehouse, three_exports):
    manifest = f"{three_exports}/{BATCH}/part-0002/_manifest.json"
    held_back = open(manifest, "rb").read()
    os.remove(manifest)  # part 2 is still being written (or its manifest went missing)

    # Part 1 is applied; part 3 waits for part 2, although its manifest is there.
    run = run_pipeline({"batch": BATCH})
    assert str(run.state) == "success"
    loaded = warehouse.execute("select part_no from meta.partitions order by 1").fetchall()
    assert loaded == [(1,)]
    assert _current_client_3(warehouse) == (61000, "+7 916 100-00-03", "Москва", 1)

    # Nothing else can go: the sensor fails at its timeout naming the missing part (a gap is no quiet day).
    from client_dwh.operators.partition_sensor import scan_landing_zone

    pending, waiting = scan_landing_zone(None, BATCH, 100, "dwh")
    assert pending == []
    assert len(waiting) == 1
    assert f"{BATCH}/part-0002 has no _manifest.json yet" in waiting[0]
    assert "part-0003 and later parts" in waiting[0]
    run = run_pipeline({"batch": BATCH, "skip_when_nothing_arrives": True}, later(10))
    assert str(run.state) == "failed"
    assert task_states(run)["wait_for_partitions"][0] == "failed"

    # Part 2's manifest arrives: parts 2 and 3 are applied in order, and the newest record is current.
    open(manifest, "wb").write(held_back)
    run = run_pipeline({"batch": BATCH}, later(20))
    assert str(run.state) == "success"
    assert _current_client_3(warehouse) == (92000, "+7 903 300-00-03", "Тверь", 3)
    history = warehouse.execute(
        "select income::int, is_current from core.clients where client_id = 3 order by valid_from, part_no"
    ).fetchall()
    assert history == [(61000, False), (74000, False), (92000, True)]
    assert_every_row_accounted_for(warehouse)

    # Exactly what a run that saw all three parts at once leaves behind.
    late = fingerprint(warehouse)
    assert _clean_run(warehouse) == late


def test_a_part_missing_from_the_numbering_holds_back_the_parts_after_it(warehouse, landing_zone):
    from client_dwh.operators.partition_sensor import scan_landing_zone

    land_part_by_hand(landing_zone, BATCH, 1, _export(1))
    land_part_by_hand(landing_zone, BATCH, 3, _export(3))  # part 2 not even started
    pending, waiting = scan_landing_zone(None, BATCH, 100, "dwh")
    assert [p["part"] for p in pending] == [1]
    assert len(waiting) == 1 and f"{BATCH}/part-0002 has not landed" in waiting[0]

    land_part_by_hand(landing_zone, BATCH, 2, _export(2))
    pending, waiting = scan_landing_zone(None, BATCH, 100, "dwh")
    assert ([p["part"] for p in pending], waiting) == ([1, 2, 3], [])


def test_a_part_arriving_after_a_later_part_was_built_is_refused_not_applied(warehouse, three_exports):
    """Should a later part ever be built first (e.g. by an older version of the pipeline), the late part
    is refused at once, naming it, instead of silently making its older records current."""
    from client_dwh.landing import PartitionError
    from client_dwh.warehouse.core import build_core_for_part
    from client_dwh.warehouse.staging import load_partition

    parts = landed_parts(three_exports, BATCH)
    for part in (parts[0], parts[2]):
        load_partition(part)
        build_core_for_part(part)
    before = fingerprint(warehouse)
    load_partition(parts[1])
    with pytest.raises(PartitionError, match="part 2 of batch crm-2026-11 arrived after part 3 was built"):
        build_core_for_part(parts[1])
    assert _current_client_3(warehouse) == (92000, "+7 903 300-00-03", "Тверь", 3)

    run = run_pipeline({"batch": BATCH})
    assert str(run.state) == "failed"
    state, tries = task_states(run)["build_core"]
    assert (state, tries) == ("failed", 1)  # not retried: retrying cannot make it right
    assert _current_client_3(warehouse) == (92000, "+7 903 300-00-03", "Тверь", 3)
    core_now = {t: v for t, v in fingerprint(warehouse).items() if t.startswith("core.")}
    assert core_now == {t: v for t, v in before.items() if t.startswith("core.")}
