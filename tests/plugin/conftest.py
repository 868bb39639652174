"""Fixtures for the dashboards: small hand-made mart rows, Airflow users (admin, viewer) and their tokens.

The dashboards run against a real warehouse and Airflow metadata DB, set up on import (``tests/_warehouse.py``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import _warehouse
import psycopg
import pytest

_warehouse.set_up()  # a real warehouse and a migrated Airflow DB, before the tests import Airflow

PASSWORDS = {"admin": "admin-pass", "viewer": "viewer-pass"}
AS_OF = "2026-03-15"
IVANOV = ("Иванов Иван Иванович", "+79161234567")


def configure_users() -> None:
    """SimpleAuthManager users with roles, and their passwords in the file the manager reads."""
    os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] = "admin:admin,viewer:viewer"
    os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] = "False"
    os.environ.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", "client-analytics-tests-" + "0" * 64)
    home = Path(os.environ["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "simple_auth_manager_passwords.json.generated").write_text(json.dumps(PASSWORDS))


def fill_marts(conn: psycopg.Connection) -> None:
    """A few rows in every mart the dashboards show, plus their meta.mart_refresh entries."""
    bands = ["до 50 000", "50 000 – 100 000", "100 000 – 500 000", "500 000 и выше"]
    months = ["2026-01-01", "2026-02-01", "2026-03-01"]
    with conn.cursor() as cur:
        cur.executemany(
            "insert into mart.overdue_by_month values (%s, %s, 100, %s, %s, 1000000, 50000)",
            [(m, b, 5 + i + j, 5.0 + i + j) for i, m in enumerate(months) for j, b in enumerate(bands)],
        )
        cur.executemany(
            "insert into mart.portfolio_at_risk values (%s, %s, 500, 9000000, %s, %s, %s, %s)",
            [(m, m, 900000 + i, 300000 + i, 10.0 + i, 3.0 + i) for i, m in enumerate(months)],
        )
        notifications = [
            (AS_OF, 1, IVANOV[0], IVANOV[1], "L-001", 120, "90+", 150000, 1, "письмо", "просрочка 120 дн.")
        ] + [
            (AS_OF, 100 + n, f"Петров Пётр {n}", f"+7900000{n:04d}", f"L-{100 + n}", n + 1, "1-30", 1000 + n, 3,
             "SMS", f"просрочка {n + 1} дн.")
            for n in range(24)
        ]  # fmt: skip
        notifications.append(("2026-03-14", 7, "Старый Клиент Ильич", "+79990000000", "L-OLD", 3, "1-30", 10, 3,
                              "SMS", "вчерашний список"))  # fmt: skip
        cur.executemany(
            "insert into mart.overdue_notifications values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            notifications,
        )
        cur.executemany(
            "insert into mart.client_segments values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (1, IVANOV[0], 85000, 1, "1 продукт", "2026-03-01", ["Дебетовая карта"], "Кредитная карта",
                 "популярно в сегменте"),
                (2, "Петрова Анна Сергеевна", 120000, 2, "2 продукта", "2026-02-20", ["Вклад", "Ипотека"],
                 "Дебетовая карта", "популярно в сегменте"),
                (3, "Сидоров Пётр Ильич", 60000, 3, "3+ продуктов", None, ["Вклад", "Ипотека", "Кредит"], None,
                 None),
                (4, "Кузнецова Ольга Петровна", 40000, 1, "1 продукт", "2026-01-10", ["Вклад"],
                 "Дебетовая карта", "популярно в сегменте"),
            ],
        )  # fmt: skip
        cur.executemany(
            "insert into mart.segment_top_products values (%s, %s, %s, %s, %s, %s)",
            [(s, r, f"P{r}", f"Продукт {r}", 10 - r, 50.0 - r) for s in ("1 продукт", "2 продукта", "3+ продуктов")
             for r in (1, 2, 3)],
        )  # fmt: skip
        cur.executemany(
            "insert into mart.rfm values ('online_retail', %s, 'UK', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(f"C{n}", AS_OF, "2026-03-01", 14 + n, 1 + n % 5, 100 + n, 1 + n % 5, 1 + (n * 2) % 5, 1 + n % 3,
              f"{1 + n % 5}{1 + (n * 2) % 5}{1 + n % 3}", "Champions" if n % 2 else "At Risk")
             for n in range(10)],
        )  # fmt: skip
        cur.executemany(
            "insert into mart.rfm_segments values ('online_retail', %s, %s, %s, 30, 2.5, 500, %s)",
            [("Champions", 5, 50.0, 2500), ("At Risk", 5, 50.0, 1500)],
        )
        cur.execute(
            "insert into mart.rfm_settings values ('online_retail', %s, false, 12, 0, 340)", (AS_OF,)
        )  # duplicate lines counted (the default), 12 of them
        cur.executemany(
            "insert into mart.client_portraits values (%s, %s, %s, 0.3, %s, null, 'v1', 'sha', 'fh', now())",
            [(n, "commuter" if n % 2 else "family", "Коммутер" if n % 2 else "Семья", c)
             for n, c in enumerate([0.05, 0.2, 0.45, 0.5, 0.55, 0.7, 0.9, 0.95, 1.0, 0.33], start=1)],
        )  # fmt: skip
        cur.executemany(
            "insert into mart.portrait_distribution values (%s, %s, %s, %s, %s, %s)",
            [
                ("commuter", "Коммутер", 5, 50.0, 0.6, "кофе с собой"),
                ("family", "Семья", 5, 50.0, 0.55, "мойка"),
            ],
        )
        cur.executemany(
            "insert into mart.recommendations values (%s, %s, 'Партнёр', %s, %s, %s, 'similar clients', 'B', 'run-2')",
            [(c, f"S{r + c}", f"Услуга {r + c}", 1.0 / r, r) for c in (1, 2) for r in (1, 2, 3)],
        )
        cur.executemany(
            "insert into mart.recommender_metrics values (%s, %s, %s, 5, %s, 0.2, 0.1, %s, 0.5, 100, '{}')",
            [(f"run-{i}", f"2026-03-0{i} 10:00+00", v, 0.1 * i + (v == "B") * 0.05, 0.2 * i)
             for i in (1, 2) for v in ("A", "B")],
        )  # fmt: skip
        cur.executemany(
            "insert into mart.ab_test_results values ('run-2', 'partner-offers', %s, %s, 500, %s, %s, %s, %s, %s, %s)",
            [
                ("A", "popular", 50, 10.0, None, None, None, None),
                ("B", "hybrid", 65, 13.0, 3.0, 0.5, 5.5, 0.02),
            ],
        )
        cur.executemany(
            "insert into meta.mart_refresh values (%s, '2026-03-15 06:00+00', 'scheduled__2026-03-15', 'daily', 4, 12)",
            [(f"mart.{m}",) for m in ("overdue_by_month", "portfolio_at_risk", "overdue_notifications")],
        )
        cur.execute(
            "insert into meta.mart_refresh values ('client_segments', now(), 'manual__seg', 'daily', 2, 4)"
        )


@pytest.fixture(scope="module")
def marts(test_database):
    """The warehouse schema with the sample mart rows (module-scoped: the API tests only read)."""
    from client_dwh.warehouse.ddl import create_schema

    with psycopg.connect(test_database, autocommit=True) as conn:
        conn.execute("drop schema if exists staging, core, mart, mart_next, meta cascade")
        with conn.transaction():
            create_schema(conn)
            fill_marts(conn)
        yield conn
