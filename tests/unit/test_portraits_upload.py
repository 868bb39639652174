"""CSV upload: tolerant reading, every bad row reported with a reason, counts that reconcile."""

import pandas as pd
import pytest

from client_dwh.portraits.catalogue import UNASSIGNED, load_portraits
from client_dwh.portraits.mapping import PortraitMapper
from client_dwh.portraits.upload import UploadError, map_csv
from client_dwh.sources.synthetic.station_population import generate_station_clients


@pytest.fixture(scope="module")
def catalogue():
    return load_portraits()


def prototype_cells(catalogue, portrait_id, decimal_comma=False):
    prototype = catalogue.portrait(portrait_id).prototype
    cells = [f"{prototype[feature]:g}" for feature in catalogue.features]
    return [cell.replace(".", ",") for cell in cells] if decimal_comma else cells


def read_output(path):
    return pd.read_csv(path, sep=";", dtype=str, keep_default_na=False)


def test_small_upload_reports_every_bad_row(tmp_path, catalogue):
    features = list(catalogue.features)
    header = ["  Client_ID "] + [f" {feature.upper()} " for feature in features]
    good = prototype_cells(catalogue, "taxi_driver", decimal_comma=True)
    rows = [
        ["c1", *good],
        ["c2", *prototype_cells(catalogue, "long_haul_trucker", decimal_comma=True)],
        ["", *good],  # missing id
        ["dup", *good],
        ["dup", *good],
        ["c5", "abc", *good[1:]],  # non-numeric age
        ["c6", "150", *good[1:]],  # age out of range
        ["c7", "", *good[1:]],  # missing age
    ]
    input_path = tmp_path / "clients.csv"
    input_path.write_text("\n".join(";".join(row) for row in [header, *rows]) + "\n", encoding="utf-8-sig")
    output_path = tmp_path / "mapped.csv"

    stats = map_csv(input_path, output_path, catalogue)

    assert stats["rows_read"] == len(rows) == stats["rows_mapped"] + stats["rows_rejected"]
    assert stats["rows_mapped"] == 2 and stats["rows_rejected"] == 6
    assert stats["scale_reference"] == "catalogue_spread"
    assert stats["portrait_counts"]["taxi_driver"] == 1 and stats["portrait_counts"]["long_haul_trucker"] == 1
    assert sum(stats["portrait_counts"].values()) == stats["rows_mapped"]

    output = read_output(output_path)
    assert len(output) == len(rows)
    assert output["source_row"].tolist() == [str(number) for number in range(1, len(rows) + 1)]
    assert output.loc[0, "portrait_id"] == "taxi_driver" and output.loc[0, "error"] == ""
    assert output.loc[0, "portrait_name"] == catalogue.names["taxi_driver"]
    assert float(output.loc[0, "confidence"]) > 0.99
    rejected = output.iloc[2:]
    assert (rejected["portrait_id"] == "").all()
    assert rejected["error"].tolist() == [
        "missing client_id",
        "duplicate client_id (every row sharing it is rejected)",
        "duplicate client_id (every row sharing it is rejected)",
        "age is not a number: 'abc'",
        "age is outside [18, 90]: 150",
        "age is missing",
    ]


def test_row_with_several_problems_lists_them_all(tmp_path, catalogue):
    features = list(catalogue.features)
    cells = prototype_cells(catalogue, "rational_driver")
    cells[features.index("avg_check")] = "-3"
    cells[features.index("uses_app")] = "n/a"
    input_path = tmp_path / "clients.csv"
    input_path.write_text(
        ",".join(["id", *features]) + "\n" + ",".join(["x", *cells]) + "\n", encoding="utf-8"
    )
    stats = map_csv(input_path, tmp_path / "out.csv", catalogue)
    output = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert "avg_check is outside" in output.loc[0, "error"]
    assert "uses_app is not a number: 'n/a'" in output.loc[0, "error"]
    assert stats["rows_rejected"] == 1 and stats["rows_mapped"] == 0
    assert stats["rejections_by_check"] == {"avg_check out of range": 1, "uses_app not a number": 1}


def test_large_upload_is_mapped_in_the_catalogue_units(tmp_path, catalogue):
    clients, truth = generate_station_clients(400, 9, catalogue, outlier_share=0.0)
    input_path = tmp_path / "clients.csv"
    clients.rename(columns={"client_id": "ID"}).to_csv(input_path, index=False)
    stats = map_csv(input_path, tmp_path / "out.csv", catalogue)
    assert stats["rows_mapped"] == 400
    assert stats["scale_reference"] == "catalogue_spread"
    output = pd.read_csv(tmp_path / "out.csv")
    assert (output["portrait_id"] == truth["true_portrait_id"]).mean() >= 0.95
    assert (output["portrait_id"] != UNASSIGNED).sum() + stats["rows_unassigned"] == 400


def test_a_stored_mapper_can_be_reused(tmp_path, catalogue):
    clients, _ = generate_station_clients(20, 4, catalogue)
    clients.to_csv(tmp_path / "clients.csv", index=False)
    stored = PortraitMapper(catalogue, threshold=0.7).to_dict()
    mapper = PortraitMapper.from_dict(stored, catalogue)
    stats = map_csv(tmp_path / "clients.csv", tmp_path / "out.csv", catalogue, fitted_mapper=mapper)
    assert stats["threshold"] == 0.7 and stats["rows_mapped"] == 20


def test_missing_feature_column_fails_the_whole_file(tmp_path, catalogue):
    input_path = tmp_path / "clients.csv"
    input_path.write_text("client_id,age\n1,40\n", encoding="utf-8")
    with pytest.raises(UploadError, match="missing feature column"):
        map_csv(input_path, tmp_path / "out.csv", catalogue)


def test_output_starts_with_a_utf8_bom_and_reads_back_with_utf8_sig(tmp_path, catalogue):
    """Russian Excel takes a CSV without a BOM for Windows-1251 and garbles the portrait names."""
    import csv

    input_path = tmp_path / "clients.csv"
    rows = [
        "client_id;" + ";".join(catalogue.features),
        "7;" + ";".join(prototype_cells(catalogue, "taxi_driver")),
    ]
    input_path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    output_path = tmp_path / "out.csv"
    map_csv(input_path, output_path, catalogue)

    data = output_path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert not data[3:].startswith(b"\xef\xbb\xbf")  # one BOM, not one per write
    with output_path.open(encoding="utf-8-sig", newline="") as handle:
        records = list(csv.DictReader(handle, delimiter=";"))
    assert [record["client_id"] for record in records] == ["7"]
    assert records[0]["portrait_name"] == catalogue.names["taxi_driver"]
    frame = pd.read_csv(output_path, sep=";", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert frame.columns[0] == "source_row"
    assert frame.loc[0, "portrait_name"] == catalogue.names["taxi_driver"]
