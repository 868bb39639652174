"""docker-compose.yaml cannot run here (no Docker engine): check its structure instead."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


def _env_file(name: str) -> dict[str, str]:
    lines = (ROOT / name).read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def _default(value: str) -> str:
    """What ``${VAR:-default}`` interpolates to when VAR is unset (compose's rule)."""
    if value.startswith("${") and ":-" in value:
        return value[2:-1].split(":-", 1)[1]
    return value


def _scaleout(value: str) -> str:
    """What ``${VAR:-default}`` interpolates to with scaleout.env."""
    if value.startswith("${") and ":-" in value:
        name, default = value[2:-1].split(":-", 1)
        return _env_file("scaleout.env").get(name, default)
    return value


def test_services_of_a_local_executor_deployment_are_present():
    services = _compose()["services"]
    default = {name for name, service in services.items() if not service.get("profiles")}
    assert default == {
        "postgres", "warehouse", "airflow-init", "airflow-apiserver", "airflow-scheduler",
        "airflow-dag-processor", "airflow-triggerer",
    }  # fmt: skip
    for name in default - {"postgres", "warehouse"}:
        assert _default(services[name]["environment"]["AIRFLOW__CORE__EXECUTOR"]) == "LocalExecutor"


def test_scaleout_profile_adds_redis_minio_and_two_celery_workers_sharing_nothing_local():
    services = _compose()["services"]
    env = _env_file("scaleout.env")
    assert env["COMPOSE_PROFILES"] == "scaleout"
    scaleout = {name for name, service in services.items() if "scaleout" in service.get("profiles", [])}
    assert scaleout == {"redis", "minio", "minio-init", "airflow-worker-1", "airflow-worker-2"}
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-worker-1", "airflow-worker-2"):
        service_env = services[name]["environment"]
        assert _scaleout(service_env["AIRFLOW__CORE__EXECUTOR"]) == "CeleryExecutor"
        assert service_env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:")
        assert _scaleout(service_env["LANDING_DIR"]).startswith("s3://")
        assert _scaleout(service_env["LANDING_CONN_ID"]) == "landing_s3"
        assert '"endpoint_url": "http://minio:9000"' in service_env["AIRFLOW_CONN_LANDING_S3"]
    workers = [services["airflow-worker-1"], services["airflow-worker-2"]]
    assert [w["command"].split("--celery-hostname ")[1] for w in workers] == ["worker-1@%h", "worker-2@%h"]
    for worker in workers:
        mounts = {m.split(":")[0] for m in worker["volumes"]}
        assert mounts == {"./dags", "./plugins", "./include"}  # no shared landing folder or logs
        assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
        assert worker["depends_on"]["minio-init"]["condition"] == "service_completed_successfully"
    assert "mb --ignore-existing local/landing" in services["minio-init"]["command"][-1]


def test_airflow_services_share_the_project_layout_and_warehouse_connection():
    services = _compose()["services"]
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        service = services[name]
        env = service["environment"]
        assert _default(env["AIRFLOW__CORE__EXECUTOR"]) == "LocalExecutor"
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
    assert (
        "-r /opt/project/requirements.txt -r /opt/project/requirements-scale.txt -c /opt/project/constraints.txt"
        in dockerfile
    )
    requirements = (ROOT / "requirements.txt").read_text()
    assert "apache-airflow==3.3.2" in requirements


def test_every_requirement_is_pinned_in_the_constraints_file():
    pins = {
        line.split("==")[0].lower().replace("_", "-")
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line
    }
    for requirements in ("requirements.txt", "requirements-scale.txt"):
        for line in (ROOT / requirements).read_text().splitlines():
            line = line.split("#")[0].strip()
            if not line:
                continue
            assert "==" in line, f"{requirements}: {line} is not pinned"
            name = line.split("==")[0].split("[")[0].lower().replace("_", "-")
            assert name in pins, f"{requirements}: {name} missing from constraints.txt"


def test_the_lock_pins_a_python_dateutil_botocore_accepts_and_a_celery_the_provider_starts_with():
    pins = dict(
        line.split("==") for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line
    )
    assert int(pins["python-dateutil"].split(".")[0]) < 3  # botocore requires python-dateutil<3
    assert pins["celery"] == "5.6.3"  # 5.7.0: "cannot import name 'retry' from 'celery.backends.database'"
