"""Land a real online-retail export (UCI "Online Retail" columns, CSV or CSV.GZ) as retail_purchases parts.

Nothing is parsed or coerced here: every field stays the string the export has (``17850.0``, empty
CustomerID), plus ``source`` and ``line_id`` = "<source>:<row number>". Typing, quarantine and RFM rules
live in the warehouse, so an imported file takes the same sensor -> load -> core -> marts path as
generated data.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from client_dwh.landing import MANIFEST, landing_root, part_name, write_partition
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
) -> list[dict[str, Any]]:
    """Land ``csv_path`` as parts of ``batch``; return their manifests.

    Importing the same file into the same batch again leaves the landed parts untouched (their manifests
    stay the same), so the warehouse does not see them as changed parts.
    """
    import pandas as pd

    path = Path(csv_path)
    if not path.is_file():
        raise FileNotFoundError(f"online-retail export {path} does not exist or is not a file")
    if rows_per_part < 1:
        raise ValueError("rows_per_part must be at least 1")
    source = source or source_name(path)
    # dtype=str and no NA parsing: IDs stay '17850.0', empty fields stay '' - nothing silently coerced.
    read = dict(dtype=str, keep_default_na=False, na_filter=False)
    try:
        frame = pd.read_csv(path, encoding="utf-8", **read)
    except UnicodeDecodeError:  # the spreadsheet-era UCI exports are Latin-1
        log.warning("%s is not UTF-8; reading it as Latin-1", path)
        frame = pd.read_csv(path, encoding="latin-1", **read)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; expected {list(COLUMNS)}")
    frame = with_line_ids(frame[list(COLUMNS)], source)
    root = landing_root(landing_url)
    manifests = []
    starts = range(0, max(len(frame), 1), rows_per_part)
    for part_no, start in enumerate(starts, start=1):
        chunk = frame.iloc[start : start + rows_per_part]
        extra = {
            "source": source,
            "source_file": path.name,
            "first_row": start + 1,
            "rows_in_export": len(frame),
        }
        manifest = _unchanged_manifest(root, batch, part_no, chunk) or write_partition(
            root, batch, part_no, {ENTITY: chunk}, extra
        )
        log.info("landed %s/%s: %d rows of %s", batch, part_no, manifest["files"][ENTITY]["rows"], path.name)
        manifests.append(manifest)
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
