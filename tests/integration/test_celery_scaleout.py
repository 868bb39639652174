"""dwh_pipeline on CeleryExecutor: two workers in separate folders (their own copy of the code and Airflow
home), Redis broker, PostgreSQL metadata, the landing zone on an S3-protocol endpoint (moto's server).

The worker loading payments (one of ``load_partitions``' mapped tasks, one per entity) and then the one
running ``build_core`` are killed with kill -9 mid-task; the scheduler's task heartbeat check fails the
try and the retry runs on another worker. Every try ran on this stack's workers, from its own queue. The
marts then equal those of a LocalExecutor ``dag.test()`` run of the same parts in another database.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time

import pytest
from _waiting import wait_for

for module in ("celery", "airflow.providers.celery", "airflow.providers.amazon", "s3fs", "moto"):
    pytest.importorskip(
        module, reason=f"{module} missing: the scale extra is not installed (make install-scale)"
    )

from client_dwh import config  # noqa: E402
from client_dwh.devtools import scaleout  # noqa: E402
from client_dwh.entities import ENTITIES  # noqa: E402

HEARTBEAT_TIMEOUT = 20  # seconds without a task heartbeat before the scheduler fails the try
AS_OF = "2026-11-20"
BATCH = "celery"
CONF = {"batch": BATCH, "wait_timeout_seconds": 0, "max_parts": 100, "as_of_date": AS_OF}
# Marts the pipeline builds (the recommender's are another DAG's), compared without their timestamps.
PIPELINE_MARTS = (
    "overdue_by_month", "portfolio_at_risk", "overdue_notifications", "client_segments",
    "segment_top_products", "rfm", "rfm_segments", "client_portraits", "portrait_distribution",
)  # fmt: skip


@pytest.fixture(scope="module")
def stack(test_database, tmp_path_factory):
    if not scaleout.redis_reachable("redis://127.0.0.1:6379/0") and not shutil.which("redis-server"):
        pytest.skip("no Redis at 127.0.0.1:6379 and no redis-server to start (apt-get install redis-server)")
    tag = os.getpid()
    warehouse = scaleout.create_database(test_database, f"client_dwh_celery_{tag}", drop=True)
    metadata = scaleout.create_database(test_database, f"airflow_scale_test_{tag}", drop=True)
    deployment = scaleout.Stack(
        root=tmp_path_factory.mktemp("scaleout"),
        warehouse_uri=warehouse,
        metadata_uri=metadata,
        heartbeat_timeout=HEARTBEAT_TIMEOUT,
        worker_concurrency=1,  # one task per worker: parallel tasks spread over both
    )
    try:
        deployment.start()
        yield deployment
    finally:
        deployment.stop()
        for database in (f"client_dwh_celery_{tag}", f"airflow_scale_test_{tag}"):
            scaleout.drop_database(test_database, database)


@pytest.fixture
def landed_on_s3(stack, monkeypatch):
    """Three cumulative parts on the stack's object store; this process reaches them like the workers."""
    from client_dwh.sources.synthetic.land import generate_and_land

    monkeypatch.setenv(f"AIRFLOW_CONN_{scaleout.S3_CONN_ID.upper()}", stack.s3_connection())
    monkeypatch.setattr(config, "LANDING_CONN_ID", scaleout.S3_CONN_ID)
    monkeypatch.setattr(config, "LANDING_URL", stack.landing_url)
    # Airflow caches one filesystem per connection id; this endpoint dies with the stack
    monkeypatch.setattr("airflow.sdk.io.store._STORE_CACHE", {})
    return generate_and_land(clients=1500, parts=3, seed=11, batch=BATCH, as_of=dt.date.fromisoformat(AS_OF))


def fingerprints(uri: str) -> dict[str, tuple[int, str]]:
    """Rows and an md5 of every pipeline mart's sorted rows (timestamps left out), plus core counts."""
    import psycopg

    result = {}
    with psycopg.connect(uri) as conn:
        for table in PIPELINE_MARTS:
            columns = [
                name
                for name, kind in conn.execute(
                    """select column_name, data_type from information_schema.columns
                       where table_schema = 'mart' and table_name = %s order by ordinal_position""",
                    (table,),
                ).fetchall()
                if not kind.startswith("timestamp")
            ]
            row = ", ".join(f'"{c}"' for c in columns)
            result[f"mart.{table}"] = conn.execute(
                f"select count(*), md5(coalesce(string_agg(r, e'\\n' order by r), '')) "
                f"from (select ({row})::text as r from mart.{table}) rows"
            ).fetchone()
        for table in ("core.clients", "core.loans", "core.instalments", "meta.quarantine"):
            result[table] = conn.execute(f"select count(*) from {table}").fetchone()
        result["meta.partitions"] = conn.execute(
            """select count(*), sum(rows_read), sum(rows_staged), sum(rows_quarantined) from meta.partitions
               where core_built_at is not null"""
        ).fetchone()
    return result


def kill_worker_running(stack, run_id: str, task: tuple[str, int], timeout: float = 600) -> str:
    """Wait until ``task`` (task_id, map_index) runs, then kill -9 the worker (its whole process group)
    running it."""

    def worker_running_it() -> str | None:
        for tid, map_index, state, _tries, pid in stack.task_instances("dwh_pipeline", run_id):
            if (tid, map_index) != task:
                continue
            if state == "running" and pid and (worker := stack.worker_of(pid)):
                return worker
            if state in ("success", "failed"):
                pytest.fail(f"{task} finished ({state}) before a worker could be killed under it")
        return None

    worker = wait_for(worker_running_it, f"{task} to start running", timeout, every=0.2)
    stack.kill(worker)
    return worker


def test_celery_workers_survive_kill_9_and_build_the_marts_dag_test_builds(stack, landed_on_s3, warehouse):
    from client_dwh.devtools.headless import get_dag

    stack.wait_for_dags(["dwh_pipeline"])
    run_id = "celery_kill_test"
    stack.trigger("dwh_pipeline", run_id, CONF)

    load_payments = ("load_partitions", list(ENTITIES).index("payments"))  # the largest file
    killed = {load_payments: kill_worker_running(stack, run_id, load_payments)}
    stack.start_worker(3)  # a replacement host joins, so two workers remain for the next kill
    killed[("build_core", -1)] = kill_worker_running(stack, run_id, ("build_core", -1))
    started = time.monotonic()
    state = stack.wait_for_run("dwh_pipeline", run_id, timeout=900)
    tries = {(t, m): (s, n) for t, m, s, n, _p in stack.task_instances("dwh_pipeline", run_id)}

    assert state == "success", tries
    assert all(tries[task] == ("success", 2) for task in killed), tries
    ran_on = stack.attempts_by_worker("dwh_pipeline", run_id)
    for (task_id, map_index), dead in killed.items():
        assert ran_on[(task_id, map_index, 1)] == dead, ran_on
        assert ran_on[(task_id, map_index, 2)] != dead, ran_on
    # every try was run by this stack's workers from its own queue (none taken by another stack's worker)
    assert stack.tasks_ran_elsewhere("dwh_pipeline", run_id) == []
    print(f"\nkilled {killed}; the run finished {time.monotonic() - started:.0f} s after the second kill")

    # LocalExecutor-style reference: dag.test() in this process, same parts, its own database.
    reference = get_dag("dwh_pipeline").test(
        run_conf=CONF, logical_date=dt.datetime(2026, 11, 20, 6, tzinfo=dt.UTC)
    )
    assert str(reference.state).endswith("success")
    celery_marts, reference_marts = (
        fingerprints(stack.warehouse_uri),
        fingerprints(os.environ["AIRFLOW_CONN_DWH"]),
    )
    assert celery_marts["meta.partitions"][0] == 3 and celery_marts["mart.overdue_by_month"][0] > 0
    assert celery_marts == reference_marts
