#!/usr/bin/env bash
# `make run`: embedded warehouse + Airflow standalone on :8080 with this project's DAGs, and a first run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/warehouse_env.sh
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin"
export AIRFLOW__API__PORT="${AIRFLOW_PORT:-8080}"
.venv/bin/python scripts/prepare_airflow.py

(
    # Once the API server answers, trigger the first generation; dwh_pipeline's sensor picks the parts up.
    for _ in $(seq 1 120); do
        if curl -fs "http://localhost:${AIRFLOW__API__PORT}/api/v2/monitor/health" >/dev/null; then break; fi
        sleep 2
    done
    sleep 10
    .venv/bin/airflow dags trigger generate_sources --conf '{"batch": "first-run"}' >/dev/null 2>&1 || true
    .venv/bin/airflow dags trigger dwh_pipeline >/dev/null 2>&1 || true
    cat <<MSG

==============================================================
 Airflow UI:   http://localhost:${AIRFLOW__API__PORT}
 Login:        admin / admin
 Warehouse:    ${AIRFLOW_CONN_DWH}
 First run:    generate_sources and dwh_pipeline triggered
 Stop:         Ctrl-C (then 'make warehouse-stop')
==============================================================
MSG
) &

exec .venv/bin/airflow standalone
