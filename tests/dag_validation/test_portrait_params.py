"""The portrait Params reject values the mapping cannot use, before a run starts."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"


def _dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    # .dags: the parsed DAG only (get_dag() would query the metadata DB)
    return DagBag(dag_folder=str(DAGS_DIR / f"{dag_id}.py")).dags[dag_id]


def _validate(dag, values: dict) -> None:
    params = copy.deepcopy(dag.params)
    params.update(values)  # validates as the trigger form does
    params.validate()


@pytest.mark.parametrize("bad", [0, -1, 50, "high"])
def test_portrait_threshold_must_be_a_number_in_range(bad):
    from airflow.sdk.exceptions import ParamValidationError

    dag = _dag("dwh_pipeline")
    with pytest.raises(ParamValidationError):
        _validate(dag, {"portrait_threshold": bad})
    _validate(dag, {"portrait_threshold": 1.2})
    assert "map_client_portraits" in dag.task_dict["build_core"].downstream_task_ids


def test_uploaded_clients_need_an_input_path():
    from airflow.sdk.exceptions import ParamValidationError

    dag = _dag("map_uploaded_clients")
    assert type(dag.timetable).__name__ == "NullTimetable"  # manual trigger only
    with pytest.raises(ParamValidationError):
        copy.deepcopy(dag.params).validate()  # no input_path given
    with pytest.raises(ParamValidationError):
        _validate(dag, {"input_path": ""})
    _validate(dag, {"input_path": "/data/in.csv", "threshold": 2.0})
