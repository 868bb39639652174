"""The one rule for a DAG run's as-of date: the ``as_of_date`` Param, else the logical date, else the
moment the run was made for (``run_after``).

Runs triggered without a logical date (``airflow dags trigger`` without ``-l``, the REST API with
``"logical_date": null``, the UI form with the date cleared, a ``TriggerDagRunOperator``, every
Asset-triggered run) have no ``ds``, ``ts`` or ``logical_date`` in their template context, so no task
or SQL file names those: they call :func:`run_as_of_date` (in templates and SQL files:
``{{ run_as_of_date(params, dag_run) }}``, a macro the DAG registers with ``user_defined_macros=MACROS``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any


def run_as_of_date(params: Mapping[str, Any] | None, dag_run: Any) -> dt.date:
    """The run's as-of date: ``params["as_of_date"]`` (yyyy-mm-dd), else the logical date's UTC day,
    else the UTC day of ``dag_run.run_after``."""
    chosen = (params or {}).get("as_of_date")
    if chosen:
        return chosen if isinstance(chosen, dt.date) else dt.date.fromisoformat(str(chosen))
    moment = getattr(dag_run, "logical_date", None) or dag_run.run_after
    return moment.astimezone(dt.UTC).date()


# A DAG's user_defined_macros: its SQL files and templated fields reach the rule by this name.
MACROS = {"run_as_of_date": run_as_of_date}
