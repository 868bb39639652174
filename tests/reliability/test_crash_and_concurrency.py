"""A loading process killed with SIGKILL (no clean-up of any kind) in the middle of staging or of core,
and two runs of the whole pipeline at once: afterwards the warehouse is exactly what a clean run leaves.

The kill is made deterministic by a lock: the test holds a SHARE lock on the table where the loader
records its work (``meta.part_files`` for a staged file, ``meta.core_entities`` for an entity of a part
applied to core, ``meta.partitions`` for a part built into core), so the loader does all of its work on
the file, entity or part and then waits to record it; it is killed while
waiting, with its transaction open, and the lock is released only after the kill.
"""

from __future__ import annotations

import json
import shutil
import signal

import psycopg
import pytest
from _waiting import wait_for
from faults import (
    AS_OF,
    assert_every_row_accounted_for,
    assert_same_state,
    landed_parts,
    run_pipeline,
    spawn_python,
)

BATCH = "export-2026-11"


def _kill_while_recording(test_database: str, code: str, parts: list[dict], registry: str) -> None:
    """Run ``code`` (with ``parts`` as PARTS) in a new process, SIGKILL it once it waits to record its
    work in ``registry`` (a meta table), then let its orphaned server session end."""
    with psycopg.connect(test_database) as holder, psycopg.connect(test_database, autocommit=True) as watch:
        holder.execute(f"lock table {registry} in share mode")  # open transaction until rollback
        loader = spawn_python(
            f"import json, os\nPARTS = json.loads(os.environ['PARTS'])\n{code}", PARTS=json.dumps(parts)
        )
        try:
            (backend,) = wait_for(
                lambda: watch.execute(
                    """select pid from pg_stat_activity where datname = current_database()
                       and wait_event_type = 'Lock' and query ilike %s""",
                    (f"%{registry}%",),
                ).fetchone(),
                f"the loader to wait for {registry}",
                seconds=120,
            )
            loader.send_signal(signal.SIGKILL)
            assert loader.wait(30) == -signal.SIGKILL
        finally:
            if loader.poll() is None:
                loader.kill()
            holder.rollback()
        wait_for(
            lambda: not watch.execute("select 1 from pg_stat_activity where pid = %s", (backend,)).fetchone(),
            "the killed loader's session to end",
            seconds=120,
        )


# Where the loader is killed: while recording a staged file (meta.part_files), a core entity of part 1
# (meta.core_entities: clients, the first entity, waits there) or part 1 as built (meta.partitions: every
# entity of part 1 is applied and recorded, each in a transaction of its own, the part is not yet built).
REGISTRIES = {
    "staging": "meta.part_files",
    "core entity": "meta.core_entities",
    "core part": "meta.partitions",
}


@pytest.mark.parametrize("stage", list(REGISTRIES))
def test_a_loader_killed_mid_part_leaves_nothing_and_the_rerun_is_exact(
    warehouse, test_database, export, clean_export_state, stage
):
    parts = landed_parts(str(export.parent), BATCH)
    if stage.startswith("core"):
        from client_dwh.warehouse.pipeline import stage_parts

        stage_parts(parts)
        code = "from client_dwh.warehouse.pipeline import build_core\nbuild_core(PARTS)"
    else:  # killed while recording its first file: part 1's clients
        code = "from client_dwh.warehouse.pipeline import stage_parts\nstage_parts(PARTS)"
    _kill_while_recording(test_database, code, parts, REGISTRIES[stage])

    recorded = warehouse.execute("select count(*), count(core_built_at) from meta.partitions").fetchone()
    assert recorded == ((0, 0) if stage == "staging" else (3, 0))
    files = warehouse.execute("select count(*) from meta.part_files").fetchone()
    assert files == ((0,) if stage == "staging" else (sum(len(p["files"]) for p in parts),))
    entities = {e for (e,) in warehouse.execute("select entity from meta.core_entities where part_no = 1")}
    clients = warehouse.execute(f"select count(*) from {'staging' if stage == 'staging' else 'core'}.clients")
    if stage == "core part":  # every entity of part 1 committed; the part is not built, so nothing reads it
        from client_dwh.entities import ENTITIES
        from client_dwh.warehouse.core import HalfBuiltPart
        from client_dwh.warehouse.marts import build_marts

        assert entities == set(ENTITIES) and clients.fetchone()[0] > 0
        with pytest.raises(HalfBuiltPart, match=f"part {BATCH}/1 is half built into core"):
            build_marts(AS_OF, run_id="manual")
    else:  # nothing of the killed work is visible: not a staged row, not a core row
        assert entities == set() and clients.fetchone() == (0,)

    run = run_pipeline({"batch": BATCH})
    assert str(run.state) == "success"
    assert_every_row_accounted_for(warehouse)
    assert_same_state(warehouse, clean_export_state)


def test_two_runs_at_once_leave_what_one_run_leaves(warehouse, export, clean_export_state, tmp_path):
    from faults import ROOT

    runs = []  # each run has an Airflow metadata DB of its own; they share the warehouse and the landing zone
    for n in (1, 2):
        metadata = tmp_path / f"airflow-{n}.db"
        shutil.copy(_airflow_db_path(), metadata)
        runs.append(
            spawn_python(
                f"""
                import sys
                sys.path.insert(0, {str(ROOT / "tests" / "reliability")!r})
                from faults import later, run_pipeline
                run = run_pipeline({{"batch": {BATCH!r}, "as_of_date": {AS_OF!r}}}, later({n}), recommend=False)
                sys.exit(0 if str(run.state) == "success" else 1)
                """,
                AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{metadata}",
            )
        )
    try:
        assert [r.wait(600) for r in runs] == [0, 0]
    finally:  # a hung run (a deadlock between the two) must not keep its locks for the tests after this one
        for r in runs:
            if r.poll() is None:
                r.kill()
    assert warehouse.execute(
        "select count(*) from meta.partitions where core_built_at is not null"
    ).fetchone() == (3,)
    assert_every_row_accounted_for(warehouse)
    assert_same_state(warehouse, clean_export_state)


def _airflow_db_path() -> str:
    import os

    return os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///")
