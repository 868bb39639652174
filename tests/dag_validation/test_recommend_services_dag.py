"""recommend_services: scheduled on the marts Asset that dwh_pipeline publishes; its Params are validated."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"


def _dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    # .dags: the parsed DAG only (get_dag() would query the metadata DB)
    return DagBag(dag_folder=str(DAGS_DIR / f"{dag_id}.py")).dags[dag_id]


def test_runs_after_the_marts_refresh():
    from client_dwh.assets import PARTNER_RECOMMENDATIONS, WAREHOUSE_MARTS

    assert WAREHOUSE_MARTS in _dag("dwh_pipeline").get_task("publish_marts").outlets
    dag = _dag("recommend_services")
    assert list(dag.timetable.asset_condition.objects) == [WAREHOUSE_MARTS]
    assert PARTNER_RECOMMENDATIONS in dag.get_task("publish_recommendations").outlets
    order = ["build_interaction_matrix", "train_and_evaluate", "publish_recommendations", "run_ab_test"]
    for upstream, downstream in zip(order[:-1], order[1:], strict=True):
        assert downstream in dag.get_task(upstream).downstream_task_ids


@pytest.mark.parametrize(
    "bad",
    [{"k": 0}, {"k": 51}, {"blend": 1.5}, {"min_score": -0.1}, {"neighbours": 501}, {"variant": "random"},
     {"test_share": 0.9}, {"experiment": "../x"}],
    ids=str,
)  # fmt: skip
def test_params_reject_bad_values(bad):
    from airflow.sdk.exceptions import ParamValidationError

    params = copy.deepcopy(_dag("recommend_services").params)
    with pytest.raises(ParamValidationError):
        params.update(bad)
        params.validate()


def test_params_accept_defaults_and_a_forced_variant():
    params = copy.deepcopy(_dag("recommend_services").params)
    params.validate()
    params.update({"variant": "popularity", "k": 50, "blend": 0, "neighbours": 1})
    params.validate()


def test_variant_param_offers_exactly_the_models_variants():
    from client_dwh.recommend.model import VARIANTS as MODEL_VARIANTS
    from client_dwh.recommend.variants import VARIANTS

    schema = _dag("recommend_services").params.get_param("variant").schema
    assert schema["enum"] == [None, *VARIANTS]
    assert MODEL_VARIANTS is VARIANTS and len(set(VARIANTS)) == len(VARIANTS) == 4
