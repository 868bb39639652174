"""Run the whole pipeline without a scheduler: generate, then ``dag.test()`` each DAG, then a summary.

Used by ``make pipeline`` and the end-to-end tests; exits non-zero when any task failed.
"""

from __future__ import annotations

import datetime as dt
import logging

log = logging.getLogger(__name__)

PIPELINE_DAGS = ("dwh_pipeline",)


def get_dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    from client_dwh import config

    bag = DagBag(dag_folder=str(config.PROJECT_ROOT / "dags"))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    return bag.get_dag(dag_id)


def run_dag(dag_id: str, conf: dict | None = None, logical_date: dt.datetime | None = None) -> str:
    """``dag.test()`` one DAG; return the run's final state ('success' or 'failed')."""
    dag = get_dag(dag_id)
    run = dag.test(run_conf=conf or {}, logical_date=logical_date)
    return str(run.state)


def summary(conn_id: str = "dwh") -> dict:
    from client_dwh.warehouse import connect, query

    with connect(conn_id) as conn:
        tables = query(
            conn,
            """select table_schema || '.' || table_name from information_schema.tables
               where table_schema in ('staging', 'core', 'mart', 'meta') and table_type = 'BASE TABLE'
               order by table_schema, table_name""",
        )
        counts = {}
        for (name,) in tables:
            ((counts[name],),) = query(conn, f"select count(*) from {name}")
        rejects = query(
            conn,
            "select layer, entity, reason, count(*) from meta.quarantine group by 1, 2, 3 order by 4 desc limit 20",
        )
    return {"rows": counts, "rejects": rejects}


def run_pipeline(*, clients: int, parts: int, seed: int, batch: str, cumulative: bool = True) -> int:
    from client_dwh.generate.land import generate_and_land

    generate_and_land(clients=clients, parts=parts, seed=seed, batch=batch, cumulative=cumulative)
    states = {}
    states["dwh_pipeline"] = run_dag(
        "dwh_pipeline", {"batch": batch, "max_parts": 10000, "wait_timeout_seconds": 0}
    )
    result = summary()
    print("\nRows per table:")
    for name, count in result["rows"].items():
        print(f"  {name:40s} {count:>12,d}")
    print(
        "\nQuarantined records (layer, entity, reason, count):"
        if result["rejects"]
        else "\nNo quarantined records."
    )
    for row in result["rejects"]:
        print("  ", *row)
    print("\nDAG runs:", states)
    return 0 if all(s.endswith("success") for s in states.values()) else 1
