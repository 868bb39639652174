"""Land a real online-retail export (UCI "Online Retail" columns, CSV or CSV.GZ) as retail_purchases parts.

Nothing is parsed or coerced here: every field stays the string the export has (``17850.0``, empty
CustomerID), plus ``source`` and ``line_id`` = "<source>:<row number>" (the data record's number in the
export; a ragged line keeps its number and lands as a rejected row for core to quarantine). Typing, quarantine and RFM rules
live in the warehouse, so an imported file takes the same sensor -> load -> core -> marts path as
generated data.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from client_dwh.landing import MANIFEST, landing_root, part_name, write_partition
from client_dwh.sources.formats.csv_export import CsvExportError, read_csv_export
from client_dwh.sources.formats.retail import COLUMNS, with_line_ids

log = logging.getLogger(__name__)

ENTITY = "retail_purchases"


def source_name(csv_path: str | Path) -> str:
    """The export's source name from its file name: ``online_retail.csv.gz`` -> ``online_retail``."""
    stem = Path(csv_path).name
    for suffix in (".gz", ".csv"):
        stem = stem.removesuffix(suffix)
    return re.sub(r"[^A-Za-z0-9_.-]", "_", stem)[:48] or "retail"


def import_online_retail(
    csv_path: str | Path,
    batch: str,
    landing_url: str | None = None,
    rows_per_part: int = 200_000,
    source: str | None = None,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    name: str | None = None,
) -> list[dict[str, Any]]:
    """Land ``csv_path`` as parts of ``batch``; return their manifests.

    The file is read by ``read_csv_export`` (encoding and delimiter detected unless given). A line whose
    field count does not match the header lands too, with empty fields, its text in ``raw_line`` and the
    reason in ``rejected_reason``, so core quarantines it and ``rows read = loaded + quarantined`` holds
    in the warehouse. A file that cannot be read at all raises ``CsvExportError`` (one line, nothing
    landed). Importing the same file into the same batch again leaves the landed parts untouched (their
    manifests stay the same), so the warehouse does not see them as changed parts.
    """
    import pandas as pd

    path = Path(csv_path)
    if rows_per_part < 1:
        raise ValueError("rows_per_part must be at least 1")
    name = name or str(csv_path)  # how messages name the file: the user's path, not a local copy
    export = read_csv_export(
        path, name=name, encoding=encoding, delimiter=delimiter, what="online-retail export"
    )
    missing = [c for c in COLUMNS if c not in export.header]
    doubled = sorted({c for c in COLUMNS if export.header.count(c) > 1})
    if missing or doubled:
        problem = f"missing column(s) {missing}" if missing else f"column(s) {doubled} appear twice"
        raise CsvExportError(
            f"{name}: line 1 (header): {problem}; expected {list(COLUMNS)}, "
            f"found {export.header} (read as {export.encoding}, delimiter {export.delimiter_name})"
        )
    source = source or source_name(path)
    frame = with_line_ids(export.frame()[list(COLUMNS)], source, row_numbers=export.records)
    if export.bad:
        for bad in export.bad:
            log.warning("%s", bad.reason)
        rejected = pd.DataFrame(
            {
                **{column: "" for column in COLUMNS},
                "rejected_reason": [bad.reason for bad in export.bad],
                "raw_line": [bad.text for bad in export.bad],
            },
            index=range(len(export.bad)),
        )
        rejected = with_line_ids(rejected, source, row_numbers=[bad.record for bad in export.bad])
        order = export.records + [bad.record for bad in export.bad]
        frame = pd.concat([frame, rejected], ignore_index=True)
        frame = frame.iloc[sorted(range(len(frame)), key=order.__getitem__)].reset_index(drop=True)
        frame = frame.astype(object).where(frame.notna(), None)
    root = landing_root(landing_url)
    manifests = []
    starts = range(0, max(len(frame), 1), rows_per_part)
    for part_no, start in enumerate(starts, start=1):
        chunk = frame.iloc[start : start + rows_per_part]
        extra = {
            "source": source,
            "source_file": path.name,
            "first_row": start + 1,
            "rows_in_export": export.records_read,
            "bad_lines": len(export.bad),
            "encoding": export.encoding,
            "delimiter": export.delimiter,
        }
        manifest = _unchanged_manifest(root, batch, part_no, chunk) or write_partition(
            root, batch, part_no, {ENTITY: chunk}, extra
        )
        log.info("landed %s/%s: %d rows of %s", batch, part_no, manifest["files"][ENTITY]["rows"], path.name)
        manifests.append(manifest)
    log.info(
        "%s (%s, delimiter %s): %d records read = %d landed + %d bad lines (landed for quarantine)",
        path.name, export.encoding, export.delimiter_name, export.records_read, len(export.rows), len(export.bad),
    )  # fmt: skip
    return manifests


def _unchanged_manifest(root, batch: str, part_no: int, chunk) -> dict | None:
    """The existing manifest of this part if it already holds exactly these rows, else None."""
    import hashlib
    import json

    from client_dwh.landing import frame_to_jsonl

    manifest_path = root / batch / part_name(part_no) / MANIFEST
    if not manifest_path.exists():
        return None
    manifest = json.loads(manifest_path.read_bytes())
    payload_sha = hashlib.sha256(frame_to_jsonl(chunk)).hexdigest()
    if set(manifest.get("files", {})) == {ENTITY} and manifest["files"][ENTITY]["sha256"] == payload_sha:
        return manifest
    return None
