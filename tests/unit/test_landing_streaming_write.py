"""write_partition streams each file out in slices of rows: the same bytes and manifest as serialising the
whole frame at once, and re-landing identical content still leaves the part untouched."""

from __future__ import annotations

import hashlib
import json

import pandas as pd

from client_dwh import landing
from client_dwh.landing import frame_to_jsonl, landing_root, write_partition


def test_sliced_write_equals_whole_serialisation_and_relanding_is_a_no_op(tmp_path, monkeypatch):
    frame = pd.DataFrame(
        {
            "client_id": range(1, 24),
            "full_name": [f"Иванова Мария {n}" for n in range(23)],
            "income": [1000.5 * n for n in range(23)],
            "issued": pd.date_range("2026-01-01", periods=23, freq="D"),
        }
    )
    monkeypatch.setattr(landing, "WRITE_ROWS", 5)  # 23 rows: four full slices and a short one
    root = landing_root(str(tmp_path))
    manifest = write_partition(root, "b", 1, {"clients": frame, "empty": frame.iloc[:0]})

    whole = frame_to_jsonl(frame)
    written = (tmp_path / "b" / "part-0001" / "clients.jsonl").read_bytes()
    assert written == whole
    assert manifest["files"]["clients"] == {
        "path": "clients.jsonl",
        "rows": 23,
        "sha256": hashlib.sha256(whole).hexdigest(),
    }
    assert manifest["files"]["empty"]["rows"] == 0
    assert (tmp_path / "b" / "part-0001" / "empty.jsonl").read_bytes() == b""

    manifest_file = tmp_path / "b" / "part-0001" / "_manifest.json"
    before = manifest_file.stat().st_mtime_ns
    assert write_partition(root, "b", 1, {"clients": frame, "empty": frame.iloc[:0]}) == manifest
    assert manifest_file.stat().st_mtime_ns == before  # identical content: nothing rewritten

    changed = write_partition(root, "b", 1, {"clients": frame.iloc[:10], "empty": frame.iloc[:0]})
    assert changed["files"]["clients"]["rows"] == 10
    assert json.loads(manifest_file.read_text())["files"] == changed["files"]
