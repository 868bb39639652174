"""Every setting of the project, read once from the environment, with its documented default.

Other modules import constants from here; nothing else reads ``os.environ``.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
INCLUDE_DIR = PROJECT_ROOT / "include"
SQL_DIR = INCLUDE_DIR / "sql"
PORTRAITS_FILE = Path(os.environ.get("PORTRAITS_FILE", INCLUDE_DIR / "portraits.json"))

# Git-ignored folder for everything a local run writes (embedded Postgres, landing zone, Airflow home).
DATA_DIR = Path(os.environ.get("CLIENT_DWH_DATA_DIR", PROJECT_ROOT / "data"))

# Where partitions land. A local folder or any fsspec URL (s3://bucket/landing, gs://...), so that
# Celery workers on other hosts reach the same parts through ObjectStoragePath.
LANDING_URL = os.environ.get("LANDING_DIR", str(DATA_DIR / "landing"))
# Connection used by ObjectStoragePath for a remote landing zone (e.g. an aws connection id).
LANDING_CONN_ID = os.environ.get("LANDING_CONN_ID") or None

# The warehouse is always reached through this Airflow connection; when AIRFLOW_CONN_DWH is unset the
# project starts an embedded PostgreSQL and points the connection at it.
DWH_CONN_ID = "dwh"
EMBEDDED_PG_DIR = Path(os.environ.get("EMBEDDED_PG_DIR", DATA_DIR / "pg"))
EMBEDDED_PG_PORT = int(os.environ.get("EMBEDDED_PG_PORT", "55432"))
EMBEDDED_PG_DATABASE = "dwh"
# Session memory for the warehouse's bulk statements (PostgreSQL units).
DWH_WORK_MEM = os.environ.get("DWH_WORK_MEM", "256MB")
DWH_TEMP_BUFFERS = os.environ.get("DWH_TEMP_BUFFERS", "512MB")
DWH_MAINTENANCE_WORK_MEM = os.environ.get("DWH_MAINTENANCE_WORK_MEM", "512MB")  # index (re)builds
# PostgreSQL parallel workers per query (max_parallel_workers_per_gather) on the warehouse connections.
# The pipeline already runs two entity loads, two core entities, the flag step's two connections and two
# marts at a time, which keeps a 2-core server busy: parallel workers on top only add processes and tuple
# traffic (core at 100,000 clients 55 s -> 47 s without them). Raise it on a server with cores to spare.
DWH_PARALLEL_WORKERS = int(os.environ.get("DWH_PARALLEL_WORKERS", "0"))
# Entities of a part applied to core at once, one connection each (build_core; independent ones only).
CORE_CONCURRENCY = int(os.environ.get("CORE_CONCURRENCY", "2"))
MART_CONCURRENCY = int(os.environ.get("MART_CONCURRENCY", "2"))  # build_marts: independent marts at once

DEFAULT_CLIENTS = int(os.environ.get("DEFAULT_CLIENTS", "1000"))
DEFAULT_PARTS = int(os.environ.get("DEFAULT_PARTS", "5"))
DEFAULT_SEED = int(os.environ.get("DEFAULT_SEED", "42"))

# Credit-risk conventions (include/sql/core/loan_delinquency.sql): arrears below the tolerance (RUB)
# are technical and leave a loan current; a loan more than WRITE_OFF_DPD days past due is written off.
ARREARS_TOLERANCE = float(os.environ.get("ARREARS_TOLERANCE", "100"))
WRITE_OFF_DPD = int(os.environ.get("WRITE_OFF_DPD", "180"))


def dag_defaults(retries: int = 1) -> dict[str, Any]:
    """What every DAG shares, unpacked into ``DAG(...)``: start date, owner, retries and their delay.

    A new dict per DAG: Airflow 3.3 copies ``default_args`` (shallowly) before it edits them (start_date
    to UTC, ``params`` moved out), so one shared dict would survive today, but nothing here relies on it.
    """
    return {
        "start_date": dt.datetime(2026, 1, 1),
        "default_args": {
            "owner": "data-platform",
            "retries": retries,
            "retry_delay": dt.timedelta(minutes=1),
        },
    }
