"""`make run`'s first run, through the REST API as a user would: once the API server answers, print
where to log in, trigger generate_sources, then (when its parts have landed) dwh_pipeline, both without a
logical date, and report how each run ended. Exits non-zero when a run did not succeed."""

from __future__ import annotations

import os
import sys
import time

import httpx

BASE = f"http://localhost:{os.environ.get('AIRFLOW__API__PORT', '8080')}"
USER, PASSWORD = "admin", "admin"
BATCH = "first-run"


def _wait(ready, what: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except httpx.TransportError:
            pass
        time.sleep(3)
    raise SystemExit(f"first run: {what} not ready after {seconds:.0f} s; see the Airflow output above")


def main() -> int:
    _wait(lambda: httpx.get(f"{BASE}/api/v2/monitor/health", timeout=5).status_code == 200, "API server", 300)
    token = httpx.post(f"{BASE}/auth/token", json={"username": USER, "password": PASSWORD}, timeout=30)
    token.raise_for_status()
    print(
        f"""
==============================================================
 Airflow UI:   {BASE}
 Login:        {USER} / {PASSWORD}
 Warehouse:    {os.environ.get("AIRFLOW_CONN_DWH", "")}
 First run:    generate_sources, then dwh_pipeline (states follow)
 Stop:         Ctrl-C (then 'make warehouse-stop')
==============================================================
""",
        flush=True,
    )
    api = httpx.Client(
        base_url=f"{BASE}/api/v2",
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        timeout=30,
    )
    # The dag-processor parses the DAG files once the components are up.
    _wait(lambda: all(api.get(f"/dags/{d}").status_code == 200 for d in ("generate_sources", "dwh_pipeline")),
          "DAGs generate_sources and dwh_pipeline", 300)  # fmt: skip

    def run(dag_id: str, conf: dict) -> str:
        response = api.post(f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf})
        response.raise_for_status()
        run_id = response.json()["dag_run_id"]
        print(f"first run: triggered {dag_id} ({run_id})", flush=True)
        state = {}

        def finished() -> bool:
            state["now"] = api.get(f"/dags/{dag_id}/dagRuns/{run_id}").json()["state"]
            return state["now"] in ("success", "failed")

        _wait(finished, f"{dag_id} run {run_id}", 1800)
        print(f"first run: {dag_id} {state['now']}", flush=True)
        return state["now"]

    states = [run("generate_sources", {"batch": BATCH})]
    if states[-1] == "success":
        states.append(run("dwh_pipeline", {"batch": BATCH, "wait_timeout_seconds": 0}))
    green = all(s == "success" for s in states)
    print(f"first run: {'all green' if green else 'NOT green: see the task logs in the UI'}", flush=True)
    return 0 if green else 1


if __name__ == "__main__":
    sys.exit(main())
