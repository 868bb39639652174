"""Landing zone, uploads and exports on S3-protocol object storage (moto's server), reached only through
ObjectStoragePath with the configured connection: nothing local-only, no connection id stored."""

from __future__ import annotations

import datetime as dt
import gzip
import json

import pytest

pytest.importorskip("moto", reason="the scale extra is not installed (make install-scale)")
pytest.importorskip("s3fs", reason="the scale extra is not installed (make install-scale)")
pytest.importorskip(
    "airflow.providers.amazon", reason="the scale extra is not installed (make install-scale)"
)

from client_dwh import config  # noqa: E402
from client_dwh.devtools.scaleout import S3_BUCKET, S3_CONN_ID, S3_KEY, free_port  # noqa: E402
from client_dwh.landing import landing_root, list_landed_parts  # noqa: E402
from client_dwh.sources.synthetic.land import generate_and_land  # noqa: E402

# A connection whose credentials exist only in Airflow (not in the URL, not in AWS_* variables).
CONNECTION_ENV = f"AIRFLOW_CONN_{S3_CONN_ID.upper()}"


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint, monkeypatch):
    """A fresh bucket; the landing connection configured as LANDING_CONN_ID; yields a boto3 client."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_KEY,
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=S3_BUCKET)
    extra = {"endpoint_url": s3_endpoint, "region_name": "us-east-1"}
    monkeypatch.setenv(
        CONNECTION_ENV, json.dumps({"conn_type": "aws", "login": S3_KEY, "password": S3_KEY, "extra": extra})
    )
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(config, "LANDING_CONN_ID", S3_CONN_ID)
    # Airflow caches one filesystem per connection id: an earlier test's (its endpoint gone) must not serve
    monkeypatch.setattr("airflow.sdk.io.store._STORE_CACHE", {})
    yield client
    objects = client.list_objects_v2(Bucket=S3_BUCKET).get("Contents", [])
    for item in objects:
        client.delete_object(Bucket=S3_BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=S3_BUCKET)


def test_parts_on_object_storage_load_with_plain_urls_in_source_file(warehouse, s3):
    from client_dwh.warehouse.staging import load_partition

    landing_url = f"s3://{S3_BUCKET}/landing"
    generate_and_land(clients=40, parts=2, seed=3, batch="s3-batch", landing_url=landing_url)
    parts = list_landed_parts(landing_root(landing_url))
    assert [p.path for p in parts] == [
        f"{landing_url}/s3-batch/part-0001",
        f"{landing_url}/s3-batch/part-0002",
    ]

    stats = [load_partition(p.to_xcom(), run_id="s3-test") for p in parts]
    assert all(s["read"] == s["staged"] + s["unchanged"] + s["quarantined"] for s in stats)
    assert stats[0]["read"] == sum(parts[0].files[e]["rows"] for e in parts[0].files)
    source_files = {
        row[0] for row in warehouse.execute("select distinct source_file from staging.clients").fetchall()
    }
    assert source_files == {f"{p.path}/clients.jsonl" for p in parts}
    assert not any(S3_CONN_ID in name for name in source_files), source_files


def test_map_uploaded_clients_reads_and_writes_s3_with_the_landing_connection(s3):
    from client_dwh.portraits.catalogue import load_portraits
    from client_dwh.portraits.upload import map_uploaded_csv

    catalogue = load_portraits()
    prototype = catalogue.portrait(catalogue.ids[0]).prototype
    lines = [";".join(["client_id", *catalogue.features])]
    lines += [";".join([f"c{n}", *(f"{prototype[f]:g}" for f in catalogue.features)]) for n in range(3)]
    lines.append(";".join(["bad", *("x" for _ in catalogue.features)]))
    s3.put_object(Bucket=S3_BUCKET, Key="uploads/clients.csv", Body="\n".join(lines).encode())

    result = map_uploaded_csv(f"s3://{S3_BUCKET}/uploads/clients.csv")  # no conn_id: LANDING_CONN_ID

    assert result["output"] == f"s3://{S3_BUCKET}/uploads/clients.portraits.csv"
    assert (result["rows_read"], result["rows_mapped"], result["rows_rejected"]) == (4, 3, 1)
    written = s3.get_object(Bucket=S3_BUCKET, Key="uploads/clients.portraits.csv")["Body"].read().decode()
    rows = written.strip().splitlines()
    assert len(rows) == 5 and rows[-1].split(";")[0] == "4"  # header + every row, the bad one included
    assert f"{catalogue.features[0]} is not a number: 'x'" in rows[-1]


def test_generate_sources_imports_a_retail_export_from_s3(warehouse, s3, landing, monkeypatch):
    from client_dwh.devtools.headless import get_dag

    monkeypatch.setattr(config, "LANDING_URL", landing)
    header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
    rows = [
        f"5363{n},85123A,WHITE HANGING HEART,{n + 1},12/1/2010 8:26,2.55,1785{n}.0,United Kingdom"
        for n in range(5)
    ]
    body = gzip.compress(("\n".join([header, *rows]) + "\n").encode())
    s3.put_object(Bucket=S3_BUCKET, Key="exports/online_retail.csv.gz", Body=body)

    run = get_dag("generate_sources").test(
        run_conf={"retail_export_path": f"s3://{S3_BUCKET}/exports/online_retail.csv.gz"},
        logical_date=dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
    )

    assert str(run.state).endswith("success")
    parts = list_landed_parts(landing_root(landing), "retail-online_retail")
    assert [p.files["retail_purchases"]["rows"] for p in parts] == [5]
    manifest = json.loads(
        (landing_root(landing) / "retail-online_retail" / "part-0001" / "_manifest.json").read_text()
    )
    assert manifest["source_file"] == "online_retail.csv.gz" and manifest["rows_in_export"] == 5
