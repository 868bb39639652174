"""CeleryExecutor on one machine, as on many: the ``make scaleout`` stack and its test's.

Starts PostgreSQL metadata (a database on the warehouse's server), a Redis broker (the one reachable,
or ``redis-server`` started here), moto's server as the S3 endpoint of the landing zone and of the
workers' remote logs, then api-server, scheduler, dag-processor, triggerer and Celery workers. Each
worker gets a directory of its own with its own copy of ``dags/`` and ``include/`` and its own
``AIRFLOW_HOME``: workers share nothing but the warehouse, the broker, the metadata DB and the object
store, as workers on other hosts would. ``python -m client_dwh.devtools.scaleout`` runs generate ->
pipeline -> recommendations on it and prints the run states; Ctrl-C or the end stops everything.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from client_dwh import config

S3_CONN_ID = "landing_s3"
S3_BUCKET = "landing"
S3_KEY = "testing"  # moto accepts any key; the connection carries it as real credentials would
FINISHED = ("success", "failed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_reachable(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.exceptions.RedisError:
        return False


def _wait(predicate, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise TimeoutError(f"gave up after {timeout:.0f} s waiting for {what}")


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status < 500
    except OSError:
        return False


def with_database(server_uri: str, database: str) -> str:
    return urlunsplit(urlsplit(server_uri)._replace(path=f"/{database}"))


def create_database(server_uri: str, database: str, *, drop: bool = False) -> str:
    """(Re)create ``database`` on the server of ``server_uri``; return its URI."""
    import psycopg

    with psycopg.connect(with_database(server_uri, "postgres"), autocommit=True) as conn:
        if drop:
            conn.execute(f'drop database if exists "{database}" with (force)')
        exists = conn.execute("select 1 from pg_database where datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(f'create database "{database}"')
    return with_database(server_uri, database)


def drop_database(server_uri: str, database: str) -> None:
    import psycopg

    with psycopg.connect(with_database(server_uri, "postgres"), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{database}" with (force)')


@dataclass
class Stack:
    """The processes of one scale-out deployment and what they share."""

    root: Path
    warehouse_uri: str
    metadata_uri: str
    redis_url: str | None = None
    workers: int = 2
    worker_concurrency: int = 2
    heartbeat_timeout: int = 300
    queue: str = field(default_factory=lambda: f"client_dwh_{secrets.token_hex(4)}")
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    s3_endpoint: str = ""
    api_port: int = 0

    # ---- configuration shared by every component -------------------------------------------------
    @property
    def landing_url(self) -> str:
        return f"s3://{S3_BUCKET}/landing"

    def s3_connection(self) -> str:
        extra = {"endpoint_url": self.s3_endpoint, "region_name": "us-east-1"}
        return json.dumps({"conn_type": "aws", "login": S3_KEY, "password": S3_KEY, "extra": extra})

    def env(self, home: Path, project: Path) -> dict[str, str]:
        """Environment of one component whose Airflow home is ``home`` and code copy is ``project``."""
        sqlalchemy_uri = self.metadata_uri.replace("postgresql://", "postgresql+psycopg2://", 1)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
            "AIRFLOW_HOME": str(home),
            "PYTHONPATH": str(project / "include"),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(project / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(project / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.api_port}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__API__WORKERS": "2",
            # a busy control host answers the workers' execution API slowly: wait rather than fail the try
            "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "30",
            "AIRFLOW__API_AUTH__JWT_SECRET": self._secret("jwt"),
            "AIRFLOW__API__SECRET_KEY": self._secret("api"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy_uri,
            "AIRFLOW__CELERY__BROKER_URL": self.redis_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.metadata_uri,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.worker_concurrency),
            # a message a dead worker took is redelivered after this long; the scheduler's heartbeat
            # check retries the task much sooner, so this only needs to exceed the longest task
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "21600",
            # Each stack has a queue of its own (its workers listen only to it) and prefixes every Redis
            # key with it, so a stale worker of an interrupted run, or a concurrent stack on the same
            # Redis, never takes this stack's tasks (stacks_tasks_ran_elsewhere checks it).
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": self.queue,
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX": f"{self.queue}:",
            # runs are triggered explicitly (generate -> pipeline -> recommendations), not by schedules
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(self.heartbeat_timeout),
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            # workers' task logs go to the object store too, so the UI shows them wherever they ran
            "AIRFLOW__LOGGING__REMOTE_LOGGING": "True",
            "AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER": f"s3://{S3_BUCKET}/logs",
            "AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID": S3_CONN_ID,
            f"AIRFLOW_CONN_{S3_CONN_ID.upper()}": self.s3_connection(),
            "AIRFLOW_CONN_DWH": self.warehouse_uri,
            "LANDING_DIR": self.landing_url,
            "LANDING_CONN_ID": S3_CONN_ID,
            "CLIENT_DWH_DATA_DIR": str(home / "data"),
        }
        return env

    def _secret(self, name: str) -> str:
        path = self.root / f".{name}-secret"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(32))
        return path.read_text()

    # ---- processes ---------------------------------------------------------------------------------
    def _start(self, name: str, args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen:
        cwd.mkdir(parents=True, exist_ok=True)
        log = (self.root / "logs" / f"{name}.log").open("ab")
        process = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[name] = process
        return process

    def _airflow(self, name: str, *args: str, home: Path, project: Path) -> subprocess.Popen:
        return self._start(name, [sys.executable, "-m", "airflow", *args], self.env(home, project), home)

    def _start_redis(self) -> str:
        binary = shutil.which("redis-server")
        if not binary:
            raise RuntimeError(
                "no Redis reachable at 127.0.0.1:6379 and no redis-server to start: install Debian's "
                "redis-server (apt-get install redis-server) or pass --redis-url"
            )
        port = free_port()
        folder = self.root / "redis"
        folder.mkdir(parents=True, exist_ok=True)
        self._start("redis", [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""], {}, folder)
        url = f"redis://127.0.0.1:{port}/0"
        _wait(lambda: redis_reachable(url), 30, "redis-server")
        return url

    def _start_moto(self) -> None:
        port = free_port()
        moto = Path(sys.executable).parent / "moto_server"
        self._start("moto", [str(moto), "-H", "127.0.0.1", "-p", str(port)], dict(os.environ), self.root)
        self.s3_endpoint = f"http://127.0.0.1:{port}"
        _wait(lambda: _http_ok(self.s3_endpoint), 60, "moto's S3 server")
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=self.s3_endpoint,
            aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_KEY,
            region_name="us-east-1",
        )
        client.create_bucket(Bucket=S3_BUCKET)

    def _copy_project(self, folder: Path) -> Path:
        """A copy of the code as a deployment ships it to a host (dags, plugins, include)."""
        project = folder / "project"
        for name in ("dags", "plugins", "include"):
            target = project / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(
                config.PROJECT_ROOT / name, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        return project

    def start(self) -> None:
        (self.root / "logs").mkdir(parents=True, exist_ok=True)
        if not self.redis_url:
            self.redis_url = "redis://127.0.0.1:6379/0"
            if not redis_reachable(self.redis_url):
                self.redis_url = self._start_redis()
        self._start_moto()
        self.api_port = free_port()
        control = self.root / "control"
        project = self._copy_project(control)
        home = control / "airflow"
        home.mkdir(parents=True, exist_ok=True)
        (home / "simple_auth_manager_passwords.json.generated").write_text(json.dumps({"admin": "admin"}))
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            env=self.env(home, project),
            cwd=home,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self._airflow("api-server", "api-server", "--port", str(self.api_port), home=home, project=project)
        self._airflow("scheduler", "scheduler", home=home, project=project)
        self._airflow("dag-processor", "dag-processor", home=home, project=project)
        self._airflow("triggerer", "triggerer", home=home, project=project)
        for number in range(1, self.workers + 1):
            self.start_worker(number)
        _wait(lambda: _http_ok(f"http://127.0.0.1:{self.api_port}/api/v2/monitor/health"), 180, "api-server")

    def start_worker(self, number: int) -> subprocess.Popen:
        folder = self.root / f"worker-{number}"
        project = self._copy_project(folder)
        home = folder / "airflow"
        home.mkdir(parents=True, exist_ok=True)
        env = self.env(home, project)
        env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] = str(free_port())  # two on one host
        args = [sys.executable, "-m", "airflow", "celery", "worker", "--queues", self.queue]
        args += ["--celery-hostname", f"worker-{number}@%h", "--concurrency", str(self.worker_concurrency)]
        return self._start(f"worker-{number}", args, env, home)

    def worker_of(self, pid: int) -> str | None:
        """The name of the worker whose process tree runs ``pid``."""
        import psutil

        try:
            ancestry = {pid, *(p.pid for p in psutil.Process(pid).parents())}
        except psutil.NoSuchProcess:
            return None
        for name, process in self.processes.items():
            if name.startswith("worker-") and process.pid in ancestry:
                return name
        return None

    def stop_worker(self, number: int) -> None:
        """A warm shutdown of worker ``number`` (SIGTERM: it finishes nothing new and exits)."""
        process = self.processes.pop(f"worker-{number}")
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=120)

    def kill(self, name: str) -> None:
        """kill -9 the component's whole process group (a host that dies)."""
        process = self.processes.pop(name)
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=30)

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            process = self.processes[name]
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for name in list(self.processes):
            process = self.processes.pop(name)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    # ---- runs --------------------------------------------------------------------------------------
    def metadata(self, sql: str, params: dict | None = None) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.metadata_uri, autocommit=True) as conn:
            return conn.execute(sql, params or {}).fetchall()

    def wait_for_dags(self, dag_ids: list[str], timeout: float = 300) -> None:
        def parsed():
            rows = self.metadata(
                "select dag_id from serialized_dag where dag_id = any(%(ids)s)", {"ids": dag_ids}
            )
            return {r[0] for r in rows} >= set(dag_ids)

        _wait(parsed, timeout, f"the dag-processor to parse {dag_ids}", interval=2)

    def cli(self, *args: str) -> None:
        """``airflow ARGS`` on the control host."""
        control = self.root / "control"
        subprocess.run(
            [sys.executable, "-m", "airflow", *args],
            env=self.env(control / "airflow", control / "project"),
            cwd=control,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def trigger(self, dag_id: str, run_id: str, conf: dict | None = None) -> None:
        """Trigger a run with a logical date (now), as a scheduled run would have."""
        import datetime as dt

        logical_date = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self.cli("dags", "trigger", dag_id, "--run-id", run_id, "--conf", json.dumps(conf or {}),
                 "--logical-date", logical_date)  # fmt: skip

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        rows = self.metadata(
            "select state from dag_run where dag_id = %(d)s and run_id = %(r)s", {"d": dag_id, "r": run_id}
        )
        return rows[0][0] if rows else None

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 900) -> str:
        return _wait(
            lambda: (s := self.run_state(dag_id, run_id)) in FINISHED and s, timeout, f"{dag_id} {run_id}", 2
        )

    def task_instances(self, dag_id: str, run_id: str) -> list[tuple]:
        return self.metadata(
            """select task_id, map_index, state, try_number, pid from task_instance
               where dag_id = %(d)s and run_id = %(r)s order by task_id, map_index""",
            {"d": dag_id, "r": run_id},
        )

    def attempts_by_worker(self, dag_id: str, run_id: str) -> dict[tuple[str, int, int], str]:
        """``(task_id, map_index, try_number) -> worker`` of this stack whose folder holds that attempt's
        log: where each try ran (a worker writes the log of every task it runs)."""
        found = {}
        for folder in sorted(self.root.glob("worker-*")):
            run_logs = folder / "airflow" / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
            for log in run_logs.glob("task_id=*/**/attempt=*.log"):
                task_dir, *mapped = log.relative_to(run_logs).parts[:-1]
                map_index = int(mapped[0].removeprefix("map_index=")) if mapped else -1
                attempt = int(log.stem.removeprefix("attempt="))
                found[(task_dir.removeprefix("task_id="), map_index, attempt)] = folder.name
        return found

    def tasks_ran_elsewhere(self, dag_id: str, run_id: str) -> list[str]:
        """The run's finished tries not run by this stack's workers from its queue (should be none)."""
        here = self.attempts_by_worker(dag_id, run_id)
        return [
            f"{task_id}[{map_index}] try {tries} (queue {queue})"
            for task_id, map_index, tries, queue in self.metadata(
                """select task_id, map_index, try_number, queue from task_instance
                   where dag_id = %(d)s and run_id = %(r)s and state in ('success', 'failed')""",
                {"d": dag_id, "r": run_id},
            )
            if queue != self.queue or (task_id, map_index, tries) not in here
        ]


def run_demo(stack: Stack, clients: int, parts: int, seed: int) -> int:
    """generate_sources -> dwh_pipeline -> recommend_services on the stack; print each run's state."""
    batch = f"scaleout-s{seed}"
    stamp = time.strftime("%Y%m%dT%H%M%S")
    dags = ["generate_sources", "dwh_pipeline", "recommend_services"]
    stack.wait_for_dags(dags)
    runs = [
        ("generate_sources", {"clients": clients, "parts": parts, "seed": seed, "batch": batch}),
        ("dwh_pipeline", {"batch": batch, "max_parts": 10000, "wait_timeout_seconds": 0}),
        ("recommend_services", {}),
    ]
    states = {}
    for dag_id, conf in runs:
        run_id = f"scaleout__{stamp}"
        started = time.monotonic()
        stack.trigger(dag_id, run_id, conf)
        states[dag_id] = stack.wait_for_run(dag_id, run_id)
        print(f"{dag_id:20s} {states[dag_id]:8s} {time.monotonic() - started:6.1f} s  (run {run_id})")
        for task_id, map_index, state, tries, _pid in stack.task_instances(dag_id, run_id):
            label = task_id if map_index < 0 else f"{task_id}[{map_index}]"
            print(f"    {label:40s} {state or '-':10s} try {tries}")
        if states[dag_id] != "success":
            break
    return 0 if all(s == "success" for s in states.values()) and len(states) == len(runs) else 1


def time_workers(stack: Stack, counts: list[int], clients: int, parts: int, seed: int) -> int:
    """dwh_pipeline over the same landed parts with each number of workers in ``counts``, each time on a
    fresh warehouse: the run's wall time and its load step's (first load_partitions start to
    seal_partitions end), the load average, and how many entity loads each worker ran."""
    batch = f"scaleout-s{seed}"
    stamp = time.strftime("%Y%m%dT%H%M%S")
    stack.wait_for_dags(["generate_sources", "dwh_pipeline", "recommend_services"])
    stack.cli("dags", "pause", "recommend_services")  # only the timed runs use the workers
    landing = f"generate__{stamp}"
    stack.trigger(
        "generate_sources", landing, {"clients": clients, "parts": parts, "seed": seed, "batch": batch}
    )
    if stack.wait_for_run("generate_sources", landing, timeout=3600) != "success":
        print(f"generate_sources {landing} failed; see {stack.root / 'logs'}")
        return 1
    results = []
    for number, workers in enumerate(counts, 1):
        for worker in range(1, stack.workers + 1):  # exactly ``workers`` of them up
            running = f"worker-{worker}" in stack.processes
            if worker <= workers and not running:
                stack.start_worker(worker)
            elif worker > workers and running:
                stack.stop_worker(worker)
        time.sleep(30)  # a started worker connects to the broker and the execution API
        create_database(stack.warehouse_uri, urlsplit(stack.warehouse_uri).path.lstrip("/"), drop=True)
        run_id = f"timed_{workers}_workers_{number}__{stamp}"
        background = os.getloadavg()  # the machine's load from everything else, before this run
        during = []  # 1-minute load average while it runs

        def finished(run_id=run_id, during=during):
            during.append(os.getloadavg()[0])
            return (state := stack.run_state("dwh_pipeline", run_id)) in FINISHED and state

        stack.trigger("dwh_pipeline", run_id, {"batch": batch, "max_parts": 10000, "wait_timeout_seconds": 0})
        state = _wait(finished, 7200, f"dwh_pipeline {run_id}", interval=2)
        ((run_seconds, load_seconds, core_seconds),) = stack.metadata(
            """select extract(epoch from r.end_date - r.start_date),
                      extract(epoch from max(t.end_date) filter (where t.task_id = 'seal_partitions')
                                       - min(t.start_date) filter (where t.task_id = 'load_partitions')),
                      extract(epoch from max(t.end_date) filter (where t.task_id = 'build_core')
                                       - min(t.start_date) filter (where t.task_id = 'build_core'))
               from dag_run as r join task_instance as t using (dag_id, run_id)
               where r.dag_id = 'dwh_pipeline' and r.run_id = %(r)s group by r.start_date, r.end_date""",
            {"r": run_id},
        )
        ran_on = stack.attempts_by_worker("dwh_pipeline", run_id)
        loads = {w: sum(1 for (t, _m, _n), on in ran_on.items() if t == "load_partitions" and on == w)
                 for w in sorted(set(ran_on.values()))}  # fmt: skip
        load_average = f"{_loadavg(background)} before, mean {sum(during) / len(during):.2f} during"
        results.append((workers, state, run_seconds, load_seconds, core_seconds, load_average))
        print(
            f"{workers} worker(s): {state}, run {run_seconds:.0f} s, load step {load_seconds:.0f} s, "
            f"build_core {core_seconds:.0f} s; load average {load_average}; entity loads per worker "
            f"{loads}; tries run elsewhere: {stack.tasks_ran_elsewhere('dwh_pipeline', run_id) or 'none'}",
            flush=True,
        )
    print(f"\n{parts} parts of {clients} clients (batch {batch}), {stack.worker_concurrency} task(s) per worker, "
          f"{os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d %H:%M %Z')}:")  # fmt: skip
    print("| workers | run | load step | build_core | load average (1 / 5 / 15 min) |")
    print("|---|---|---|---|---|")
    for workers, state, run_s, load_s, core_s, load_average in results:
        print(f"| {workers} | {run_s:.0f} s ({state}) | {load_s:.0f} s | {core_s:.0f} s | {load_average} |")
    return 0 if all(r[1] == "success" for r in results) else 1


def _loadavg(values: tuple[float, float, float]) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--parts", type=int, default=4)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-concurrency", type=int, default=2, help="tasks one worker runs at once")
    parser.add_argument(
        "--time-workers",
        default=None,
        help="e.g. 1,2: instead of the demo, time dwh_pipeline on the same landed parts with 1, then 2 workers",
    )
    parser.add_argument(
        "--redis-url", default=None, help="default: 127.0.0.1:6379, else a redis-server started here"
    )
    parser.add_argument("--metadata-database", default="airflow_scaleout", help="on the warehouse's server")
    parser.add_argument("--warehouse-database", default="dwh_scaleout", help="on the warehouse's server")
    parser.add_argument("--keep-running", action="store_true", help="leave the stack up until Ctrl-C")
    args = parser.parse_args(argv)

    from client_dwh.warehouse.db import connection_uri

    counts = [int(n) for n in args.time_workers.split(",")] if args.time_workers else []

    warehouse = urlunsplit(
        urlsplit(connection_uri())._replace(scheme="postgresql")
    )  # not SQLAlchemy's +driver
    root = config.DATA_DIR / "scaleout"
    # The landing zone lives in moto's memory and dies with the stack, so the demo's warehouse is a
    # database of its own, fresh each time (the parts it records are the ones landed in this run).
    stack = Stack(
        root=root,
        warehouse_uri=create_database(warehouse, args.warehouse_database, drop=True),
        metadata_uri=create_database(warehouse, args.metadata_database, drop=True),  # a fresh demo
        redis_url=args.redis_url,
        workers=max([args.workers, *counts]) if counts else args.workers,
        worker_concurrency=args.worker_concurrency,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        print(f"starting the stack under {root} (component logs in {root / 'logs'}) ...", flush=True)
        stack.start()
        print(
            f"api-server http://127.0.0.1:{stack.api_port} (admin / admin); broker {stack.redis_url}; "
            f"S3 endpoint {stack.s3_endpoint}; landing {stack.landing_url}; queue {stack.queue}",
            flush=True,
        )
        if counts:
            status = time_workers(stack, counts, args.clients, args.parts, args.seed)
        else:
            status = run_demo(stack, args.clients, args.parts, args.seed)
        if args.keep_running:
            print("stack running; Ctrl-C stops it", flush=True)
            while True:
                time.sleep(3600)
        return status
    except KeyboardInterrupt:
        return 130
    finally:
        print("stopping every component ...", flush=True)
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
