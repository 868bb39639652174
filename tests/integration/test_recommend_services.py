"""The recommender's warehouse functions and the partner/CRM imports against the real test warehouse."""

from __future__ import annotations

import datetime as dt

import pytest

from client_dwh.landing import landing_root, list_landed_parts
from client_dwh.recommend import warehouse as reco
from client_dwh.recommend.variants import VARIANTS
from client_dwh.sources.synthetic.land import generate_and_land
from client_dwh.warehouse.core import build_core_for_part
from client_dwh.warehouse.staging import load_partition

AS_OF = dt.date(2026, 11, 20)
PARAMS = reco.ModelParams(k=10, seed=0)


def _land_and_build(landing: str, batch: str, **generate) -> None:
    if generate:
        generate_and_land(batch=batch, landing_url=landing, as_of=AS_OF, **generate)
    for part in list_landed_parts(landing_root(landing), batch):
        load_partition(part.to_xcom())
        build_core_for_part(part.to_xcom())


def _recommendations(conn) -> list[tuple]:
    return conn.execute(
        "select client_id, rank, service_id, score, variant, model_run_id from mart.recommendations order by 1, 2"
    ).fetchall()


def test_evaluate_publish_and_ab_test_on_a_synthetic_batch(warehouse, landing):
    _land_and_build(landing, "reco", clients=400, parts=2, seed=3)
    snapshot = reco.build_interaction_matrix("run-1")
    # the 400 clients at the start of the month and those who joined since (the book grows daily)
    (clients,) = warehouse.execute("select count(*) from core.clients where is_current").fetchone()
    assert snapshot["services"] == 51 and snapshot["pairs"] > 1000 and snapshot["clients"] == clients >= 400

    evaluation = reco.train_and_evaluate("run-1", PARAMS)
    metrics = {
        row[0]: row[1:]
        for row in warehouse.execute(
            """select variant, precision_at_k, recall_at_k, map_at_k, ndcg_at_k, coverage, users_evaluated, k,
                      params ->> 'blend', blend, neighbours, validation_ndcg_at_k, is_served, selection_reason
               from mart.recommender_metrics where model_run_id = 'run-1'"""
        )
    }
    assert set(metrics) == set(VARIANTS)
    assert all(m[5] > 100 and m[6] == 10 and m[7] is None for m in metrics.values())  # blend: tuned
    hybrid, popularity = metrics["hybrid"], metrics["popularity"]
    assert hybrid[0] > popularity[0], "hybrid should beat popularity on precision@10"
    assert hybrid[3] > popularity[3], "hybrid should beat popularity on NDCG@10"
    # The blend and neighbours were tuned on validation, and the served variant is on the test split at
    # least as good as the best single component.
    assert 0 <= hybrid[8] <= 1 and hybrid[9] in (10, 25, 50, 100, 200)
    assert (metrics["collaborative"][8], metrics["content"][8], popularity[8]) == (1.0, 0.0, None)
    served = [variant for variant, m in metrics.items() if m[11]]
    assert served == [evaluation["best_variant"]]
    best_component = max(metrics[v][3] for v in ("collaborative", "content", "popularity"))
    assert metrics[served[0]][3] >= best_component - 1e-9, metrics
    assert all(m[10] is not None for m in metrics.values())
    assert len({m[12] for m in metrics.values()}) == 1 and "validation clients" in hybrid[12]

    published = reco.publish_recommendations("run-1", PARAMS)
    assert published["variant"] == evaluation["best_variant"] and published["clients"] == clients
    already_used = warehouse.execute(
        """select count(*) from mart.recommendations r join core.service_interactions i
             on i.client_id = r.client_id and i.service_id = r.service_id"""
    ).fetchone()[0]
    assert already_used == 0
    first = _recommendations(warehouse)
    assert len(first) == published["rows"] and max(r[1] for r in first) == 10

    # Re-publishing the same run leaves exactly the same rows; forcing a variant replaces them all.
    reco.publish_recommendations("run-1", PARAMS)
    assert _recommendations(warehouse) == first
    reco.publish_recommendations("run-1", PARAMS, variant="popularity")
    assert {r[4] for r in _recommendations(warehouse)} == {"popularity"}
    reco.publish_recommendations("run-1", PARAMS)

    ab = reco.run_ab_test("run-1", PARAMS)
    reco.run_ab_test("run-1", PARAMS)  # idempotent
    arms = warehouse.execute(
        "select variant, model_variant, clients, responses from mart.ab_test_results order by variant"
    ).fetchall()
    assert [a[:2] for a in arms] == [("A", "popularity"), ("B", published["variant"])]
    assert arms[0][2] + arms[1][2] == ab["n_a"] + ab["n_b"] > 100
    refreshed = {r[0] for r in warehouse.execute("select mart from meta.mart_refresh")}
    assert {"mart.recommendations", "mart.recommender_metrics", "mart.ab_test_results"} <= refreshed


def test_no_training_data_is_reported_not_crashed(warehouse):
    with pytest.raises(reco.NoTrainingData, match="partner services"):
        reco.build_interaction_matrix("empty")


def test_crm_import_quarantines_rejected_rows_and_counts_reconcile(warehouse, landing, tmp_path):
    from fixtures.crm_export import generate_crm_csv

    from client_dwh.sources.partner_import import import_crm_export

    csv = tmp_path / "crm_export.csv"
    csv.write_text(generate_crm_csv(n_clients=300, seed=5), encoding="utf-8")
    manifest = import_crm_export(csv, landing_url=landing)
    assert import_crm_export(csv, landing_url=landing) == manifest  # same file: part left untouched
    stats = manifest["crm_cleaning"]
    assert stats["quarantined"] > 0 and stats["merged_away"] > 0
    assert stats["rows_in"] == stats["clean"] + stats["merged_away"] + stats["quarantined"]

    _land_and_build(landing, manifest["batch"])
    clean, merged = warehouse.execute("select count(*), sum(merged_rows) from core.crm_clients").fetchone()
    reasons = dict(
        warehouse.execute(
            """select reason, count(*) from meta.quarantine where entity = 'crm_clients' group by 1"""
        ).fetchall()
    )
    assert clean == stats["clean"]
    assert merged == stats["clean"] + stats["merged_away"]
    assert sum(reasons.values()) == stats["quarantined"]
    assert reasons == {f"rejected by CRM cleaning: {r}": n for r, n in stats["quarantine_reasons"].items()}


def test_import_partners_cli_lands_the_catalogue_text(warehouse, landing, tmp_path, capsys):
    import json

    from client_dwh.__main__ import main

    catalogue = tmp_path / "partners.txt"
    catalogue.write_text(
        "# партнёры на ноябрь\n"
        "Автомойка «Блеск» [car_wash]\n"
        "Экспресс-мойка - быстро и недорого\n"
        "Химчистка салона\n"
        "химчистка  салона - дубль\n\n"
        "Кофейня «Утро» [coffee]\n"
        "- без названия\n"
        "Капучино с собой – кофе в дорогу\n\n"
        "Пустой партнёр\n",
        encoding="utf-8",
    )
    assert main(["import-partners", str(catalogue), "--out", landing]) == 0
    printed = json.loads(capsys.readouterr().out)
    # 3 services, and 3 problem lines landed for quarantine: duplicate merged, nameless, no services.
    assert printed["batch"] == "partners-partners" and printed["rows"] == {"partner_services": 6}
    assert printed["catalogue"] == {"services": 3, "problem_lines": 3}

    _land_and_build(landing, printed["batch"])
    services = warehouse.execute(
        "select partner_name, partner_category, service_name, description from core.partner_services order by 3"
    ).fetchall()
    assert services == [
        ("Кофейня «Утро»", "coffee", "Капучино с собой", "кофе в дорогу"),
        ("Автомойка «Блеск»", "car_wash", "Химчистка салона", "дубль"),
        ("Автомойка «Блеск»", "car_wash", "Экспресс-мойка", "быстро и недорого"),
    ]
    reasons = warehouse.execute(
        "select reason from meta.quarantine where batch_id = 'partners-partners' order by reason"
    ).fetchall()
    prefix = "rejected by the catalogue parser: line"
    assert reasons == [
        (f"{prefix} 11 of partners.txt: organisation 'Пустой партнёр' has no services",),
        (f"{prefix} 5 of partners.txt: duplicate service 'химчистка салона' of 'Автомойка «Блеск»' merged",),
        (f"{prefix} 8 of partners.txt: service line without a service name",),
    ]


def test_recommend_services_dag_runs_after_dwh_pipeline(warehouse):
    from client_dwh.devtools.headless import get_dag

    generate_and_land(clients=200, parts=1, seed=11, batch="e2e-reco", as_of=AS_OF)
    logical_date = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    run = get_dag("dwh_pipeline").test(
        run_conf={"batch": "e2e-reco", "wait_timeout_seconds": 0}, logical_date=logical_date
    )
    assert str(run.state).endswith("success")
    run = get_dag("recommend_services").test(run_conf={"k": 5}, logical_date=logical_date)
    assert str(run.state).endswith("success")
    assert {t.task_id: str(t.state) for t in run.get_task_instances()} == {
        task_id: "success"
        for task_id in (
            "ensure_warehouse_schema",
            "build_interaction_matrix",
            "train_and_evaluate",
            "publish_recommendations",
            "run_ab_test",
        )
    }
    model_run_id, variants, k = warehouse.execute(
        "select min(model_run_id), count(*), max(k) from mart.recommender_metrics"
    ).fetchone()
    assert (variants, k) == (4, 5) and model_run_id == run.run_id
    assert warehouse.execute("select max(rank) from mart.recommendations").fetchone()[0] == 5


def test_import_partner_data_dag_quarantines_catalogue_problems_with_their_lines(warehouse, tmp_path):
    from airflow.utils.state import DagRunState

    from client_dwh.devtools.headless import get_dag

    catalogue = tmp_path / "november.txt"
    catalogue.write_text(
        "Шиномонтаж «Колесо» [tyres]\n"  # line 1
        "Сезонная замена шин - с балансировкой\n"
        "- без названия\n"  # line 3: no service name
        "\n"
        "Партнёр без услуг\n",  # line 5: an organisation without services
        encoding="cp1251",  # as Russian Windows saves it
    )
    logical_date = dt.datetime(2026, 11, 21, tzinfo=dt.UTC)
    run = get_dag("import_partner_data").test(
        run_conf={"path": str(catalogue), "kind": "catalogue"}, logical_date=logical_date
    )
    assert run.state == DagRunState.SUCCESS
    run = get_dag("dwh_pipeline").test(
        run_conf={"batch": "partners-november", "wait_timeout_seconds": 0}, logical_date=logical_date
    )
    assert run.state == DagRunState.SUCCESS
    assert warehouse.execute(
        "select service_name from core.partner_services where partner_name = 'Шиномонтаж «Колесо»'"
    ).fetchall() == [("Сезонная замена шин",)]
    quarantined = warehouse.execute(
        """select reason from meta.quarantine where batch_id = 'partners-november' order by reason"""
    ).fetchall()
    assert quarantined == [
        ("rejected by the catalogue parser: line 3 of november.txt: service line without a service name",),
        (
            "rejected by the catalogue parser: line 5 of november.txt: organisation 'Партнёр без услуг' has no services",
        ),
    ]
    read, staged, quarantined_in_staging = warehouse.execute(
        """select rows_read, rows_staged, rows_quarantined from meta.partitions
           where batch_id = 'partners-november'"""
    ).fetchone()
    assert read == staged + quarantined_in_staging == 3


def test_import_partner_data_dag_lands_a_crm_export_and_refuses_a_missing_file(warehouse, tmp_path):
    from airflow.utils.state import DagRunState

    from client_dwh.devtools.headless import get_dag

    export = tmp_path / "crm_week.csv"
    export.write_text(
        "crm_id;full_name;phone;email;updated_at\n"
        "1;Иванов Иван;+7 900 123-45-67;;2026-11-01\n"
        "2;;;;2026-11-02\n",  # no name, no contact: rejected by the cleaning
        encoding="utf-8",
    )
    logical_date = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
    dag = get_dag("import_partner_data")
    run = dag.test(run_conf={"path": str(export), "kind": "crm"}, logical_date=logical_date)
    assert run.state == DagRunState.SUCCESS
    run = get_dag("dwh_pipeline").test(
        run_conf={"batch": "crm-crm_week", "wait_timeout_seconds": 0}, logical_date=logical_date
    )
    assert run.state == DagRunState.SUCCESS
    assert warehouse.execute(
        "select count(*) from core.crm_clients where batch_id = 'crm-crm_week'"
    ).fetchone() == (1,)
    assert warehouse.execute(
        "select count(*) from meta.quarantine where batch_id = 'crm-crm_week'"
    ).fetchone() == (1,)
    missing = dag.test(
        run_conf={"path": str(tmp_path / "nope.txt"), "kind": "catalogue"},
        logical_date=logical_date + dt.timedelta(days=1),
    )
    assert missing.state == DagRunState.FAILED
