"""Parts of a population generated in several chunks load through the warehouse without one row put in
quarantine by core: the chunks' ids and references fit together as one source system's would."""

from __future__ import annotations

import datetime as dt

import pytest
from test_core_and_loan_marts import run_pipeline_steps  # same folder (pytest puts it on sys.path)

from client_dwh.sources.synthetic import source_system
from client_dwh.sources.synthetic.land import generate_and_land

AS_OF = dt.date(2026, 3, 15)


@pytest.mark.parametrize("cumulative", [True, False], ids=["cumulative", "delta"])
def test_chunked_parts_load_with_nothing_quarantined_in_core(warehouse, landing, monkeypatch, cumulative):
    monkeypatch.setattr(source_system, "GENERATE_CHUNK_CLIENTS", 200)
    generate_and_land(
        clients=500, parts=3, seed=17, batch="chunked", cumulative=cumulative, as_of=AS_OF, landing_url=landing
    )
    run_pipeline_steps(landing, AS_OF.isoformat())
    quarantined = warehouse.execute(
        "select entity, reason, count(*) from meta.quarantine where layer = 'core' group by 1, 2"
    ).fetchall()
    assert quarantined == []
    clients, loans = warehouse.execute(
        "select (select count(distinct client_id) from core.clients), (select count(*) from core.loans)"
    ).fetchone()
    assert clients > 500  # the month's new clients of all three chunks, none lost to a clash
    assert loans > 0
