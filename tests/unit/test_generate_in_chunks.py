"""A population generated in several chunks (the chunk size made small) lands as one consistent world:
natural keys unique, every reference resolving, cumulative parts growing and delta parts adding up to
the last cumulative one - the same output whether the chunks come from a pool of processes or not."""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import pytest

from client_dwh.landing import landing_root, list_landed_parts, read_verified_files
from client_dwh.sources.synthetic import land, source_system
from client_dwh.sources.synthetic.land import generate_and_land

AS_OF = dt.date(2026, 11, 20)
CLIENTS, CHUNK, PARTS = 600, 200, 3
KEYS = {
    "clients": ["client_id"],
    "loans": ["loan_id"],
    "payments": ["loan_id", "instalment_no"],
    "products": ["product_id"],
    "product_usage": ["usage_id"],
    "retail_purchases": ["line_id"],
    "partner_services": ["service_id"],
    "service_interactions": ["interaction_id"],
    "station_clients": ["client_id"],
    "station_visits": ["visit_id"],
}


def _read(landing: str, batch: str) -> list[dict[str, pd.DataFrame]]:
    parts = list_landed_parts(landing_root(landing), batch)
    return [
        {
            entity: pd.read_json(io.BytesIO(body), lines=True, dtype=False, convert_dates=False)
            for entity, body in read_verified_files(part.to_xcom()).items()
        }
        for part in parts
    ]


def _keys(frame: pd.DataFrame, entity: str) -> set:
    return set(frame[KEYS[entity]].itertuples(index=False, name=None))


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    """The same 600 clients in chunks of 200, landed cumulative (by a pool, and in-process) and delta."""
    landing = str(tmp_path_factory.mktemp("chunks"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(source_system, "GENERATE_CHUNK_CLIENTS", CHUNK)
        common = {"clients": CLIENTS, "parts": PARTS, "seed": 3, "as_of": AS_OF, "landing_url": landing}
        manifests = {"cumulative": generate_and_land(batch="cumulative", **common)}
        patch.setattr(land.os, "sched_getaffinity", lambda pid: {0})  # one process: chunks in-process
        manifests["serial"] = generate_and_land(batch="serial", **common)
        manifests["delta"] = generate_and_land(batch="delta", cumulative=False, **common)
    return landing, manifests


@pytest.fixture(scope="module")
def cumulative(landed):
    return _read(landed[0], "cumulative")


@pytest.fixture(scope="module")
def delta(landed):
    return _read(landed[0], "delta")


def test_the_population_really_spans_several_chunks():
    assert len(source_system.population_chunks(CLIENTS, 3)) == 1
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(source_system, "GENERATE_CHUNK_CLIENTS", CHUNK)
        chunks = source_system.population_chunks(CLIENTS, 3)
    assert [c.n_clients for c in chunks] == [200, 200, 200]
    assert len({c.seed for c in chunks}) == 3


def test_a_pool_of_processes_lands_what_one_process_lands(landed):
    _, manifests = landed
    assert [m["files"] for m in manifests["cumulative"]] == [m["files"] for m in manifests["serial"]]


def test_keys_are_unique_and_every_reference_resolves(cumulative):
    last = cumulative[-1]
    for entity, frame in last.items():
        assert not frame.duplicated(KEYS[entity]).any(), entity
    clients = set(last["clients"]["client_id"])
    assert len(clients) > CLIENTS  # the month's new clients of every chunk too
    assert set(last["loans"]["client_id"]) <= clients
    assert set(last["payments"]["loan_id"]) <= set(last["loans"]["loan_id"])
    for entity in ("product_usage", "service_interactions", "station_clients"):
        assert set(last[entity]["client_id"]) <= clients, entity
    assert set(last["station_visits"]["client_id"]) <= set(last["station_clients"]["client_id"])
    assert set(last["service_interactions"]["service_id"]) <= set(last["partner_services"]["service_id"])
    assert set(last["product_usage"]["product_id"]) <= set(last["products"]["product_id"])
    # Shop customers and invoices of every chunk stay apart.
    retail = last["retail_purchases"]
    customers = retail[retail["CustomerID"] != ""].groupby("CustomerID")["Country"].nunique()
    assert (customers == 1).all()
    assert (retail.groupby("InvoiceNo")["CustomerID"].nunique() == 1).all()


def test_cumulative_parts_grow_and_carry_every_client_at_its_latest_version(cumulative, delta):
    for earlier, later in zip(cumulative, cumulative[1:], strict=False):
        for entity in KEYS:
            assert _keys(earlier[entity], entity) <= _keys(later[entity], entity), entity
    versions = pd.concat([part["clients"] for part in delta], ignore_index=True).drop_duplicates(
        "client_id", keep="last"
    )
    latest = cumulative[-1]["clients"].sort_values("client_id", ignore_index=True)
    pd.testing.assert_frame_equal(
        latest, versions.sort_values("client_id", ignore_index=True)[latest.columns]
    )
    assert len(versions) < sum(
        len(part["clients"]) for part in delta
    )  # later delta parts bring new versions of earlier clients


def test_delta_parts_add_up_to_the_last_cumulative_part(cumulative, delta):
    for entity in KEYS:
        union = set().union(*(_keys(part[entity], entity) for part in delta))
        assert union == _keys(cumulative[-1][entity], entity), entity
        if entity not in ("clients", "products", "partner_services"):
            assert sum(len(part[entity]) for part in delta) == len(cumulative[-1][entity]), entity
