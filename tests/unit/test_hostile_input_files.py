"""Users' files as other systems and Russian Excel write them, through the import and mapping commands.

Every file here is written by the test as bytes (cp1251, BOM, ragged, binary, empty). A file that cannot
be used is refused by the command line in one line naming the file and what to fix, with exit code 1
and nothing landed; a readable file is imported whole, its ragged lines kept with line and reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from client_dwh.__main__ import main
from client_dwh.portraits.catalogue import load_portraits
from client_dwh.portraits.upload import map_csv
from client_dwh.sources.formats.retail import COLUMNS

RETAIL_HEADER = ",".join(COLUMNS)
RETAIL_LINES = [
    "536365,85123A,ТЕСТ КИРИЛЛИЦА,6,2010-12-01 08:26:00,2.55,17850.0,Россия",
    "536365,71053,ЧАЙНИК,6,2010-12-01 08:26:00,3,75,17850.0,Россия",  # unquoted decimal comma: 9 fields
    "536366,22633,КРУЖКА,6,2010-12-01 08:28:00,1.85,13047.0,Россия",
]


def retail_bytes(encoding: str = "cp1251") -> bytes:
    return ("\r\n".join([RETAIL_HEADER, *RETAIL_LINES]) + "\r\n").encode(encoding)


def json_line(out: str) -> dict:
    """The command's JSON summary line (log lines may share stdout)."""
    return json.loads(next(line for line in out.splitlines() if line.startswith("{")))


def landed_records(landing: str) -> list[dict]:
    files = sorted(Path(landing).glob("*/part-*/retail_purchases.jsonl"))
    return [json.loads(line) for f in files for line in f.read_text(encoding="utf-8").splitlines()]


def test_cp1251_retail_export_with_a_ragged_line_lands_every_line(tmp_path, landing, capsys):
    export = tmp_path / "магазин.csv"
    export.write_bytes(retail_bytes("cp1251"))
    assert main(["import-retail", str(export), "--batch", "shop", "--source", "shop", "--out", landing]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert printed[-1] == {"source_file": "магазин.csv", "encoding": "cp1251", "delimiter": ",",
                           "rows_in_export": 3, "bad_lines": 1}  # fmt: skip
    records = landed_records(landing)
    assert [r["line_id"] for r in records] == ["shop:1", "shop:2", "shop:3"]  # file order, ragged one too
    assert records[0]["Description"] == "ТЕСТ КИРИЛЛИЦА" and records[0]["Country"] == "Россия"
    assert records[0]["UnitPrice"] == "2.55" and records[0]["rejected_reason"] is None
    ragged = records[1]
    assert ragged["rejected_reason"].startswith("магазин.csv line 3: 9 fields where the header has 8")
    assert "decimal comma" in ragged["rejected_reason"]
    assert ragged["raw_line"] == RETAIL_LINES[1] and ragged["InvoiceNo"] == ""


def test_a_clean_export_lands_the_same_records_as_before(tmp_path, landing):
    from client_dwh.sources.retail_import import import_online_retail

    clean = [RETAIL_HEADER, RETAIL_LINES[0], RETAIL_LINES[2]]
    export = tmp_path / "shop.csv"
    export.write_bytes(("\n".join(clean) + "\n").encode("utf-8-sig"))
    import_online_retail(export, "shop", landing_url=landing)
    records = landed_records(landing)
    assert [sorted(r) for r in records] == [sorted([*COLUMNS, "source", "line_id"])] * 2  # no extra keys
    assert records[0]["InvoiceNo"] == "536365"  # the BOM is not part of the first column name


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty; export the online-retail export again with its header line"),
        (b"PK\x03\x04" + bytes(100), "an Excel workbook or zip archive, not a CSV"),
        (bytes(range(256)) * 4, "not a text file (binary byte 0x00 at line 1"),
        (RETAIL_HEADER.encode() + b"\n", "only a header line, no data lines"),
        ("Инвойс,Количество\n1,2\n".encode("cp1251"), "line 1 (header): missing column(s) ['InvoiceNo'"),
        ("x,y\nCafé,1\n".encode("cp1252"), "neither UTF-8 nor Russian Windows-1251 text (line 2: byte 0xe9)"),
    ],
)
def test_import_retail_refuses_an_unusable_file_in_one_line(tmp_path, landing, capsys, content, message):
    export = tmp_path / "export.csv"
    export.write_bytes(content)
    assert main(["import-retail", str(export), "--out", landing]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith(f"error: {export}: ") and message in captured.err
    assert not any(Path(landing).iterdir())  # nothing landed


def test_import_retail_with_an_explicit_encoding_and_a_missing_file(tmp_path, landing, capsys):
    export = tmp_path / "western.csv"
    export.write_bytes(f"{RETAIL_HEADER}\n1,A,Café,1,2010-12-01 08:26:00,1.0,1.0,France\n".encode("cp1252"))
    assert main(["import-retail", str(export), "--encoding", "cp1252", "--out", landing]) == 0
    assert landed_records(landing)[0]["Description"] == "Café"
    capsys.readouterr()
    assert main(["import-retail", str(tmp_path / "nowhere.csv"), "--out", landing]) == 1
    assert (
        capsys.readouterr().err
        == f"error: {tmp_path / 'nowhere.csv'}: no such file (online-retail export); check the path\n"
    )


def crm_bytes(encoding: str) -> bytes:
    lines = [
        "ФИО;Телефон;E-mail;crm_id",
        "Иванов Иван;+7 (912) 345-67-89;ivanov@example.ru;1",
        "Петров Пётр;89123456780;petrov@example.ru;2;лишнее",  # a field too many
        ";89120000000;;3",  # no name: rejected by the cleaning
        "Сидорова Анна;;anna@example.ru;4",
    ]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


@pytest.mark.parametrize("encoding", ["cp1251", "utf-8-sig"])
def test_import_crm_keeps_a_ragged_line_as_a_rejected_row_and_counts_reconcile(
    tmp_path, landing, capsys, encoding
):
    export = tmp_path / "crm.csv"
    export.write_bytes(crm_bytes(encoding))
    assert main(["import-crm", str(export), "--batch", "crm-test", "--out", landing]) == 0
    summary = json_line(capsys.readouterr().out)
    assert summary["encoding"] == encoding and summary["delimiter"] == ";"
    stats = summary["crm_cleaning"]
    assert (stats["rows_in"], stats["clean"], stats["merged_away"], stats["quarantined"]) == (4, 2, 0, 2)
    assert stats["quarantine_reasons"] == {"no_name": 1, "ragged_line": 1}
    landed = Path(landing) / "crm-test" / "part-0001" / "crm_clients.jsonl"
    rows = [json.loads(line) for line in landed.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == stats["clean"] + stats["quarantined"]
    by_key = {row["client_key"]: row for row in rows}
    assert by_key["rejected:crm:1"]["rejected_reason"].startswith(
        "crm.csv line 3: 5 fields where the header has 4"
    )
    assert by_key["rejected:crm:1"]["raw_line"] == "Петров Пётр;89123456780;petrov@example.ru;2;лишнее"
    assert by_key["rejected:crm:2"]["rejected_reason"] == "no_name"
    clean_names = sorted(row["full_name"] for row in rows if not row["client_key"].startswith("rejected:"))
    assert clean_names == ["Иванов Иван", "Сидорова Анна"]
    assert {row["source_row"] for row in rows} == {0, 1, 2, 3}  # record numbers in the file, ragged included


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty; export the CRM export again"),
        (b"\x00\x01\x02\x03binary", "not a text file"),
    ],
)
def test_import_crm_refuses_an_unusable_file_in_one_line(tmp_path, landing, capsys, content, message):
    export = tmp_path / "crm.csv"
    export.write_bytes(content)
    assert main(["import-crm", str(export), "--out", landing]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {export}: ") and message in err and err.count("\n") == 1
    assert not any(Path(landing).iterdir())


def test_import_partners_reads_a_cp1251_catalogue(tmp_path, landing, capsys):
    catalogue = tmp_path / "partners.txt"
    catalogue.write_bytes("Автомойка «Блеск» [car_wash]\nЭкспресс-мойка - быстро\n".encode("cp1251"))
    assert main(["import-partners", str(catalogue), "--out", landing]) == 0
    assert json_line(capsys.readouterr().out)["rows"] == {"partner_services": 1}
    services = next(Path(landing).glob("*/part-0001/partner_services.jsonl")).read_text(encoding="utf-8")
    assert "Автомойка «Блеск»" in services and "Экспресс-мойка" in services


# --- portrait upload: files from Russian Excel ---------------------------------------------------------


@pytest.fixture(scope="module")
def catalogue():
    return load_portraits()


def excel_rows(catalogue, portrait_ids):
    """Rows as Russian Excel writes them: decimal commas, shares as percentages."""
    rows = []
    for number, portrait_id in enumerate(portrait_ids, start=1):
        cells = []
        for spec in catalogue.feature_specs:
            value = catalogue.portrait(portrait_id).prototype[spec.name]
            cells.append(f"{value * 100:g}%" if spec.kind == "share" else f"{value:g}".replace(".", ","))
        rows.append([f"клиент-{number}", *cells])
    return rows


def test_a_cp1251_semicolon_file_with_percent_shares_and_a_ragged_line_maps(tmp_path, catalogue):
    header = ["Client_ID", *catalogue.features]
    rows = excel_rows(catalogue, ["taxi_driver", "long_haul_trucker", "taxi_driver"])
    lines = [";".join(header), ";".join(rows[0]), ";".join([*rows[1], "лишнее"]), ";".join(rows[2])]
    source = tmp_path / "клиенты.csv"
    source.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1251"))
    target = tmp_path / "out.csv"

    stats = map_csv(source, target, catalogue)

    assert stats["rows_read"] == 3 == stats["rows_mapped"] + stats["rows_rejected"]
    assert (stats["rows_mapped"], stats["rows_rejected"]) == (2, 1)
    assert stats["rejections_by_check"] == {"ragged line": 1}
    assert stats["portrait_counts"]["taxi_driver"] == 2
    output = pd.read_csv(target, sep=";", dtype=str, keep_default_na=False)
    assert output["source_row"].tolist() == ["1", "2", "3"] and output["source_line"].tolist() == [
        "2",
        "3",
        "4",
    ]
    assert output["client_id"].tolist() == ["клиент-1", "", "клиент-3"]
    assert output.loc[1, "portrait_id"] == "" and output.loc[0, "portrait_id"] == "taxi_driver"
    assert output.loc[1, "error"].startswith(
        f"клиенты.csv line 3: {len(header) + 1} fields where the header has"
    )


def test_shares_as_percentages_and_a_share_out_of_range_says_how_to_write_it(tmp_path, catalogue):
    share = next(spec.name for spec in catalogue.feature_specs if spec.kind == "share")
    rows = excel_rows(catalogue, ["taxi_driver", "taxi_driver"])
    column = 1 + list(catalogue.features).index(share)
    rows[0][column] = "75 %"
    rows[1][column] = "75"
    source = tmp_path / "clients.csv"
    source.write_bytes(
        "\n".join(";".join(row) for row in [["client_id", *catalogue.features], *rows]).encode("utf-8")
    )
    map_csv(source, tmp_path / "out.csv", catalogue)
    output = pd.read_csv(tmp_path / "out.csv", sep=";", dtype=str, keep_default_na=False)
    assert output.loc[0, "error"] == ""
    assert output.loc[1, "error"] == f"{share} is outside [0, 1]: 75 (a share: write 0.75 or 75%)"


def test_map_portraits_cli_refusals_name_the_file_and_what_to_fix(tmp_path, capsys, monkeypatch):
    from client_dwh import config

    good = tmp_path / "clients.csv"
    good.write_text("client_id;age\n1;40\n", encoding="utf-8")
    for content, message in [
        (b"", "the file is empty"),
        (b"PK\x03\x04" + bytes(64), "an Excel workbook"),
        (b"client_id;age\n1;40\n", "line 1 (header): missing feature column(s)"),
    ]:
        source = tmp_path / "upload.csv"
        source.write_bytes(content)
        assert main(["map-portraits", str(source), str(tmp_path / "out.csv")]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: upload.csv: ") and message in err and err.count("\n") == 1

    monkeypatch.setattr(config, "PORTRAITS_FILE", str(tmp_path / "no-portraits.json"))
    assert main(["map-portraits", str(good), str(tmp_path / "out.csv")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'no-portraits.json'}: no such file; set PORTRAITS_FILE")
    assert err.count("\n") == 1

    cp1251 = tmp_path / "portraits.json"
    cp1251.write_bytes(Path(load_portraits().source_path).read_text(encoding="utf-8").encode("cp1251"))
    monkeypatch.setattr(config, "PORTRAITS_FILE", str(cp1251))
    assert main(["map-portraits", str(good), str(tmp_path / "out.csv")]) == 1
    err = capsys.readouterr().err
    assert (
        err.startswith(f"error: {cp1251}: line ")
        and "is not UTF-8" in err
        and "save the catalogue as UTF-8" in err
    )
    assert not (tmp_path / "out.csv").exists()


def test_the_dag_upload_names_the_users_path_not_its_temporary_copy(tmp_path, catalogue):
    from client_dwh.portraits.upload import UploadError, map_uploaded_csv

    source = tmp_path / "uploads" / "from-excel.csv"
    source.parent.mkdir()
    source.write_bytes(b"\x00\x01binary")
    with pytest.raises(UploadError) as refused:
        map_uploaded_csv(str(source), catalogue=catalogue)
    assert str(refused.value).startswith(f"{source}: not a text file") and "input.csv" not in str(
        refused.value
    )
    with pytest.raises(UploadError, match=r"nowhere\.csv: no such file; check input_path"):
        map_uploaded_csv(str(tmp_path / "nowhere.csv"), catalogue=catalogue)
    header = ["client_id", *catalogue.features]
    rows = excel_rows(catalogue, ["taxi_driver"])
    source.write_bytes(("\n".join([";".join(header), ";".join([*rows[0], "x"])]) + "\n").encode("cp1251"))
    result = map_uploaded_csv(str(source), catalogue=catalogue)
    mapped = pd.read_csv(result["output"], sep=";", dtype=str, keep_default_na=False)
    assert mapped.loc[0, "error"].startswith("from-excel.csv line 2: ")


def test_import_partners_refuses_an_empty_or_binary_catalogue(tmp_path, landing, capsys):
    catalogue = tmp_path / "partners.txt"
    for content, message in [(b"\n\n", "the file is empty; export the partner catalogue again\n"),
                             (b"\x00\x01", "not a text file")]:  # fmt: skip
        catalogue.write_bytes(content)
        assert main(["import-partners", str(catalogue), "--out", landing]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"error: {catalogue}: ") and message in err and err.count("\n") == 1
    assert not any(Path(landing).iterdir())


def test_import_retail_names_the_users_path_not_a_local_copy(tmp_path, landing):
    from client_dwh.sources.formats.csv_export import CsvExportError
    from client_dwh.sources.retail_import import import_online_retail

    copy = tmp_path / "client_dwh_x" / "export.csv"
    copy.parent.mkdir()
    copy.write_bytes(b"InvoiceNo;Quantity\n1;2\n")
    with pytest.raises(CsvExportError) as refused:
        import_online_retail(copy, "b1", landing_url=landing, name="s3://bucket/exports/export.csv")
    assert str(refused.value).startswith("s3://bucket/exports/export.csv: line 1 (header): missing column(s)")
