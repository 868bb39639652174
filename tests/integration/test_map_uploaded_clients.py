"""An analyst's CSV mapped to portraits from the command line and through the manual-trigger DAG."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from client_dwh.__main__ import main
from client_dwh.portraits.catalogue import load_portraits
from client_dwh.sources.synthetic.station_population import generate_station_clients


def _write_clients_csv(path, n_clients: int = 80) -> None:
    features, _ = generate_station_clients(n_clients, 3, load_portraits())
    frame = features.astype(str)
    frame.loc[len(frame)] = ["9999", "abc", *frame.iloc[0, 2:]]  # an age that is not a number
    frame.to_csv(path, sep=";", index=False)


def test_cli_maps_a_csv_and_reports_bad_rows(tmp_path, capsys):
    source, target = tmp_path / "clients.csv", tmp_path / "mapped.csv"
    _write_clients_csv(source)
    assert main(["map-portraits", str(source), str(target), "--threshold", "1.8"]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert (counts["rows_read"], counts["rows_mapped"], counts["rows_rejected"]) == (81, 80, 1)
    assert counts["threshold"] == 1.8
    mapped = pd.read_csv(target, sep=";", dtype=str, keep_default_na=False)
    assert len(mapped) == 81 and mapped.loc[80, "error"] == "age is not a number: 'abc'"


def test_dag_maps_an_uploaded_csv(tmp_path):
    from airflow.utils.state import DagRunState

    from client_dwh.devtools.headless import get_dag

    source = tmp_path / "upload" / "clients.csv"
    source.parent.mkdir()
    _write_clients_csv(source)
    run = get_dag("map_uploaded_clients").test(
        run_conf={"input_path": str(source), "threshold": 1.6},
        logical_date=dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
    )
    assert run.state == DagRunState.SUCCESS
    mapped = pd.read_csv(
        tmp_path / "upload" / "clients.portraits.csv", sep=";", dtype=str, keep_default_na=False
    )
    assert len(mapped) == 81
    assert (mapped["portrait_id"] == "").sum() == 1  # the bad row is kept, with its error
