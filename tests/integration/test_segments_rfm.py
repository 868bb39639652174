"""Product segments and RFM against the real warehouse, with expectations computed by hand.

The retail CSV reproduces the real UCI export's quirks (IDs like 17850.0, empty CustomerID, a 'C'
cancellation with a negative quantity, zero and negative prices, a duplicate line, a quoted comma);
the product-usage part has repeated events of one product and records of unknown clients/products.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest
from _waiting import wait_for

from client_dwh.landing import landing_root, list_landed_parts, write_partition
from client_dwh.sources.retail_import import import_online_retail
from client_dwh.sources.synthetic.products import generate_products
from client_dwh.warehouse.core import build_core_for_part
from client_dwh.warehouse.marts import build_marts, check_marts, publish_marts
from client_dwh.warehouse.staging import load_partition

RETAIL_CSV = """\
InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom
536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom
536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom
536366,22633,HAND WARMER UNION JACK,6,2010-12-03 08:28:00,1.85,17850.0,United Kingdom
C536379,D,Discount,-1,2010-12-05 09:41:00,27.5,17850.0,United Kingdom
536370,22728,ALARM CLOCK BAKELIKE PINK,24,2010-12-08 08:45:00,3.75,12583.0,France
536371,22086,PAPER CHAIN KIT 50'S CHRISTMAS ,80,2010-12-08 09:00:00,2.55,,United Kingdom
536372,22632,HAND WARMER RED POLKA DOT,6,2010-12-09 09:01:00,1.85,13047.0,United Kingdom
536373,21730,GLASS STAR FROSTED T-LIGHT HOLDER,6,2010-12-09 09:02:00,4.25,13047.0,United Kingdom
536374,21258,VICTORIAN SEWING BOX LARGE,32,2010-12-09 09:09:00,10.95,15100.0,United Kingdom
536414,22139,,56,2010-12-09 11:52:00,0.0,,United Kingdom
536375,22139,RETROSPOT TEA SET,1,2010-12-09 12:00:00,0.0,13047.0,United Kingdom
536376,22114,HOT WATER BOTTLE TEA AND SYMPATHY,12,2010-12-10 10:00:00,3.45,14688.0,United Kingdom
A563185,B,Adjust bad debt,1,2010-12-10 14:50:00,-11062.06,,United Kingdom
536377,22114,BAD DATE,1,2010-13-45 10:00:00,3.45,14688.0,United Kingdom
536378,22114,BAD QUANTITY,two,2010-12-10 10:00:00,3.45,14688.0,United Kingdom
536380,22115,"HEART, WITH COMMA",-2,2010-12-10 11:00:00,2.1,14688.0,United Kingdom
"""
SOURCE = "shop"


def _load_and_build(batch: str, landing: str, as_of: str = "2026-11-20", rfm_as_of: str | None = None):
    for part in list_landed_parts(landing_root(landing), batch):
        load_partition(part.to_xcom())
        build_core_for_part(part.to_xcom())
    build_marts(as_of, rfm_as_of=rfm_as_of)
    _assert_quality_gate_passes(as_of)
    publish_marts(run_id="test", last_part=None)


def _assert_quality_gate_passes(as_of: str) -> None:
    """The DAG's check_marts gate must pass with every check true (it raises naming the false ones)."""
    results = check_marts(as_of)
    assert results and all(ok is True for ok in results.values()), results


@pytest.fixture
def retail_csv(tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text(RETAIL_CSV)
    return path


def test_rfm_from_an_export_with_the_real_files_quirks(warehouse, landing, retail_csv):
    manifests = import_online_retail(retail_csv, "retail-shop", landing_url=landing, rows_per_part=10)
    assert [m["files"]["retail_purchases"]["rows"] for m in manifests] == [10, 7]
    _load_and_build("retail-shop", landing)

    # Every line read is in core or in quarantine, with a reason.
    core = dict(
        warehouse.execute(
            "select coalesce(rfm_exclusion_reason, 'counts'), count(*) from core.retail_lines group by 1"
        ).fetchall()
    )
    assert core == {"counts": 8, "duplicate line": 1, "cancellation": 1, "no customer": 3,
                    "price <= 0": 1, "quantity <= 0": 1}  # fmt: skip
    quarantined = warehouse.execute(
        "select reason from meta.quarantine where entity = 'retail_purchases' order by line_no"
    ).fetchall()
    assert [r for (r,) in quarantined] == [
        "unparseable InvoiceDate '2010-13-45 10:00:00'",
        "unparseable Quantity 'two'",
    ]
    assert sum(core.values()) + len(quarantined) == len(RETAIL_CSV.splitlines()) - 1

    line = warehouse.execute(
        """select customer_id, description, is_cancellation, quantity from core.retail_lines
           where line_id in ('shop:1', 'shop:5', 'shop:7', 'shop:17') order by row_no"""
    ).fetchall()
    assert line == [
        ("17850", "WHITE HANGING HEART T-LIGHT HOLDER", False, 6),
        ("17850", "Discount", True, -1),
        (None, "PAPER CHAIN KIT 50'S CHRISTMAS ", False, 80),
        ("14688", "HEART, WITH COMMA", False, -2),
    ]

    # As of 2010-12-11 (the day after the last invoice). Several lines of one invoice count once, the
    # cancellation not at all; by default (the RFM specification) the exact-duplicate line counts too:
    # 17850 has 2 invoices worth 6*2.55+2*6*3.39+6*1.85.
    rfm = {
        row[0]: row[1:]
        for row in warehouse.execute(
            """select customer_id, as_of_date, recency_days, frequency, monetary, rfm_code, segment, country
               from mart.rfm where source = 'shop'"""
        ).fetchall()
    }
    as_of = dt.date(2010, 12, 11)
    assert rfm == {
        "17850": (as_of, 8, 2, Decimal("67.08"), "153", "can't lose them", "United Kingdom"),
        "12583": (as_of, 3, 1, Decimal("90.00"), "214", "hibernating", "France"),
        "13047": (as_of, 2, 2, Decimal("36.60"), "441", "loyal customers", "United Kingdom"),
        "15100": (as_of, 2, 1, Decimal("350.40"), "335", "need attention", "United Kingdom"),
        "14688": (as_of, 1, 1, Decimal("41.40"), "522", "potential loyalists", "United Kingdom"),
    }
    segments = warehouse.execute(
        "select sum(customers), sum(total_monetary) from mart.rfm_segments"
    ).fetchone()
    assert segments == (5, Decimal("585.48"))
    settings = warehouse.execute(
        """select source, exclude_duplicate_lines, duplicate_lines, duplicate_lines_excluded, lines_counted
           from mart.rfm_settings"""
    ).fetchall()
    assert settings == [("shop", False, 1, 0, 9)]

    # rfm_exclude_duplicate_lines: the repeated line counts once (6*2.55+6*3.39+6*1.85), and says so.
    build_marts("2026-11-20", rfm_exclude_duplicate_lines=True)
    publish_marts(run_id="test", last_part=None)
    monetary = warehouse.execute("select monetary from mart.rfm where customer_id = '17850'").fetchone()
    assert monetary == (Decimal("46.74"),)
    assert warehouse.execute("select sum(total_monetary) from mart.rfm_segments").fetchone() == (
        Decimal("565.14"),
    )
    settings = warehouse.execute(
        """select source, exclude_duplicate_lines, duplicate_lines, duplicate_lines_excluded, lines_counted
           from mart.rfm_settings"""
    ).fetchall()
    assert settings == [("shop", True, 1, 1, 8)]

    # An earlier as-of date only counts purchases before it.
    build_marts("2026-11-20", rfm_as_of="2010-12-09")
    publish_marts(run_id="test", last_part=None)
    assert warehouse.execute("select customer_id, recency_days from mart.rfm order by 1").fetchall() == [
        ("12583", 1),
        ("17850", 6),
    ]

    # Importing the same file again lands nothing new and loads nothing twice.
    again = import_online_retail(retail_csv, "retail-shop", landing_url=landing, rows_per_part=10)
    assert [m["created_at"] for m in again] == [m["created_at"] for m in manifests]
    for part in list_landed_parts(landing_root(landing), "retail-shop"):
        assert load_partition(part.to_xcom())["skipped"]


def _usage(rows):
    frame = pd.DataFrame(rows, columns=["client_id", "product_id", "used_at"])
    frame.insert(0, "usage_id", range(1, len(frame) + 1))
    frame["event"] = "use"
    return frame


def test_client_segments_count_distinct_products_and_suggest_the_segments_favourite(warehouse, landing):
    clients = pd.DataFrame(
        {
            "client_id": [1, 2, 3, 4, 5, 6, 7],
            "full_name": [f"Клиент {i}" for i in range(1, 8)],
            "income": [50_000, 60_000, 70_000, 80_000, 90_000, 100_000, 110_000],
        }
    )
    usage = _usage(
        [
            (1, "CREDIT_CARD", "2024-01-10"), (1, "CREDIT_CARD", "2024-03-05"), (1, "CREDIT_CARD", "2024-02-01"),
            (2, "CREDIT_CARD", "2024-01-01"), (2, "CONSUMER_LOAN", "2024-02-01"), (2, "CONSUMER_LOAN", "2024-03-01"),
            (3, "CREDIT_CARD", "2024-01-01"), (3, "DEBIT_CARD", "2024-01-02"), (3, "DEPOSIT_12M", "2024-01-03"),
            (4, "CONSUMER_LOAN", "2024-01-01"),
            (5, "DEBIT_CARD", "2024-01-01"), (5, "CONSUMER_LOAN", "2024-01-01"),
            (7, "CREDIT_CARD", "2024-01-01"), (7, "MORTGAGE", "2024-05-01"),
            (99, "CREDIT_CARD", "2024-01-01"),  # unknown client
            (1, "GOLD_BAR", "2024-01-01"),  # unknown product
            (2, "DEBIT_CARD", "2024-02-30"),  # impossible date
        ]
    )  # fmt: skip
    root = landing_root(landing)
    write_partition(
        root, "bank", 1, {"clients": clients, "products": generate_products(), "product_usage": usage}
    )
    _load_and_build("bank", landing)

    reasons = warehouse.execute(
        "select reason from meta.quarantine where entity = 'product_usage' order by line_no"
    ).fetchall()
    assert [r for (r,) in reasons] == [
        "usage by unknown client 99",
        "usage of unknown product GOLD_BAR",
        "impossible used_at 2024-02-30",
    ]
    ((core_rows,),) = warehouse.execute("select count(*) from core.product_usage").fetchall()
    assert core_rows + len(reasons) == len(usage)

    got = {
        row[0]: row[1:]
        for row in warehouse.execute(
            """select client_id, usage_count, client_segment, last_product_usage_date, products,
                      suggested_product, suggestion_reason, client_name, client_revenue
               from mart.client_segments"""
        ).fetchall()
    }
    assert set(got) == {1, 2, 3, 4, 5, 7}  # client 6 used no product: not in the mart
    assert got[1][:6] == (1, "1 продукт", dt.date(2024, 3, 5), ["Кредитная карта"], "Потребительский кредит",
                          "держат 50 % клиентов сегмента «1 продукт»")  # fmt: skip
    assert got[4][3:5] == (["Потребительский кредит"], "Кредитная карта")
    assert got[2][:2] == (2, "2 продукта")
    assert got[2][4:6] == ("Дебетовая карта", "держат 33 % клиентов сегмента «2 продукта»")
    assert got[5][4:6] == ("Кредитная карта", "держат 67 % клиентов сегмента «2 продукта»")
    assert got[7][4:6] == ("Потребительский кредит", "держат 67 % клиентов сегмента «2 продукта»")
    assert got[3][:2] == (3, "3+ продуктов") and got[3][4:6] == (None, None)  # holds all its segment has
    assert got[1][6:] == ("Клиент 1", Decimal("50000.00"))

    top = warehouse.execute(
        """select product_rank, product_id, clients, share_pct from mart.segment_top_products
           where client_segment = '2 продукта' order by product_rank"""
    ).fetchall()
    assert top == [
        (1, "CONSUMER_LOAN", 2, Decimal("66.67")),
        (2, "CREDIT_CARD", 2, Decimal("66.67")),
        (3, "DEBIT_CARD", 1, Decimal("33.33")),
        (4, "MORTGAGE", 1, Decimal("33.33")),
    ]


def test_dags_import_an_export_and_build_segments_from_generated_data(warehouse, retail_csv, tmp_path):
    from client_dwh.devtools.headless import get_dag

    def run(dag_id: str, conf: dict, hour: int) -> str:
        logical_date = dt.datetime(2026, 11, 20, hour, tzinfo=dt.UTC)
        return str(get_dag(dag_id).test(run_conf=conf, logical_date=logical_date).state)

    assert run("generate_sources", {"retail_export_path": str(tmp_path / "nope.csv")}, 1).endswith("failed")
    assert run("generate_sources", {"retail_export_path": str(retail_csv)}, 2).endswith("success")
    assert run("generate_sources", {"clients": 300, "parts": 2, "seed": 3, "batch": "segments"}, 3).endswith(
        "success"
    )
    for hour, batch in ((4, "retail-shop"), (5, "segments")):
        conf = {"batch": batch, "wait_timeout_seconds": 0, "rfm_as_of_date": None}
        assert run("dwh_pipeline", conf, hour).endswith("success")

    rfm = dict(warehouse.execute("select source, count(*) from mart.rfm group by source").fetchall())
    assert rfm == {"shop": 5, "synthetic": 150}
    synthetic_segments = warehouse.execute(
        "select count(*) from mart.rfm_segments where source = 'synthetic'"
    ).fetchone()[0]
    assert synthetic_segments == 10  # every segment of the R/F map shows up
    shares = dict(
        warehouse.execute(
            "select client_segment, count(*) * 1.0 / sum(count(*)) over () from mart.client_segments group by 1"
        ).fetchall()
    )
    assert set(shares) == {"1 продукт", "2 продукта", "3+ продуктов"}
    assert all(0.2 <= share <= 0.45 for share in shares.values()), shares


def test_the_quality_gate_waits_for_another_runs_build_of_the_marts(
    warehouse, test_database, landing, retail_csv
):
    """Two runs at once: one run's check_marts must not read mart_next while another run's build_marts
    replaces it. The gate takes the marts' lock as the build does (here a transaction of the test holds it,
    as a build in progress would), runs once the build is done, and passes."""
    import threading

    import psycopg

    from client_dwh.warehouse import marts

    import_online_retail(retail_csv, "retail-shop", landing_url=landing, rows_per_part=10)
    _load_and_build("retail-shop", landing)

    outcome: dict = {}

    def gate() -> None:
        try:
            outcome["checks"] = check_marts("2026-11-20")
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = exc

    with psycopg.connect(test_database) as build:
        marts.lock_group(build, marts.LOAN_MARTS)  # an open transaction, like another run's build_marts
        gating = threading.Thread(target=gate)
        gating.start()
        waiting = "select count(*) from pg_locks where locktype = 'advisory' and not granted"
        wait_for(lambda: warehouse.execute(waiting).fetchone() != (0,), "the gate to wait for the lock", 60)
        assert warehouse.execute(waiting).fetchone() == (1,) and gating.is_alive()  # the gate waits
        build.rollback()  # the build is done
    gating.join(60)
    assert not gating.is_alive() and "error" not in outcome, outcome
    assert outcome["checks"] and all(ok is True for ok in outcome["checks"].values())
