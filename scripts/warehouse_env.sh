# Sourced by make targets: point AIRFLOW_CONN_DWH at the warehouse, starting the embedded one if unset.
if [ -z "${AIRFLOW_CONN_DWH:-}" ]; then
    AIRFLOW_CONN_DWH="$(.venv/bin/python -m client_dwh warehouse start 2>/dev/null | tail -n 1)"
    export AIRFLOW_CONN_DWH
    echo "warehouse: embedded PostgreSQL at ${AIRFLOW_CONN_DWH}"
else
    echo "warehouse: AIRFLOW_CONN_DWH from the environment"
fi
