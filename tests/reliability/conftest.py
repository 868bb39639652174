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


EXPORT_BATCH = "export-2026-11"
# The loan book, products and fuel-station data: what the marts and the portraits read (partner data would
# only add model training time to every run).
EXPORT_ENTITIES = (
    "clients",
    "loans",
    "payments",
    "products",
    "product_usage",
    "station_clients",
    "station_visits",
)


@pytest.fixture(scope="session")
def _landed_export(tmp_path_factory):
    """The source system's export (written by the project's emulation of it) in three cumulative parts,
    landed once per session; tests work on copies."""
    import datetime as dt

    from client_dwh.sources.synthetic.land import generate_and_land

    landing = tmp_path_factory.mktemp("export") / "landing"
    generate_and_land(
        clients=90,
        parts=3,
        seed=13,
        batch=EXPORT_BATCH,
        as_of=dt.date(2026, 11, 20),
        landing_url=str(landing),
        entities=EXPORT_ENTITIES,
    )
    return landing


@pytest.fixture
def export(_landed_export, landing_zone):
    """A copy of the export in the test's own landing zone: the batch folder, yours to break."""
    import shutil
    from pathlib import Path

    shutil.copytree(_landed_export / EXPORT_BATCH, Path(landing_zone) / EXPORT_BATCH)
    return Path(landing_zone) / EXPORT_BATCH


_clean_states: dict[str, dict] = {}


@pytest.fixture
def clean_export_state(export):
    """``state(conn)``: the fingerprint a clean run of the unbroken export leaves (computed once per
    session on a reset warehouse, which it leaves in that clean state)."""
    from faults import fingerprint, later, reset_warehouse, run_pipeline

    def state(conn) -> dict:
        if EXPORT_BATCH not in _clean_states:
            reset_warehouse(conn)
            run = run_pipeline({"batch": EXPORT_BATCH}, later(50))
            assert str(run.state) == "success"
            _clean_states[EXPORT_BATCH] = fingerprint(conn)
        return _clean_states[EXPORT_BATCH]

    return state
