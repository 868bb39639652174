"""docker-compose.yaml cannot run here (no Docker engine): check its structure instead."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


def test_services_of_a_local_executor_deployment_are_present():
    services = _compose()["services"]
    assert set(services) >= {
        "postgres", "warehouse", "airflow-init", "airflow-apiserver", "airflow-scheduler",
        "airflow-dag-processor", "airflow-triggerer",
    }  # fmt: skip
    assert "airflow-worker" not in services and "redis" not in services  # LocalExecutor: no Celery


def test_airflow_services_share_the_project_layout_and_warehouse_connection():
    services = _compose()["services"]
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        service = services[name]
        env = service["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        assert env["PYTHONPATH"] == "/opt/airflow/include"
        assert (
            env["AIRFLOW_CONN_DWH"].startswith("postgresql://") and "@warehouse:" in env["AIRFLOW_CONN_DWH"]
        )
        mounts = {m.split(":")[0]: m.split(":")[1] for m in service["volumes"]}
        assert mounts["./dags"] == "/opt/airflow/dags"
        assert mounts["./plugins"] == "/opt/airflow/plugins"
        assert mounts["./include"] == "/opt/airflow/include"
        assert service["build"] == "."


def test_image_is_built_from_the_pinned_requirements():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "apache/airflow:3.3.2" in dockerfile
    assert "-r /opt/project/requirements.txt -c /opt/project/constraints.txt" in dockerfile
    requirements = (ROOT / "requirements.txt").read_text()
    assert "apache-airflow==3.3.2" in requirements


def test_every_requirement_is_pinned_in_the_constraints_file():
    pins = {
        line.split("==")[0].lower().replace("_", "-")
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line
    }
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        assert "==" in line, f"{line} is not pinned"
        name = line.split("==")[0].split("[")[0].lower().replace("_", "-")
        assert name in pins, f"{name} missing from constraints.txt"
