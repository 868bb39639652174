"""Generated bank products and online-retail lines: plausible, in the export's shape, cut into parts right."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from client_dwh.sources.formats.retail import COLUMNS
from client_dwh.sources.retail_import import import_online_retail
from client_dwh.sources.synthetic.products import CATALOGUE, loan_product
from client_dwh.sources.synthetic.source_system import generate_source_system, split_into_parts

AS_OF = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def frames():
    return generate_source_system(2000, seed=5, as_of=AS_OF)


def test_products_per_client_fill_all_three_segments(frames):
    usage = frames["product_usage"]
    assert len(frames["products"]) == len(CATALOGUE) == 11
    assert usage["usage_id"].is_unique and usage["product_id"].isin(frames["products"]["product_id"]).all()
    assert (pd.to_datetime(usage["used_at"]) <= pd.Timestamp(AS_OF)).all()
    distinct = usage.groupby("client_id")["product_id"].nunique()
    shares = distinct.clip(upper=3).value_counts(normalize=True)
    assert shares.between(0.2, 0.45).all() and len(shares) == 3, shares
    assert usage.groupby(["client_id", "product_id"]).size().max() > 1  # repeated events of one product


def test_holdings_follow_loans_age_and_income(frames):
    clients, loans, usage = frames["clients"], frames["loans"], frames["product_usage"]
    anchor = pd.Timestamp(AS_OF.replace(day=1))  # the generator's world is anchored to the month's start
    age = (anchor - pd.to_datetime(clients.set_index("client_id")["birth_date"])).dt.days / 365.25
    expected = loan_product(
        loans["amount"].to_numpy(),
        loans["term_months"].to_numpy(),
        age.reindex(loans["client_id"]).to_numpy(),
    )
    held = set(zip(usage["client_id"], usage["product_id"], strict=True))
    assert all((c, p) in held for c, p in zip(loans["client_id"], expected, strict=True))
    holders = usage.drop_duplicates(["client_id", "product_id"]).merge(clients, on="client_id")
    income = holders.groupby("product_id")["income"].median()
    assert income["MORTGAGE"] > income["CONSUMER_LOAN"]
    assert income["INVESTMENT_ACCOUNT"] > clients["income"].median()
    holder_age = age.reindex(holders["client_id"]).to_numpy()
    mortgage_age = holder_age[(holders["product_id"] == "MORTGAGE").to_numpy()]
    assert ((mortgage_age >= 25) & (mortgage_age <= 55)).all()


def test_retail_lines_look_like_the_uci_export(frames):
    retail = frames["retail_purchases"]
    assert list(retail.columns) == [*COLUMNS, "source", "line_id"]
    assert all(retail[c].map(type).eq(str).all() for c in COLUMNS)
    known = retail["CustomerID"] != ""
    assert retail.loc[known, "CustomerID"].str.fullmatch(r"\d+\.0").all()
    assert 0.15 < (~known).mean() < 0.25
    cancelled = retail["InvoiceNo"].str.startswith("C")
    assert 0.01 < cancelled.mean() < 0.03
    assert (retail.loc[cancelled, "Quantity"].astype(int) < 0).all()
    assert (retail["UnitPrice"].astype(float) <= 0).sum() >= 3
    assert retail["InvoiceDate"].str.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}").all()
    assert retail["line_id"].is_unique and retail.drop(columns="line_id").duplicated().any()


def test_parts_carry_the_catalogue_and_follow_the_client(frames):
    for cumulative in (True, False):
        parts = split_into_parts(frames, 3, seed=5, cumulative=cumulative)
        assert all(len(p["products"]) == 11 for p in parts)
        for part in parts:
            assert part["product_usage"]["client_id"].isin(part["clients"]["client_id"]).all()
        retail_rows = [len(p["retail_purchases"]) for p in parts]
        if cumulative:
            assert retail_rows[-1] == len(frames["retail_purchases"])
        else:
            assert sum(retail_rows) == len(frames["retail_purchases"])


def test_import_keeps_raw_strings_and_splits_into_parts(tmp_path, landing):
    import gzip
    import json

    csv = tmp_path / "my export.csv.gz"
    with gzip.open(csv, "wt") as f:
        f.write("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n")
        f.write("536365,85123A,HOLDER ,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n")
        f.write("536366,22633,NA,6,2010-12-01 08:28:00,1.85,,United Kingdom\n")
        f.write("C536379,D,Discount,-1,2010-12-01 09:41:00,27.50,14527.0,NA\n")
    manifests = import_online_retail(csv, "b1", landing_url=landing, rows_per_part=2)
    assert [m["files"]["retail_purchases"]["rows"] for m in manifests] == [2, 1]
    part_file = Path(landing) / "b1" / "part-0001" / "retail_purchases.jsonl"
    records = [json.loads(line) for line in part_file.read_text(encoding="utf-8").splitlines()]
    assert records[0]["CustomerID"] == "17850.0" and records[0]["Description"] == "HOLDER "
    assert records[1]["CustomerID"] == "" and records[1]["Description"] == "NA"  # not NaN
    assert records[1]["line_id"] == "my_export:2" and records[1]["source"] == "my_export"
    with pytest.raises(ValueError, match="missing.csv: no such file"):  # CsvExportError: one line
        import_online_retail(tmp_path / "missing.csv", "b1", landing_url=landing)
    bad = tmp_path / "bad.csv"
    bad.write_text("InvoiceNo,Quantity\n1,2\n")
    with pytest.raises(ValueError, match="missing column"):
        import_online_retail(bad, "b2", landing_url=landing)
