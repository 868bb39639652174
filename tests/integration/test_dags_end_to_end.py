"""The real DAGs, run with dag.test() against the test warehouse: generate_sources, then dwh_pipeline."""

from __future__ import annotations

import datetime as dt

import pytest

from client_dwh.devtools.headless import get_dag

LOGICAL_DATE = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)


def _run(dag_id: str, conf: dict, logical_date=LOGICAL_DATE) -> str:
    run = get_dag(dag_id).test(run_conf=conf, logical_date=logical_date)
    return str(run.state)


def _counts(conn) -> dict[str, int]:
    tables = ["staging.clients", "staging.loans", "staging.payments", "core.clients", "core.loans",
              "core.instalments", "mart.overdue_by_month", "mart.overdue_notifications", "meta.partitions"]  # fmt: skip
    return {t: conn.execute(f"select count(*) from {t}").fetchone()[0] for t in tables}


@pytest.mark.parametrize("cumulative", [True, False], ids=["cumulative", "delta"])
def test_generate_then_pipeline_loads_every_part_once(warehouse, cumulative):
    batch = f"e2e-{'cum' if cumulative else 'delta'}"
    state = _run(
        "generate_sources", {"clients": 120, "parts": 3, "seed": 7, "batch": batch, "cumulative": cumulative}
    )
    assert state.endswith("success")

    state = _run("dwh_pipeline", {"batch": batch, "wait_timeout_seconds": 0})
    assert state.endswith("success")
    first = _counts(warehouse)
    assert first["meta.partitions"] == 3
    assert first["core.clients"] >= 120
    # every landed client once: the 120 at the start of the month and those who joined since
    landed = warehouse.execute(
        "select count(distinct record ->> 'client_id') from staging.clients"
    ).fetchone()[0]
    assert (
        warehouse.execute("select count(*) from core.clients where is_current").fetchone()[0] == landed >= 120
    )
    assert first["mart.overdue_by_month"] > 0
    portraits = warehouse.execute("select count(*) from mart.client_portraits").fetchone()[0]
    assert portraits == warehouse.execute("select count(*) from core.station_clients").fetchone()[0] > 0
    parts = warehouse.execute(
        "select rows_read, rows_staged + rows_unchanged + rows_quarantined from meta.partitions"
    ).fetchall()
    assert all(read == accounted for read, accounted in parts)

    # A second run finds nothing new: the sensor skips, and no row changes.
    state = _run(
        "dwh_pipeline", {"batch": batch, "wait_timeout_seconds": 0}, LOGICAL_DATE + dt.timedelta(hours=1)
    )
    assert state.endswith("success")
    assert _counts(warehouse) == first
