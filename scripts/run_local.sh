#!/usr/bin/env bash
# `make run`: embedded warehouse + Airflow standalone on :8080 with this project's DAGs, and a first run.
# Ctrl-C (or TERM) stops Airflow and everything it started within a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/warehouse_env.sh
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin"
export AIRFLOW__API__PORT="${AIRFLOW_PORT:-8080}"
# Task processes reach the API server here (without it they assume :8080, whatever AIRFLOW_PORT says).
export AIRFLOW__API__BASE_URL="${AIRFLOW__API__BASE_URL:-http://localhost:${AIRFLOW__API__PORT}}"
# standalone starts the scheduler with the API server, which can take a minute to answer on a small
# machine: tasks queued meanwhile keep retrying their first call (about 4 minutes) instead of failing.
export AIRFLOW__WORKERS__EXECUTION_API_RETRIES="${AIRFLOW__WORKERS__EXECUTION_API_RETRIES:-8}"
# ... and wait longer than 5 s for an answer: SQLite serialises every write of every component.
export AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT="${AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT:-30}"
# LocalExecutor starts one worker process per parallelism slot (default 32): size it to the machine.
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-$(nproc)}"
.venv/bin/python scripts/prepare_airflow.py

standalone=""
first_run=""
stop() {
    trap - INT TERM EXIT
    echo "stopping Airflow (process group ${standalone:-none}) ..." >&2
    [ -n "$first_run" ] && kill "$first_run" 2>/dev/null || true
    if [ -n "$standalone" ] && kill -0 "$standalone" 2>/dev/null; then
        kill -TERM -- "-$standalone" 2>/dev/null || true
        for _ in $(seq 1 10); do  # up to 5 s for a clean shutdown, then no more waiting
            kill -0 -- "-$standalone" 2>/dev/null || break
            sleep 0.5
        done
        kill -KILL -- "-$standalone" 2>/dev/null || true
    fi
    echo "Airflow stopped; the warehouse keeps running ('make warehouse-stop' stops it)." >&2
}
trap 'stop; exit 130' INT TERM
trap stop EXIT

# Its own process group (setsid), so that stop() ends standalone and every component it started at once;
# standalone alone waits on its children after the first SIGINT.
setsid .venv/bin/airflow standalone &
standalone=$!

.venv/bin/python scripts/first_run.py &
first_run=$!

wait "$standalone"
