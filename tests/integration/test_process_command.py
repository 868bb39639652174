"""`python -m client_dwh process`: a user imports a real export, then processes what has landed —
without the UI and without generating anything."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from client_dwh.__main__ import main

# As the UCI spreadsheet exports it: month-first dates, float customer ids, a cancellation, a line
# without a customer, a zero price, and a line whose quantity is not a number.
EXPORT = """\
InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850.0,United Kingdom
536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850.0,United Kingdom
536366,22633,HAND WARMER UNION JACK,6,12/3/2010 8:28,1.85,17850.0,United Kingdom
C536379,D,Discount,-1,12/5/2010 9:41,27.5,17850.0,United Kingdom
536370,22728,ALARM CLOCK BAKELIKE PINK,24,12/8/2010 8:45,3.75,12583.0,France
536371,22086,PAPER CHAIN KIT 50'S CHRISTMAS ,80,12/8/2010 9:00,2.55,,United Kingdom
536375,22139,RETROSPOT TEA SET,1,12/9/2010 12:00,0,13047.0,United Kingdom
536376,22114,HOT WATER BOTTLE TEA AND SYMPATHY,12,12/10/2010 10:00,3.45,14688.0,United Kingdom
536378,22114,BAD QUANTITY,two,12/10/2010 10:00,3.45,14688.0,United Kingdom
"""


def test_import_retail_then_process_builds_rfm(warehouse, tmp_path, capsys):
    export = tmp_path / "online_retail.csv"
    export.write_text(EXPORT)
    assert main(["import-retail", str(export), "--batch", "retail-process-test"]) == 0

    assert main(["process", "--batch", "retail-process-test", "--as-of", "2026-11-20"]) == 0
    printed = capsys.readouterr().out
    assert "Rows per table:" in printed
    assert "DAG runs: {'dwh_pipeline': 'success', 'recommend_services': " in printed

    # Every line is accounted for: in core (with its RFM exclusion, if any) or quarantined with a reason.
    read, staged, unchanged, quarantined = warehouse.execute(
        """select sum(rows_read), sum(rows_staged), sum(rows_unchanged), sum(rows_quarantined)
           from meta.partitions where batch_id = 'retail-process-test'"""
    ).fetchone()
    assert read == len(EXPORT.splitlines()) - 1 == staged + unchanged + quarantined
    reasons = warehouse.execute(
        "select reason from meta.quarantine where entity = 'retail_purchases' order by line_no"
    ).fetchall()
    assert reasons == [("unparseable Quantity 'two'",)]

    # RFM as of the day after the last invoice (10 Dec 2010): 17850 has two invoices (the cancellation
    # does not count), 6*2.55 + 6*3.39 + 6*1.85 = 46.74; 13047's only line has a zero price.
    rfm = warehouse.execute(
        "select customer_id, as_of_date, recency_days, frequency, monetary from mart.rfm order by 1"
    ).fetchall()
    as_of = dt.date(2010, 12, 11)
    assert rfm == [
        ("12583", as_of, 3, 1, Decimal("90.00")),
        ("14688", as_of, 1, 1, Decimal("41.40")),
        ("17850", as_of, 8, 2, Decimal("46.74")),
    ]
    # Processing again finds nothing new: success, nothing changes.
    assert main(["process", "--batch", "retail-process-test"]) == 0
    assert "No new parts of batch retail-process-test" in capsys.readouterr().out
    assert warehouse.execute("select count(*) from mart.rfm").fetchone() == (3,)
