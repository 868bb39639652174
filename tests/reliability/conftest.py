"""The reliability suite runs against a real PostgreSQL warehouse and a migrated Airflow metadata DB, set
up here before its modules import anything (see ``tests/_warehouse.py``); its helpers are in faults.py."""

from __future__ import annotations

import _warehouse
import pytest

_warehouse.set_up()

from client_dwh import config  # noqa: E402  (after the set-up: config reads the environment once)


@pytest.fixture
def landing_zone(tmp_path, monkeypatch):
    """The DAG's landing zone (config.LANDING_URL) pointed at a folder of the test's own."""
    path = tmp_path / "landing"
    path.mkdir()
    monkeypatch.setattr(config, "LANDING_URL", str(path))
    monkeypatch.setenv("LANDING_DIR", str(path))  # for subprocesses
    return str(path)
