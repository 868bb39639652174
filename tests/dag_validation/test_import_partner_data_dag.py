"""import_partner_data: a manual DAG whose Params name the file and its kind, validated before a run."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"


def _dag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR / "import_partner_data.py")).dags["import_partner_data"]


@pytest.mark.parametrize(
    "bad",
    [{}, {"path": ""}, {"path": "/in/x.txt", "kind": "xml"}, {"path": "/in/x.txt", "batch": "../x"}],
    ids=str,
)
def test_params_reject_bad_values(bad):
    from airflow.sdk.exceptions import ParamValidationError

    params = copy.deepcopy(_dag().params)
    with pytest.raises(ParamValidationError):
        params.update(bad)
        params.validate()


def test_manual_trigger_with_a_catalogue_or_a_crm_export():
    dag = _dag()
    assert type(dag.timetable).__name__ == "NullTimetable"
    for kind in ("catalogue", "crm"):
        params = copy.deepcopy(dag.params)
        params.update({"path": "/in/file", "kind": kind, "batch": "partners-2026"})
        params.validate()
    assert list(dag.task_dict) == ["land_partner_file"]
