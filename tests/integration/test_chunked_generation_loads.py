"""Parts of a population generated in several chunks load through the warehouse without one row put in
quarantine by core: the chunks' ids and references fit together as one source system's would."""

from __future__ import annotations

import datetime as dt

from test_core_and_loan_marts import run_pipeline_steps  # same folder (pytest puts it on sys.path)

from client_dwh.sources.synthetic import source_system
from client_dwh.sources.synthetic.land import generate_and_land

AS_OF = dt.date(2026, 3, 15)


def test_chunked_parts_load_with_nothing_quarantined_in_core(warehouse, landing, monkeypatch):
    monkeypatch.setattr(source_system, "GENERATE_CHUNK_CLIENTS", 150)
    manifests = generate_and_land(
        clients=400, parts=3, seed=17, batch="chunked", as_of=AS_OF, landing_url=landing
    )
    run_pipeline_steps(landing, AS_OF.isoformat())
    quarantined = warehouse.execute(
        "select entity, reason, count(*) from meta.quarantine where layer = 'core' group by 1, 2"
    ).fetchall()
    assert quarantined == []
    in_core = warehouse.execute(
        "select (select count(distinct client_id) from core.clients), (select count(distinct loan_id) from core.loans)"
    ).fetchone()
    landed = manifests[-1]["files"]  # the last cumulative part holds every client and loan
    assert in_core == (landed["clients"]["rows"], landed["loans"]["rows"])
    assert landed["clients"]["rows"] > 400  # the month's new clients of all three chunks too
