"""Station clients through staging and core to mart.client_portraits: accuracy against the planted truth,
incremental re-mapping, the threshold, and quarantine of bad visits."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from client_dwh.devtools.bench.portraits import warehouse_accuracy
from client_dwh.landing import GROUND_TRUTH_DIR, landing_root, list_landed_parts, write_partition
from client_dwh.portraits.catalogue import default_catalogue_path
from client_dwh.portraits.mapping import DEFAULT_THRESHOLD
from client_dwh.portraits.warehouse_mapping import map_client_portraits
from client_dwh.sources.synthetic.land import generate_and_land
from client_dwh.warehouse.core import build_core_for_part
from client_dwh.warehouse.marts import MartCheckFailed
from client_dwh.warehouse.staging import load_partition

AS_OF = dt.date(2026, 3, 15)
BATCH = "stations"
STATION_ENTITIES = ("clients", "station_clients", "station_visits")  # loans etc. would only cost time


def _stage_and_build_core(landing: str, batch: str | None = None) -> list[dict]:
    parts = [p.to_xcom() for p in list_landed_parts(landing_root(landing), batch)]
    for part in parts:
        load_partition(part)
        build_core_for_part(part)
    return parts


@pytest.fixture(scope="module")
def station_landing(tmp_path_factory):
    """~500 station clients (60 % of 850 bank clients) in two cumulative parts; landed once, read-only."""
    landing = str(tmp_path_factory.mktemp("stations"))
    generate_and_land(
        clients=850, parts=2, seed=5, batch=BATCH, as_of=AS_OF, landing_url=landing, entities=STATION_ENTITIES,
        with_ground_truth=True,
    )  # fmt: skip
    return landing


@pytest.fixture
def mapped(warehouse, station_landing):
    parts = _stage_and_build_core(station_landing)
    report = map_client_portraits(parts, run_id="first")
    return parts, report


def test_ground_truth_lands_beside_the_parts_but_is_never_loaded(mapped, station_landing):
    root = landing_root(station_landing)
    truth_files = sorted(p.name for p in (root / BATCH / GROUND_TRUTH_DIR).iterdir())
    assert truth_files == ["part-0001-portraits.jsonl", "part-0002-portraits.jsonl"]
    assert [p.part for p in list_landed_parts(root)] == [1, 2]
    assert all("portraits" not in json.dumps(p.files) for p in list_landed_parts(root))


def test_pipeline_fills_the_portrait_marts_accurately(mapped, warehouse, station_landing):
    parts, report = mapped
    station_clients = warehouse.execute("select count(*) from core.station_clients").fetchone()[0]
    assert 420 <= station_clients <= 600
    assert report["clients"] == station_clients
    assert report["remapped"]["everyone"] and report["remapped"]["clients"] == station_clients
    assert sum(report["portrait_counts"].values()) == station_clients

    metrics = warehouse_accuracy(BATCH, station_landing)
    assert metrics["n_missing_assignments"] == 0
    assert metrics["accuracy"] >= 0.9, metrics
    assert metrics["outliers_caught_share"] >= 0.7, metrics

    distribution = warehouse.execute(
        "select portrait_id, clients, share_pct from mart.portrait_distribution"
    ).fetchall()
    assert sum(c for _, c, _ in distribution) == station_clients
    assert 99.9 <= float(sum(s for _, _, s in distribution)) <= 100.1
    refreshed = dict(
        warehouse.execute(
            "select mart, row_count from meta.mart_refresh where mart like 'mart.%portrait%'"
        ).fetchall()
    )
    assert refreshed == {"mart.client_portraits": station_clients, "mart.portrait_distribution": 8}
    (stored,) = warehouse.execute("select scaler -> 'scaler' ->> 'type' from meta.portrait_models").fetchone()
    assert stored == "catalogue_spread"


def test_rerun_maps_nobody_and_a_changed_client_alone_is_remapped(mapped, warehouse, landing):
    parts, _ = mapped
    before = warehouse.execute("select client_id, mapped_at from mart.client_portraits order by 1").fetchall()
    again = map_client_portraits(parts, run_id="again")
    assert again["remapped"]["clients"] == 0 and not again["remapped"]["everyone"]
    assert (
        warehouse.execute("select client_id, mapped_at from mart.client_portraits order by 1").fetchall()
        == before
    )

    # One client comes back with a new visit of a different kind in a new part.
    client_id, last_visit = warehouse.execute(
        "select client_id, max(visited_at) from core.station_visits group by client_id order by 1 limit 1"
    ).fetchone()
    visit = {
        "visit_id": 1,
        "client_id": client_id,
        "station_id": 3,
        "visited_at": (last_visit - dt.timedelta(hours=1)).isoformat(),
        "amount": 30000.0,
        "fuel_grade": "AI-100",
        "bought_coffee": True,
        "paid_with_app": False,
    }
    write_partition(landing_root(landing), "late", 1, {"station_visits": pd.DataFrame([visit])})
    report = map_client_portraits(_stage_and_build_core(landing), run_id="changed")
    assert report["remapped"]["clients"] == 1
    assert report["remapped"]["reasons"] == ["0 new", "1 with changed features"]
    remapped = warehouse.execute(
        "select client_id from mart.client_portraits where mapped_at > %s", (max(m for _, m in before),)
    ).fetchall()
    assert remapped == [(client_id,)]


def test_changing_portraits_json_remaps_everyone(mapped, warehouse, tmp_path):
    parts, first = mapped
    catalogue = json.loads(default_catalogue_path().read_text(encoding="utf-8"))
    catalogue["portraits"][0]["prototype"]["age"] += 3
    changed_path = tmp_path / "portraits.json"
    changed_path.write_text(json.dumps(catalogue, ensure_ascii=False), encoding="utf-8")

    report = map_client_portraits(parts, run_id="new-catalogue", catalogue_path=changed_path)
    assert report["remapped"]["everyone"]
    assert report["remapped"]["clients"] == first["clients"]
    assert any("portraits.json changed" in reason for reason in report["remapped"]["reasons"])
    shas = warehouse.execute("select distinct catalogue_sha256 from mart.client_portraits").fetchall()
    assert shas == [(report["catalogue_sha256"],)]
    # Re-indenting the same content changes nothing.
    changed_path.write_text(json.dumps(catalogue, ensure_ascii=False, indent=4), encoding="utf-8")
    assert map_client_portraits(parts, catalogue_path=changed_path)["remapped"]["clients"] == 0


def test_threshold_changes_who_is_unassigned(mapped, warehouse):
    parts, first = mapped
    strict = map_client_portraits(parts, threshold=0.3, run_id="strict")
    assert strict["remapped"]["everyone"] and "threshold changed (1 -> 0.3)" in strict["remapped"]["reasons"]
    assert strict["unassigned_share"] > first["unassigned_share"] + 0.1
    relaxed = map_client_portraits(parts, threshold=DEFAULT_THRESHOLD, run_id="default")
    assert relaxed["portrait_counts"] == first["portrait_counts"]
    with pytest.raises(ValueError, match="threshold"):
        map_client_portraits(parts, threshold=0)


def test_bad_station_visits_are_quarantined(warehouse, landing):
    clients = pd.DataFrame(
        {"client_id": [1, 2], "full_name": ["А Б В", "Г Д Е"], "income": [50000, 60000],
         "birth_date": ["1980-01-01", "1990-05-05"]}
    )  # fmt: skip
    station_clients = pd.DataFrame(
        {"client_id": [1, 99], "distance_km": [3.5, 2.0], "home_station_id": [4, 4]}
    )
    visits = pd.DataFrame(
        {
            "visit_id": [10, 11, 12, 13, 14],
            "client_id": [1, 1, 1, 77, 1],
            "station_id": [4, 4, 4, 4, 4],
            "visited_at": ["2026-02-10T08:00:00", "2026-02-11T23:30:00", "2026-02-30T10:00:00",
                           "2026-02-12T09:00:00", "2026-02-13T09:00:00"],
            "amount": [1500.0, 2500.0, 1000.0, 900.0, -40.0],
            "fuel_grade": ["AI-95", "AI-100", "AI-92", "AI-92", "AI-92"],
            "bought_coffee": [True, False, False, False, False],
            "paid_with_app": [True, True, False, False, False],
        }
    )  # fmt: skip
    write_partition(
        landing_root(landing),
        "bad",
        1,
        {"clients": clients, "station_clients": station_clients, "station_visits": visits},
    )
    (part,) = _stage_and_build_core(landing)
    reasons = dict(
        warehouse.execute(
            "select raw::jsonb ->> coalesce(case entity when 'station_visits' then 'visit_id' end, 'client_id'), "
            "reason from meta.quarantine where layer = 'core' and entity like 'station%'"
        ).fetchall()
    )
    assert reasons == {
        "99": "station client is not a bank client 99",
        "12": "impossible visited_at 2026-02-30T10:00:00",
        "13": "visit by unknown station client 77",
        "14": "negative amount -40.0",
    }
    features = warehouse.execute(
        "select client_id, age, avg_check, visits_per_month, distance_km, uses_app, prefers_coffee, night_share, "
        "premium_fuel_share from core.station_client_features"
    ).fetchall()
    assert features == [(1, 46, 2000.0, 2.0, 3.5, 1.0, 0.5, 0.5, 0.5)]


def test_a_failed_check_keeps_the_previous_portrait_marts(mapped, warehouse):
    parts, _ = mapped
    # A stored mapping to a portrait the catalogue does not have (a hand edit, or a bug of an older
    # version): the next version carries it over, and the gate refuses it.
    (client,) = warehouse.execute("select min(client_id) from mart.client_portraits").fetchone()
    warehouse.execute(
        "update mart.client_portraits set portrait_id = 'P-ghost' where client_id = %s", (client,)
    )

    def state():
        return [
            warehouse.execute(f"select * from {table} order by 1").fetchall()
            for table in ("mart.client_portraits", "mart.portrait_distribution", "meta.mart_refresh")
        ]

    before = state()
    with pytest.raises(
        MartCheckFailed, match=r"include/sql/checks/portraits.sql: .*portraits_are_in_the_catalogue"
    ):
        map_client_portraits(parts, run_id="second")
    assert state() == before


def test_mapping_in_small_batches_publishes_the_same_mart(mapped, warehouse, monkeypatch):
    """The features stream through a server-side cursor batch by batch; the batch size changes nothing."""
    from client_dwh.portraits import warehouse_mapping

    parts, first = mapped
    columns = "client_id, portrait_id, distance, confidence, second_portrait_id, features_hash"
    in_one_batch = warehouse.execute(f"select {columns} from mart.client_portraits order by 1").fetchall()
    monkeypatch.setattr(warehouse_mapping, "FEATURE_BATCH_ROWS", 37)

    warehouse.execute("delete from meta.portrait_models")  # no stored model: everyone is mapped again
    again = map_client_portraits(parts, run_id="small batches")
    assert again["remapped"]["everyone"] and again["remapped"]["clients"] == len(in_one_batch) > 2 * 37
    assert (
        warehouse.execute(f"select {columns} from mart.client_portraits order by 1").fetchall()
        == in_one_batch
    )

    # Unmapped clients spread over several batches are all counted as new.
    warehouse.execute("delete from mart.client_portraits where client_id % 5 = 0")
    unmapped = (
        len(in_one_batch) - warehouse.execute("select count(*) from mart.client_portraits").fetchone()[0]
    )
    incremental = map_client_portraits(parts, run_id="new ones")
    assert incremental["remapped"]["clients"] == unmapped > 37
    assert incremental["remapped"]["reasons"] == [f"{unmapped} new", "0 with changed features"]
    assert (
        warehouse.execute(f"select {columns} from mart.client_portraits order by 1").fetchall()
        == in_one_batch
    )
