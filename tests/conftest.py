"""Test session set-up shared by every test: environment variables only, set before anything imports
Airflow (a session folder for Airflow's home, metadata DB path, landing zone and local state).

Nothing here starts a server or migrates a database: ``tests/integration`` and ``tests/plugin`` do that
through ``_warehouse.set_up()`` in their own conftest, so unit and DAG-validation tests run without either.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

pytest_plugins = ["_warehouse"]  # the warehouse fixtures, defined once; they start nothing until used

ROOT = Path(__file__).resolve().parents[1]
SESSION_DIR = Path(tempfile.mkdtemp(prefix="client_dwh_tests_"))

os.environ["AIRFLOW_HOME"] = str(SESSION_DIR / "airflow")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{SESSION_DIR}/airflow.db"
os.environ["LANDING_DIR"] = str(SESSION_DIR / "landing")
os.environ["CLIENT_DWH_DATA_DIR"] = str(SESSION_DIR)
os.environ.setdefault("PYTHONPATH", str(ROOT / "include"))
if str(ROOT / "include") not in os.environ["PYTHONPATH"].split(os.pathsep):
    os.environ["PYTHONPATH"] = f"{ROOT / 'include'}{os.pathsep}{os.environ['PYTHONPATH']}"


@pytest.fixture(scope="session", autouse=True)
def session_folder():
    """The session's folder (Airflow home, metadata DB, landing zone), removed at the end."""
    yield SESSION_DIR
    shutil.rmtree(SESSION_DIR, ignore_errors=True)


@pytest.fixture
def landing(tmp_path):
    """A landing zone of the test's own (a local folder, reached through ObjectStoragePath)."""
    path = tmp_path / "landing"
    path.mkdir()
    return str(path)
