"""Run the pipeline without a scheduler: ``dag.test()`` each DAG over the landed parts, then a summary.

Used by ``make pipeline`` (generate first), ``make process`` (what has landed, e.g. an imported export)
and the end-to-end tests; exits non-zero when any run failed.
"""

from __future__ import annotations

import datetime as dt
import logging

from client_dwh import config

log = logging.getLogger(__name__)


def get_dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(config.PROJECT_ROOT / "dags"))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    return bag.get_dag(dag_id)


def run_dag(dag_id: str, conf: dict | None = None, logical_date: dt.datetime | None = None) -> str:
    """``dag.test()`` one DAG; return the run's final state ('success' or 'failed')."""
    dag = get_dag(dag_id)
    # An explicit None would make a run without a logical date ("ds" undefined); unset means "now".
    run = dag.test(run_conf=conf or {}, **({"logical_date": logical_date} if logical_date else {}))
    return str(run.state)


def summary(conn_id: str = config.DWH_CONN_ID) -> dict:
    from client_dwh.recommend.warehouse import latest_metrics
    from client_dwh.warehouse.db import connect, query

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
        segments = {
            "loan book at the as-of date (PAR30 %, PAR90 %, notifications, active loans, written off, "
            "overdue share % min and max of the last 12 months)": query(
                conn,
                """select p.par30_pct, p.par90_pct,
                          (select count(*) from mart.overdue_notifications),
                          (select count(*) from core.loans where status in ('current', 'overdue', 'default')),
                          (select count(*) from core.loans where status = 'written_off'),
                          (select round(min(s), 1) || ' - ' || round(max(s), 1) from (
                               select 100.0 * sum(contracts_overdue) / sum(contracts_due) as s
                               from mart.overdue_by_month where month > p.month - interval '12 months'
                               group by month) as m)
                   from mart.portfolio_at_risk as p order by p.month desc limit 1""",
            ),
            "client segments (segment, clients, avg products, top suggestion)": query(
                conn,
                """select client_segment, count(*), round(avg(usage_count), 2), mode() within group
                          (order by suggested_product)
                   from mart.client_segments group by 1 order by 1""",
            ),
            "RFM segments (source, segment, customers, share %, avg recency, frequency, monetary)": query(
                conn,
                """select source, segment, customers, share_pct, avg_recency, avg_frequency, avg_monetary
                   from mart.rfm_segments order by source, customers desc""",
            ),
            "retail lines by RFM exclusion (source, reason, lines)": query(
                conn,
                """select source, coalesce(rfm_exclusion_reason, '(counts for RFM)'), count(*)
                   from core.retail_lines group by 1, 2 order by 1, 3 desc""",
            ),
            "recommender metrics of the latest run (variant, k, P@k, R@k, MAP@k, NDCG@k, coverage, clients)": (
                latest_metrics(conn)
            ),
            "A/B test of the latest run (arm, model variant, clients, responses, conversion %, uplift pp, p)": query(
                conn,
                """select variant, model_variant, clients, responses, round(conversion_pct::numeric, 2),
                          round(uplift_pct_points::numeric, 2), round(p_value::numeric, 4)
                   from mart.ab_test_results
                   where model_run_id = (select model_run_id from mart.recommender_metrics
                                         order by trained_at desc limit 1)
                   order by variant""",
            ),
        }
    return {"rows": counts, "rejects": rejects, "segments": segments}


def _last_marts_refresh(conn_id: str = config.DWH_CONN_ID):
    from client_dwh.warehouse.db import connect, query
    from client_dwh.warehouse.ddl import create_schema

    with connect(conn_id) as conn:
        create_schema(conn)
        return query(conn, "select max(refreshed_at) from meta.mart_refresh where mart like 'mart.overdue%'")[
            0
        ][0]


def run_pipeline(*, clients: int, parts: int, seed: int, batch: str, cumulative: bool = True) -> int:
    """Generate a batch, then process it (``make pipeline``)."""
    from client_dwh.sources.synthetic.land import generate_and_land

    generate_and_land(clients=clients, parts=parts, seed=seed, batch=batch, cumulative=cumulative)
    return process_landed(batch=batch)


def process_landed(*, batch: str | None = None, as_of: str | None = None) -> int:
    """Process what has landed and is not processed yet (every batch, or only ``batch``): dwh_pipeline with
    ``dag.test()``, then recommend_services when marts were published, as the Asset schedule does; print
    the summary. Returns the exit code: 0 when every run succeeded."""
    states = {}
    refreshed_before = _last_marts_refresh()
    conf = {"batch": batch, "max_parts": 10000, "wait_timeout_seconds": 0, "as_of_date": as_of}
    states["dwh_pipeline"] = run_dag("dwh_pipeline", conf)
    # recommend_services is scheduled on the marts Asset; dag.test() has no scheduler, so run it here -
    # but only when marts were published, as the scheduler would (a run with nothing new changes nothing).
    if _last_marts_refresh() != refreshed_before:
        states["recommend_services"] = run_dag("recommend_services")
    else:
        print(
            f"\nNo new parts{f' of batch {batch}' if batch else ''} under the landing zone: marts unchanged, "
            "so recommend_services was not triggered."
        )
    print_summary(summary())
    print("\nDAG runs:", states)
    return 0 if all(s.endswith("success") for s in states.values()) else 1


def print_summary(result: dict) -> None:
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
    for title, rows in result["segments"].items():
        print(f"\n{title[0].upper()}{title[1:]}:")
        for row in rows:
            print("  ", *row)
