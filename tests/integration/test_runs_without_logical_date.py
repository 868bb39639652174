"""Runs without a logical date — what `airflow dags trigger X`, the REST API with `"logical_date": null`,
the UI form with the date cleared, a TriggerDagRunOperator and every Asset-triggered run create.

Such runs have no `ds`, `ts` or `logical_date` in their context; every DAG must still succeed and take
its as-of date from the Param, else from the run's `run_after`.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from airflow.utils.state import DagRunState

from client_dwh.devtools.headless import get_dag
from client_dwh.portraits.catalogue import load_portraits
from client_dwh.sources.synthetic.station_population import generate_station_clients


def _test_without_logical_date(dag_id: str, conf: dict):
    run = get_dag(dag_id).test(run_conf=conf, logical_date=None)
    assert run.logical_date is None
    return run


def test_generate_then_pipeline_then_recommendations_without_logical_date(warehouse):
    generated = _test_without_logical_date("generate_sources", {"clients": 60, "parts": 2, "seed": 3})
    assert generated.state == DagRunState.SUCCESS
    # With no logical date and no Batch param the batch is named after the day the run was made for.
    batch = f"{generated.run_after:%Y%m%d}"

    run = _test_without_logical_date("dwh_pipeline", {"batch": batch, "wait_timeout_seconds": 0})
    assert run.state == DagRunState.SUCCESS
    # Overdue flags and the notification list are as of the day the run was made for.
    as_of_dates = warehouse.execute("select distinct as_of_date from core.loans").fetchall()
    assert as_of_dates == [(run.run_after.astimezone(dt.UTC).date(),)]
    assert warehouse.execute(
        "select count(*) from meta.partitions where batch_id = %s", [batch]
    ).fetchone() == (2,)
    assert warehouse.execute("select count(*) from mart.overdue_by_month").fetchone()[0] > 0

    # recommend_services runs on the marts Asset: Asset-triggered runs never have a logical date.
    recommended = _test_without_logical_date("recommend_services", {})
    assert recommended.state == DagRunState.SUCCESS
    assert warehouse.execute("select count(*) from mart.recommendations").fetchone()[0] > 0


def test_the_as_of_date_param_wins_over_the_run_date(warehouse):
    generated = _test_without_logical_date(
        "generate_sources", {"clients": 40, "parts": 1, "seed": 4, "batch": "no-logical-date-param"}
    )
    assert generated.state == DagRunState.SUCCESS
    run = _test_without_logical_date(
        "dwh_pipeline",
        {"batch": "no-logical-date-param", "wait_timeout_seconds": 0, "as_of_date": "2026-06-30"},
    )
    assert run.state == DagRunState.SUCCESS
    assert warehouse.execute("select distinct as_of_date from core.loans").fetchall() == [
        (dt.date(2026, 6, 30),)
    ]
    assert warehouse.execute("select distinct as_of_date from mart.overdue_notifications").fetchall() in (
        [],
        [(dt.date(2026, 6, 30),)],
    )


def test_map_uploaded_clients_without_logical_date(tmp_path):
    source = tmp_path / "clients.csv"
    features, _ = generate_station_clients(30, 5, load_portraits())
    features.to_csv(source, sep=";", index=False)
    run = _test_without_logical_date("map_uploaded_clients", {"input_path": str(source)})
    assert run.state == DagRunState.SUCCESS
    mapped = pd.read_csv(tmp_path / "clients.portraits.csv", sep=";", dtype=str, keep_default_na=False)
    assert len(mapped) == 30
