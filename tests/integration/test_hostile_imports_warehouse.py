"""Hostile real-world exports through the warehouse: every line read is loaded or quarantined with file,
line and reason, Cyrillic from a Windows-1251 export lands as Cyrillic, and an unusable file lands nothing."""

from __future__ import annotations

import pytest

from client_dwh.__main__ import main
from client_dwh.landing import landing_root, list_landed_parts
from client_dwh.sources.formats.retail import COLUMNS
from client_dwh.warehouse.core import build_core_for_part
from client_dwh.warehouse.staging import load_partition

RETAIL_LINES = [
    ",".join(COLUMNS),
    "536365,85123A,ТЕСТ КИРИЛЛИЦА,6,2010-12-01 08:26:00,2.55,17850.0,Россия",
    "536365,71053,ЧАЙНИК ЭМАЛИРОВАННЫЙ,6,2010-12-01 08:26:00,3,75,17850.0,Россия",  # 9 fields
    "536366,22633,КРУЖКА,6,2010-12-01 08:28:00,1.85,13047.0,Россия",
    "536367,22634,ЛОЖКА,6,2010-13-45 08:28:00,1.85,13047.0,Россия",  # a bad date: core quarantines it
    "536368,22635,ВИЛКА,2",  # cut short
]


def _load_and_build(landing: str, batch: str) -> None:
    for part in list_landed_parts(landing_root(landing), batch):
        load_partition(part.to_xcom())
        build_core_for_part(part.to_xcom())


def test_cp1251_retail_export_with_ragged_lines_reconciles_in_the_warehouse(warehouse, landing, tmp_path):
    export = tmp_path / "online_retail_ru.csv"
    export.write_bytes(("\r\n".join(RETAIL_LINES) + "\r\n").encode("cp1251"))
    assert (
        main(["import-retail", str(export), "--batch", "shop-ru", "--rows-per-part", "3", "--out", landing])
        == 0
    )
    _load_and_build(landing, "shop-ru")

    lines_in_file = len(RETAIL_LINES) - 1
    read, staged, unchanged, staging_rejects = warehouse.execute(
        """select sum(rows_read), sum(rows_staged), sum(rows_unchanged), sum(rows_quarantined)
           from meta.partitions where batch_id = 'shop-ru'"""
    ).fetchone()
    assert read == lines_in_file == staged + unchanged + staging_rejects
    core = warehouse.execute(
        "select row_no, description, country from core.retail_lines order by row_no"
    ).fetchall()
    assert core == [(1, "ТЕСТ КИРИЛЛИЦА", "Россия"), (3, "КРУЖКА", "Россия")]  # no mojibake
    quarantined = warehouse.execute(
        """select line_no, reason, raw::jsonb ->> 'raw_line' from meta.quarantine
           where entity = 'retail_purchases' and batch_id = 'shop-ru' order by part_no, line_no"""
    ).fetchall()
    assert len(core) + len(quarantined) == lines_in_file  # rows read = loaded + quarantined
    reasons = [reason for _, reason, _ in quarantined]
    assert reasons[0].startswith("online_retail_ru.csv line 3: 9 fields where the header has 8")
    assert reasons[1] == "unparseable InvoiceDate '2010-13-45 08:28:00'"
    assert reasons[2].startswith("online_retail_ru.csv line 6: 4 fields where the header has 8")
    assert quarantined[0][2] == RETAIL_LINES[2] and quarantined[2][2] == RETAIL_LINES[5]


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04" + bytes(64), bytes(range(256))])
def test_an_unusable_export_lands_nothing(warehouse, landing, tmp_path, capsys, content):
    export = tmp_path / "broken.csv"
    export.write_bytes(content)
    assert main(["import-retail", str(export), "--out", landing]) == 1
    assert capsys.readouterr().err.startswith(f"error: {export}: ")
    assert list_landed_parts(landing_root(landing)) == []


def test_cp1251_crm_export_with_a_ragged_line_reconciles_in_the_warehouse(
    warehouse, landing, tmp_path, capsys
):
    import json

    lines = [
        "ФИО;Телефон;E-mail;crm_id;updated_at",
        "Иванов Иван;+7 (912) 345-67-89;ivanov@example.ru;1;2026-01-05",
        "Петров Пётр;89123456780;petrov@example.ru;2;2026-01-06;лишнее",  # a field too many
        ";89120000000;;3;2026-01-07",  # no name
        "иванов иван;8 912 345 67 89;;4;2026-01-08",  # the same client as line 2
        "Сидорова Анна;;anna@example.ru;5;2026-01-09",
    ]
    export = tmp_path / "crm.csv"
    export.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1251"))
    assert main(["import-crm", str(export), "--batch", "crm-ru", "--out", landing]) == 0
    out = capsys.readouterr().out
    stats = json.loads(next(line for line in out.splitlines() if line.startswith("{")))["crm_cleaning"]
    assert (stats["rows_in"], stats["clean"], stats["merged_away"], stats["quarantined"]) == (5, 2, 1, 2)
    _load_and_build(landing, "crm-ru")

    clean = warehouse.execute("select full_name, merged_rows from core.crm_clients order by 1").fetchall()
    assert clean == [("Иванов Иван", 2), ("Сидорова Анна", 1)]
    reasons = [
        reason
        for (reason,) in warehouse.execute(
            "select reason from meta.quarantine where entity = 'crm_clients' order by line_no"
        ).fetchall()
    ]
    assert len(reasons) == stats["quarantined"]
    assert sum(n for _, n in clean) + len(reasons) == len(lines) - 1  # every line: a client or quarantined
    assert any(r.endswith("crm.csv line 3: 6 fields where the header has 5: a value holds an unquoted ';'"
                          "; quote that value or use another delimiter") for r in reasons)  # fmt: skip
    assert "rejected by CRM cleaning: no_name" in reasons


def test_generate_sources_imports_a_cp1251_export_and_fails_at_once_on_an_unusable_one(warehouse, tmp_path):
    import datetime as dt
    import json
    import os
    import time
    from pathlib import Path

    from client_dwh.devtools.headless import get_dag

    export = tmp_path / "shop_ru.csv"
    export.write_bytes(("\r\n".join(RETAIL_LINES) + "\r\n").encode("cp1251"))
    dag = get_dag("generate_sources")
    run = dag.test(
        run_conf={"retail_export_path": str(export), "batch": "dag-shop-ru"},
        logical_date=dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
    )
    assert str(run.state).endswith("success")
    landed = Path(os.environ["LANDING_DIR"]) / "dag-shop-ru" / "part-0001" / "retail_purchases.jsonl"
    records = [json.loads(line) for line in landed.read_text(encoding="utf-8").splitlines()]
    assert len(records) == len(RETAIL_LINES) - 1  # every line, ragged ones included
    assert records[0]["Description"] == "ТЕСТ КИРИЛЛИЦА"
    assert [r["line_id"] for r in records if r["rejected_reason"]] == ["shop_ru:2", "shop_ru:5"]

    western = tmp_path / "western.csv"
    western.write_bytes(
        f"{RETAIL_LINES[0]}\n1,A,Café,1,2010-12-01 08:26:00,1.0,1.0,France\n".encode("cp1252")
    )
    run = dag.test(
        run_conf={"retail_export_path": str(western), "retail_export_encoding": "cp1252", "batch": "dag-fr"},
        logical_date=dt.datetime(2026, 11, 22, tzinfo=dt.UTC),
    )
    assert str(run.state).endswith("success")
    landed = Path(os.environ["LANDING_DIR"]) / "dag-fr" / "part-0001" / "retail_purchases.jsonl"
    assert json.loads(landed.read_text(encoding="utf-8"))["Description"] == "Café"

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    started = time.monotonic()
    run = dag.test(
        run_conf={"retail_export_path": str(empty), "batch": "dag-empty"},
        logical_date=dt.datetime(2026, 11, 21, tzinfo=dt.UTC),
    )
    assert str(run.state).endswith("failed")
    assert time.monotonic() - started < 50  # failed at once: no retry after the retry delay
    assert not (Path(os.environ["LANDING_DIR"]) / "dag-empty").exists()


def test_map_uploaded_clients_fails_at_once_on_a_binary_upload(tmp_path):
    import datetime as dt

    from client_dwh.devtools.headless import get_dag

    upload = tmp_path / "upload.xlsx"
    upload.write_bytes(b"PK\x03\x04" + bytes(200))
    run = get_dag("map_uploaded_clients").test(
        run_conf={"input_path": str(upload)}, logical_date=dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    )
    assert str(run.state).endswith("failed")
    assert [str(ti.state) for ti in run.get_task_instances()] == ["failed"]  # not up_for_retry
    assert not (tmp_path / "upload.portraits.csv").exists()
