"""A step that failed is redone by the next run, and a corrupt part fails at once without blocking the
good parts before it. The source system's export (clients, loans, payments, stations...) in three
cumulative parts, written by the project's emulation of that system."""

from __future__ import annotations

from pathlib import Path

import pytest
from faults import (
    assert_every_row_accounted_for,
    fingerprint,
    later,
    reset_warehouse,
    run_pipeline,
    task_states,
)

from client_dwh import config

BATCH = "export-2026-11"
# The loan book and the fuel-station data: what the marts and the portraits read (partner data would
# only add model training time to every run).
ENTITIES = ("clients", "loans", "payments", "products", "product_usage", "station_clients", "station_visits")


@pytest.fixture
def export(landing_zone):
    import datetime as dt

    from client_dwh.sources.synthetic.land import generate_and_land

    generate_and_land(
        clients=90,
        parts=3,
        seed=13,
        batch=BATCH,
        as_of=dt.date(2026, 11, 20),
        landing_url=landing_zone,
        entities=ENTITIES,
    )
    return Path(landing_zone) / BATCH


def _clean_state(conn) -> dict:
    reset_warehouse(conn)
    run = run_pipeline({"batch": BATCH}, later(50))
    assert str(run.state) == "success"
    return fingerprint(conn)


def test_a_corrupt_part_fails_at_once_and_the_parts_before_it_are_still_built(warehouse, export):
    payments = export / "part-0003" / "payments.jsonl"
    good = payments.read_bytes()
    flipped = bytearray(good)
    at = good.index(b'"amount_due":') + len(b'"amount_due":')  # one digit of an amount changed in transit
    flipped[at] = ord("9") if flipped[at] != ord("9") else ord("8")
    payments.write_bytes(bytes(flipped))

    run = run_pipeline({"batch": BATCH})
    assert str(run.state) == "failed"
    states = task_states(run)
    assert states["load_partitions"] == ("failed", 1)  # no retries a minute apart: a checksum cannot heal
    assert states["build_core"] == ("failed", 1)  # it built parts 1 and 2, then said part 3 is missing
    built = warehouse.execute(
        "select part_no, core_built_at is not null from meta.partitions order by 1"
    ).fetchall()
    assert built == [(1, True), (2, True)]
    assert warehouse.execute("select count(*) from core.clients").fetchone()[0] > 0

    # The operator re-sends the file; the next run finishes part 3 and everything after core.
    payments.write_bytes(good)
    run = run_pipeline({"batch": BATCH}, later(10))
    assert str(run.state) == "success"
    assert_every_row_accounted_for(warehouse)
    repaired = fingerprint(warehouse)
    assert _clean_state(warehouse) == repaired


def test_a_step_that_failed_is_redone_by_the_next_run(warehouse, export, tmp_path, monkeypatch):
    broken = tmp_path / "portraits.json"
    text = config.PORTRAITS_FILE.read_text(encoding="utf-8")
    broken.write_text(text[: len(text) // 2], encoding="utf-8")  # saved half-way through an edit
    monkeypatch.setattr(config, "PORTRAITS_FILE", broken)

    run = run_pipeline({"batch": BATCH})
    assert str(run.state) == "failed"
    assert task_states(run)["map_client_portraits"] == ("failed", 1)  # a broken file: no retries
    assert warehouse.execute("select count(*) from mart.client_portraits").fetchone() == (0,)

    # The file is fixed; no new part arrives. The re-run maps the clients nobody mapped.
    broken.write_text(text, encoding="utf-8")
    run = run_pipeline({"batch": BATCH}, later(10))
    assert str(run.state) == "success"
    mapped = warehouse.execute("select count(*) from mart.client_portraits").fetchone()[0]
    stations = warehouse.execute("select count(*) from core.station_clients").fetchone()[0]
    assert mapped == stations > 0
    pending = warehouse.execute("select count(*) from meta.part_steps where done_at is null").fetchone()
    assert pending == (0,)

    # And now nothing is left: the sensor has nothing to hand out.
    from client_dwh.operators.partition_sensor import scan_landing_zone

    assert scan_landing_zone(None, BATCH, 100, "dwh") == ([], [])
    repaired = fingerprint(warehouse)
    assert _clean_state(warehouse) == repaired
