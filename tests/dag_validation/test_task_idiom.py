"""One idiom for tasks: `@task` over plain functions; the partition sensor is the only operator class
(check_marts is a @task over warehouse/marts.py check_marts). dwh_pipeline flags overdue instalments in a task of its own."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
OPERATOR_CLASSES = {"PendingPartitionSensor"}


@functools.cache
def _dags():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR)).dags


@pytest.mark.parametrize("dag_id", sorted(p.stem for p in DAGS_DIR.glob("*.py")))
def test_every_task_is_a_task_function_or_one_of_the_known_operators(dag_id):
    dag = _dags()[dag_id]
    others = {
        task.task_id: type(task).__name__
        for task in dag.tasks
        if type(task).__name__ not in OPERATOR_CLASSES
        and type(task).__name__
        not in ("_PythonDecoratedOperator", "DecoratedMappedOperator")  # @task, mapped
    }
    assert others == {}, f"dags/{dag_id}.py: make these @task functions: {others}"


def test_overdue_flags_are_their_own_step_between_core_and_marts():
    dag = _dags()["dwh_pipeline"]
    assert dag.task_dict["build_core"].downstream_task_ids == {
        "flag_overdue_instalments",
        "map_client_portraits",
    }
    assert dag.task_dict["flag_overdue_instalments"].downstream_task_ids == {"build_marts"}
