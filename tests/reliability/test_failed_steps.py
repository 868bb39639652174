"""A step that failed is redone by the next run, and a corrupt part fails at once without blocking the
good parts before it. The source system's export (clients, loans, payments, stations...) in three
cumulative parts, written by the project's emulation of that system."""

from __future__ import annotations

import pytest
from faults import (
    assert_every_row_accounted_for,
    assert_same_state,
    full_disk,
    landed_parts,
    later,
    run_pipeline,
    task_states,
)

from client_dwh import config

BATCH = "export-2026-11"


def test_a_corrupt_part_fails_at_once_and_the_parts_before_it_are_still_built(
    warehouse, export, clean_export_state
):
    payments = export / "part-0003" / "payments.jsonl"
    good = payments.read_bytes()
    flipped = bytearray(good)
    at = good.index(b'"amount_due":') + len(b'"amount_due":')  # one digit of an amount changed in transit
    flipped[at] = ord("9") if flipped[at] != ord("9") else ord("8")
    payments.write_bytes(bytes(flipped))

    run = run_pipeline({"batch": BATCH})
    assert str(run.state) == "failed"
    states = task_states(run)
    assert states["load_partitions[payments]"] == (
        "failed",
        1,
    )  # no retries a minute apart: a checksum cannot heal
    loads = {task: state for task, state in states.items() if task.startswith("load_partitions[")}
    assert {task: state for task, state in loads.items() if state[0] != "success"} == {
        "load_partitions[payments]": ("failed", 1)
    }  # the other entities load every part
    assert states["seal_partitions"][0] == "success"  # parts 1 and 2 are loaded whole
    assert states["build_core"] == ("failed", 1)  # it built parts 1 and 2, then said part 3 is missing
    built = warehouse.execute(
        "select part_no, core_built_at is not null from meta.partitions order by 1"
    ).fetchall()
    assert built == [(1, True), (2, True)]
    refused = warehouse.execute(
        """select (select count(*) from meta.part_files where part_no = 3 and entity = 'payments'),
                  (select count(*) from staging.payments where part_no = 3)"""
    ).fetchone()
    assert refused == (0, 0)  # nothing of the corrupt file is staged
    assert warehouse.execute("select count(*) from core.clients").fetchone()[0] > 0

    # The operator re-sends the file; the next run finishes part 3 and everything after core.
    payments.write_bytes(good)
    run = run_pipeline({"batch": BATCH}, later(10))
    assert str(run.state) == "success"
    assert_every_row_accounted_for(warehouse)
    assert_same_state(warehouse, clean_export_state)


def test_a_step_that_failed_is_redone_by_the_next_run(
    warehouse, export, clean_export_state, tmp_path, monkeypatch
):
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
    assert_same_state(warehouse, clean_export_state)


def test_a_core_build_stopped_between_entities_is_finished_by_the_next_run(
    warehouse, export, clean_export_state
):
    import psycopg
    import pytest

    from client_dwh.warehouse.core import HalfBuiltPart, build_core_for_part
    from client_dwh.warehouse.marts import build_marts
    from client_dwh.warehouse.pipeline import stage_parts

    parts = landed_parts(str(export.parent), BATCH)
    stage_parts(parts)
    # Station visits cannot be written (as on a full disk); the part's entities applied meanwhile commit.
    with full_disk(warehouse, "core.station_visits"):
        with pytest.raises(psycopg.errors.RaiseException, match="No space left on device"):
            build_core_for_part(parts[0])
        built = {e for (e,) in warehouse.execute("select entity from meta.core_entities where part_no = 1")}
        assert "station_visits" not in built
        assert {"clients", "loans", "payments", "station_clients"} <= built
        assert warehouse.execute(
            "select core_built_at from meta.partitions where part_no = 1"
        ).fetchone() == (None,)
        assert warehouse.execute("select count(*) from core.instalments").fetchone()[0] > 0

        # Nothing is computed from a half-built part: a marts build (from any DAG) refuses, naming it.
        with pytest.raises(
            HalfBuiltPart, match=rf"^part {BATCH}/1 is half built into core .*station_visits.* not\)"
        ):
            build_marts("2026-11-20", run_id="manual")

    # The disk is freed; the next run applies the missing entity, then the parts after it.
    run = run_pipeline({"batch": BATCH}, later(10))
    assert str(run.state) == "success"
    assert_every_row_accounted_for(warehouse)
    assert_same_state(warehouse, clean_export_state)


@pytest.mark.parametrize(
    ("refusing_table", "loans_per_range"),
    [("meta.loan_month_flows", None), ("core.loan_month_states", None), ("meta.loan_month_flows", 7)],
    ids=[
        "work-table-on-the-second-connection",
        "last-write-of-the-step",
        "second-connection-in-a-later-range",
    ],
)
def test_a_flag_step_that_fails_leaves_core_as_it_was(
    warehouse, export, clean_export_state, monkeypatch, refusing_table, loans_per_range
):
    """The overdue-flag step writes core in one transaction while a second connection fills its work
    table; a failure on either side (here a full disk) leaves every flag and loan state as it was. With
    ranges of loans (``loans_per_range``) the second connection commits its first range and fails in the
    second, while the main one waits for it: the main transaction still rolls back whole."""
    import psycopg

    from client_dwh.warehouse import core
    from client_dwh.warehouse.core import flag_overdue_instalments

    run = run_pipeline({"batch": BATCH})
    assert str(run.state) == "success"
    assert_same_state(warehouse, clean_export_state)

    if loans_per_range:
        monkeypatch.setattr(core, "LOANS_PER_RANGE", loans_per_range)
    # A later as-of date would change flags, days past due and loan states if anything were kept.
    with full_disk(warehouse, refusing_table, once_written=bool(loans_per_range)):
        with pytest.raises(psycopg.errors.RaiseException, match="No space left on device"):
            flag_overdue_instalments("2027-03-01")
        if loans_per_range:  # the first range's month flows were committed, and only those
            loans = "select count(distinct loan_id) from meta.loan_month_flows"
            assert 0 < warehouse.execute(loans).fetchone()[0] <= loans_per_range
        assert_same_state(warehouse, clean_export_state)

    flags = "select loan_id, instalment_no, is_overdue, overdue_reason, days_past_due from core.instalments"
    flags_before = set(warehouse.execute(flags).fetchall())
    result = flag_overdue_instalments("2027-03-01")
    assert result["loan_ranges"] > 1 if loans_per_range else result["loan_ranges"] == 1
    changed = warehouse.execute("select count(*) from core.loans where as_of_date = '2027-03-01'").fetchone()
    assert changed[0] > 0  # the same call goes through once the disk is freed
    assert set(warehouse.execute(flags).fetchall()) != flags_before  # and rewrites the flags that changed
