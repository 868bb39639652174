"""The shared reader of users' CSV exports, on files written the way other systems and Russian Excel write them."""

from __future__ import annotations

import gzip

import pytest

from client_dwh.sources.formats.csv_export import CsvExportError, read_csv_export

RUSSIAN_EXCEL = "Клиент;Город;Цена\nТЕСТ КИРИЛЛИЦА;Россия, Москва;3,75\nИванов Пётр;Казань;12,5\n"


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_windows_1251_from_russian_excel_is_read_as_cyrillic(tmp_path):
    export = read_csv_export(write(tmp_path, "clients.csv", RUSSIAN_EXCEL.encode("cp1251")))
    assert (export.encoding, export.delimiter) == ("cp1251", ";")
    assert export.header == ["Клиент", "Город", "Цена"]
    assert export.rows == [["ТЕСТ КИРИЛЛИЦА", "Россия, Москва", "3,75"], ["Иванов Пётр", "Казань", "12,5"]]
    assert export.lines == [2, 3] and export.records == [1, 2] and export.bad == []


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (RUSSIAN_EXCEL.encode("utf-8"), "utf-8"),
        (RUSSIAN_EXCEL.encode("utf-8-sig"), "utf-8-sig"),  # Excel's "CSV UTF-8" starts with a BOM
        (RUSSIAN_EXCEL.replace(";", "\t").encode("utf-16"), "utf-16"),  # Excel's "Unicode text"
        (gzip.compress(RUSSIAN_EXCEL.encode("utf-8")), "utf-8"),
    ],
)
def test_utf8_with_or_without_bom_utf16_and_gzip_read_the_same(tmp_path, data, encoding):
    export = read_csv_export(write(tmp_path, "clients.csv", data))
    assert export.encoding == encoding
    assert export.header == ["Клиент", "Город", "Цена"]  # no BOM left in the first column name
    assert export.rows[0] == ["ТЕСТ КИРИЛЛИЦА", "Россия, Москва", "3,75"]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiter_is_taken_from_the_header_not_from_decimal_commas(tmp_path, delimiter):
    body = delimiter.join(["client_id", "avg_check", "note"]) + "\n"
    # Decimal commas in every data line: with ';' or tab they must not be taken for the delimiter.
    value = "1,5" if delimiter != "," else '"1,5"'
    body += delimiter.join(["c1", value, "x"]) + "\n" + delimiter.join(["c2", "2", "y"]) + "\n"
    export = read_csv_export(write(tmp_path, "clients.csv", body.encode()))
    assert export.delimiter == delimiter
    assert export.rows == [["c1", "1,5", "x"], ["c2", "2", "y"]]


def test_ragged_lines_are_returned_with_line_and_reason_and_every_other_line_is_read(tmp_path):
    body = (
        "InvoiceNo,Description,UnitPrice\n"
        "1,CUP,2.55\n"
        "2,PLATE,3,75\n"  # an unquoted decimal comma: one field too many
        "\n"  # a blank line is no record
        '3,"MULTI\nLINE",1.0\n'  # a quoted value spanning two lines is one record
        "4,SHORT\n"  # one field too few
        "5,BOWL,4.2\n"
    )
    export = read_csv_export(write(tmp_path, "shop.csv", body.encode()))
    assert export.rows == [["1", "CUP", "2.55"], ["3", "MULTI\nLINE", "1.0"], ["5", "BOWL", "4.2"]]
    assert export.lines == [2, 5, 8] and export.records == [1, 3, 5]
    assert [(bad.line, bad.record, bad.text) for bad in export.bad] == [
        (3, 2, "2,PLATE,3,75"),
        (7, 4, "4,SHORT"),
    ]
    assert export.bad[0].reason.startswith("shop.csv line 3: 4 fields where the header has 3")
    assert "decimal comma" in export.bad[0].reason and "quote that value" in export.bad[0].reason
    assert export.bad[1].reason.startswith("shop.csv line 7: 2 fields where the header has 3")
    assert "no value for 'UnitPrice'" in export.bad[1].reason
    assert export.records_read == len(export.rows) + len(export.bad) == 5
    assert export.blank_lines == 1


def test_an_unclosed_quote_costs_its_own_line_only(tmp_path):
    body = 'a,b\n"x,1\n2,3\n4,5\n'
    export = read_csv_export(write(tmp_path, "q.csv", body.encode()))
    assert export.rows == [["2", "3"], ["4", "5"]] and export.lines == [3, 4]
    assert [(bad.line, bad.text) for bad in export.bad] == [(2, '"x,1')]
    assert "never closes" in export.bad[0].reason


def test_an_explicit_encoding_wins(tmp_path):
    path = write(tmp_path, "w.csv", "name,city\nCafé,Zürich\n".encode("cp1252"))
    with pytest.raises(CsvExportError) as refused:
        read_csv_export(path)  # Western European bytes are not guessed: cp1251 would store "Cafй"
    assert str(refused.value).startswith(f"{path}: neither UTF-8 nor Russian Windows-1251 text (line 2")
    assert "--encoding" in str(refused.value)
    assert read_csv_export(path, encoding="cp1252").rows == [["Café", "Zürich"]]
    cyrillic = write(tmp_path, "r.csv", RUSSIAN_EXCEL.encode("cp1251"))
    with pytest.raises(CsvExportError, match=r"not utf-8 \(line 1: byte 0xca\)"):
        read_csv_export(cyrillic, encoding="utf-8")
    with pytest.raises(CsvExportError, match="unknown encoding 'klingon'"):
        read_csv_export(cyrillic, encoding="klingon")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty; export the retail export again with its header line"),
        (b"\n\r\n  \n", "the file is empty"),
        (b"InvoiceNo,Quantity\n", "only a header line, no data lines"),
        (
            b"PK\x03\x04\x14\x00\x06\x00" + bytes(200),
            "an Excel workbook or zip archive, not a CSV; save it from Excel",
        ),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "not a text file (binary byte 0x1a at line 2"),
        (b"\x1f\x8b\x08\x00broken", "a damaged gzip file"),
        # UTF-8 with one stray byte: read as cp1251 it would store "РўР•РЎРў" for "ТЕСТ"
        ("a;b\nТЕСТ;Россия\n".encode() + b"\xff;x\n", "UTF-8 text with a byte that is not UTF-8 (line 3"),
    ],
)
def test_unreadable_files_are_refused_in_one_line_naming_the_file(tmp_path, data, message):
    path = write(tmp_path, "export.csv", data)
    with pytest.raises(CsvExportError) as refused:
        read_csv_export(path, what="retail export")
    text = str(refused.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text


def test_a_missing_file_and_bytes_with_a_display_name(tmp_path):
    with pytest.raises(CsvExportError, match=r"missing\.csv: no such file"):
        read_csv_export(tmp_path / "missing.csv")
    export = read_csv_export(b"a;b\n1;2\n", name="s3://bucket/upload.csv")
    assert export.name == "s3://bucket/upload.csv" and export.rows == [["1", "2"]]


@pytest.mark.parametrize(
    ("garbled", "repaired"),
    [
        ("ÒÅÑÒ ÊÈÐÈËËÈÖÀ", "ТЕСТ"),  # Windows-1251 once read as Latin-1 (today's import-retail fallback)
        ("РўР•РЎРў", "ТЕСТ"),  # UTF-8 once read as Windows-1251
    ],
)
def test_utf8_text_that_already_holds_garbled_cyrillic_is_refused(tmp_path, garbled, repaired):
    path = write(tmp_path, "garbled.csv", f"name;country\nok;Россия\n{garbled};x\n".encode())
    with pytest.raises(CsvExportError) as refused:
        read_csv_export(path)
    assert str(refused.value).startswith(f"{path}: line 3: ")
    assert f"is Cyrillic garbled by a wrong encoding ('{repaired}')" in str(refused.value)
    assert read_csv_export(path, encoding="utf-8").rows[1] == [garbled, "x"]  # an explicit encoding wins


def test_real_russian_and_western_european_text_is_not_taken_for_garbage(tmp_path):
    text = "name;city\nСёмга Ёлка Ўзбекистон;Москва\nCafé Zürich;São Paulo Ñandú\n"
    assert read_csv_export(write(tmp_path, "ok.csv", text.encode())).rows == [
        ["Сёмга Ёлка Ўзбекистон", "Москва"],
        ["Café Zürich", "São Paulo Ñandú"],
    ]
