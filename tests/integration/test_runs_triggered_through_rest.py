"""End to end through a real Airflow: `airflow dag-processor`, `airflow scheduler` (LocalExecutor) and
`airflow api-server`, each a process of its own, with a PostgreSQL metadata DB. Every DAG is triggered
through the REST API with `"logical_date": null` (as `airflow dags trigger X` and the UI form with the date
cleared do), and dwh_pipeline once more by a `TriggerDagRunOperator(logical_date=None)`. Every run must
end `success`.

Selected or skipped with the marker: `pytest -m airflow_services` / `pytest -m "not airflow_services"`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from _waiting import wait_for

from client_dwh.portraits.catalogue import load_portraits
from client_dwh.sources.synthetic.land import generate_and_land
from client_dwh.sources.synthetic.station_population import generate_station_clients

pytestmark = pytest.mark.airflow_services

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "rest-test-pass"
STARTUP_SECONDS = 180
RUNS_SECONDS = 420
TERMINAL = {"success", "failed"}

# A DAG that exists only in this test's DAG folder: dwh_pipeline started by another DAG's task.
TRIGGER_DAG = """
import datetime as dt

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG

with DAG("trigger_dwh_pipeline", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False,
         default_args={"owner": "tests"}):
    TriggerDagRunOperator(
        task_id="trigger_dwh_pipeline",
        trigger_dag_id="dwh_pipeline",
        logical_date=None,
        conf={"batch": "rest-operator", "wait_timeout_seconds": 0},
    )
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _airflow_home(home: Path, metadata_uri: str) -> Path:
    """A migrated metadata DB of the servers' own, the project's DAGs plus the trigger DAG, the admin's
    password."""
    home.mkdir(parents=True)
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_uri}
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True, capture_output=True
    )
    dags = home / "dags"
    dags.mkdir()
    for dag_file in (ROOT / "dags").glob("*.py"):
        (dags / dag_file.name).symlink_to(dag_file)
    (dags / "trigger_dwh_pipeline.py").write_text(TRIGGER_DAG)
    (home / "simple_auth_manager_passwords.json.generated").write_text(json.dumps({"admin": PASSWORD}))
    return dags


@pytest.fixture
def metadata_database(test_database):
    """Airflow's metadata in a PostgreSQL database of its own on the test server (SQLite cannot keep up
    with a scheduler, an api-server and task processes writing at once: the execution API times out)."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    name = f"airflow_rest_test_{os.getpid()}"
    server = urlunsplit(urlsplit(test_database)._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
    parts = urlsplit(test_database)._replace(path=f"/{name}")
    yield urlunsplit(parts._replace(scheme="postgresql+psycopg2"))
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


class AirflowServices:
    """dag-processor, scheduler and api-server on a free port, sharing one Airflow home; their output
    goes to <home>/<component>.log, shown when a run does not end well."""

    def __init__(self, home: Path, metadata_uri: str) -> None:
        self.home = home
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.processes: dict[str, subprocess.Popen] = {}
        dags = _airflow_home(home, metadata_uri)
        self.env = {
            **os.environ,  # AIRFLOW_CONN_DWH (the test warehouse), LANDING_DIR, PYTHONPATH
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_uri,
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__API_AUTH__JWT_SECRET": "client-analytics-rest-test-" + "0" * 64,
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            # No scheduled (daily) runs: they would have a logical date and compete for the parts. This
            # also stops Asset-triggered runs, so recommend_services is triggered over REST too.
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "600",
        }
        self.token = ""

    def start(self) -> None:
        commands = {
            "dag-processor": ["dag-processor"],
            "scheduler": ["scheduler"],
            "api-server": ["api-server", "--host", "127.0.0.1", "--port", str(self.port), "-w", "1"],
        }
        for name, args in commands.items():
            with (self.home / f"{name}.log").open("w") as out:
                self.processes[name] = subprocess.Popen(
                    [sys.executable, "-m", "airflow", *args],
                    env=self.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # stop() ends each component with its worker processes
                )
        self._wait(
            lambda: httpx.get(f"{self.base}/api/v2/monitor/health", timeout=2).status_code == 200, "health"
        )
        response = httpx.post(
            f"{self.base}/auth/token", json={"username": "admin", "password": PASSWORD}, timeout=10
        )
        assert response.status_code in (200, 201), response.text
        self.token = response.json()["access_token"]

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def logs(self) -> str:
        return "\n".join(
            f"--- {name}.log (tail) ---\n{(self.home / f'{name}.log').read_text(errors='replace')[-2500:]}"
            for name in self.processes
        )

    def _wait(self, ready, what: str, seconds: float = STARTUP_SECONDS) -> None:
        def ready_while_running() -> bool:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    pytest.fail(
                        f"{name} exited with {process.returncode} while waiting for {what}\n{self.logs()}"
                    )
            try:
                return ready()
            except httpx.TransportError:
                return False

        wait_for(ready_while_running, what, seconds, every=1, details=self.logs)

    def api(self, method: str, path: str, **kwargs) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.request(method, f"{self.base}/api/v2{path}", headers=headers, timeout=30, **kwargs)

    def wait_for_dags(self, dag_ids: list[str]) -> None:
        self._wait(
            lambda: all(self.api("GET", f"/dags/{d}").status_code == 200 for d in dag_ids), "DAGs parsed"
        )

    def trigger(self, dag_id: str, conf: dict) -> str:
        response = self.api("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf})
        assert response.status_code == 200, f"{dag_id}: {response.status_code} {response.text}"
        run = response.json()
        assert run["logical_date"] is None
        return run["dag_run_id"]

    def runs(self, dag_id: str) -> list[dict]:
        response = self.api("GET", f"/dags/{dag_id}/dagRuns", params={"order_by": "run_after"})
        assert response.status_code == 200, response.text
        return response.json()["dag_runs"]

    def state(self, dag_id: str, run_id: str) -> str:
        response = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
        assert response.status_code == 200, response.text
        return response.json()["state"]

    def wait_for_runs(self, runs: list[tuple[str, str]]) -> None:
        """Wait until every run has finished; fail naming each run that did not succeed and its tasks."""
        self._wait(lambda: all(self.state(*run) in TERMINAL for run in runs), f"runs {runs}", RUNS_SECONDS)
        not_green = {
            run: [(t["task_id"], t["state"]) for t in self.task_instances(*run) if t["state"] != "success"]
            for run in runs
            if self.state(*run) != "success"
        }
        assert not_green == {}, f"runs not green (run: tasks not green): {not_green}\n{self.logs()}"

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances").json()["task_instances"]


@pytest.fixture
def airflow_services(warehouse, metadata_database, tmp_path):
    services = AirflowServices(tmp_path / "airflow", metadata_database)
    try:
        services.start()
        yield services
    finally:
        services.stop()


def test_every_dag_triggered_without_logical_date_ends_green(airflow_services, warehouse, tmp_path):
    # Parts for the two dwh_pipeline runs, landed beforehand so the runs need not wait for each other.
    for batch, seed in (("rest-api", 11), ("rest-operator", 12)):
        generate_and_land(clients=40, parts=1, seed=seed, batch=batch)
    upload = tmp_path / "station_clients.csv"
    features, _ = generate_station_clients(20, 5, load_portraits())
    features.to_csv(upload, sep=";", index=False)

    services = airflow_services
    services.wait_for_dags(
        [
            "generate_sources",
            "dwh_pipeline",
            "map_uploaded_clients",
            "recommend_services",
            "trigger_dwh_pipeline",
        ]
    )
    started = [
        ("generate_sources", services.trigger("generate_sources", {"clients": 30, "parts": 1, "seed": 13})),
        ("dwh_pipeline", services.trigger("dwh_pipeline", {"batch": "rest-api", "wait_timeout_seconds": 0})),
        ("map_uploaded_clients", services.trigger("map_uploaded_clients", {"input_path": str(upload)})),
        ("trigger_dwh_pipeline", services.trigger("trigger_dwh_pipeline", {})),
    ]
    services.wait_for_runs(started)
    # The run the operator started (it queues behind the REST one: max_active_runs=1).
    services._wait(lambda: len(services.runs("dwh_pipeline")) == 2, "the operator's dwh_pipeline run")
    (operator_run,) = [r for r in services.runs("dwh_pipeline") if r["conf"].get("batch") == "rest-operator"]
    assert (operator_run["triggered_by"], operator_run["logical_date"]) == ("operator", None)
    services.wait_for_runs([("dwh_pipeline", operator_run["dag_run_id"])])
    # In production the marts Asset starts recommend_services (also without a logical date).
    services.wait_for_runs([("recommend_services", services.trigger("recommend_services", {}))])

    # The runs did their work: both landed parts built, flags as of the day the runs were made for.
    built = warehouse.execute(
        "select batch_id from meta.partitions where core_built_at is not null"
    ).fetchall()
    assert sorted(b for (b,) in built) == ["rest-api", "rest-operator"]
    run_days = {r["run_after"][:10] for r in services.runs("dwh_pipeline")}
    assert {str(d) for (d,) in warehouse.execute("select distinct as_of_date from core.loans")} <= run_days
    assert warehouse.execute("select count(*) from mart.recommendations").fetchone()[0] > 0
    assert (tmp_path / "station_clients.portraits.csv").exists()
