"""Land the partners' catalogue text and a CRM client export as parts, like any other source.

The catalogue is parsed into ``partner_services`` rows; every line the parser could not use (a service
line without a name, a duplicate service, an organisation without services) lands too, keyed
``rejected:line:<n>`` with ``rejected_reason`` and the line's text, so core puts it in ``meta.quarantine``
with its line and reason. The CRM export is cleaned with ``clean_crm_clients``: clean rows land as
``crm_clients``, and so do the rejected rows, marked with ``rejected_reason``, so that core puts them
in ``meta.quarantine`` with their reason and the counts reconcile in the warehouse, not only here.
Importing the same file into the same batch again leaves the landed part untouched.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path
from typing import Any

from client_dwh.landing import MANIFEST, frame_to_jsonl, landing_root, part_name, write_partition

log = logging.getLogger(__name__)


def batch_name(prefix: str, path: str | Path) -> str:
    """``crm-<file name>``: the default batch of an imported file."""
    stem = Path(path).name.split(".")[0]
    return f"{prefix}-{re.sub(r'[^A-Za-z0-9_.-]', '_', stem)[:48] or 'file'}"


def import_partner_catalogue(
    path: str | Path, batch: str | None = None, landing_url: str | None = None, *, encoding: str | None = None
) -> dict[str, Any]:
    """Parse the catalogue text at ``path`` and land it as one ``partner_services`` part; return the manifest.

    The encoding is detected as for CSV exports (UTF-8 with or without BOM, cp1251) unless given.
    """
    import pandas as pd

    from client_dwh.sources.formats.csv_export import read_text
    from client_dwh.sources.formats.partner_catalogue import parse_partner_catalogue

    path = Path(path).expanduser()
    _, text = read_text(path, encoding=encoding, what="partner catalogue")
    services, problems = parse_partner_catalogue(text)
    if services.empty:
        raise ValueError(
            f"{path.name}: no services found in the catalogue ({len(problems)} problem lines); expected blocks "
            "of an organisation line followed by one service per line, separated by blank lines"
        )
    for line_no, reason in problems:
        log.warning("%s:%d: %s", path.name, line_no, reason)
    lines = text.splitlines()
    rejected = pd.DataFrame(
        {
            "service_id": [f"rejected:line:{line_no}" for line_no, _ in problems],
            "partner_name": "",
            "service_name": "",
            "source_line": [line_no for line_no, _ in problems],
            "rejected_reason": [f"line {line_no} of {path.name}: {reason}" for line_no, reason in problems],
            "raw_line": [lines[line_no - 1] if line_no <= len(lines) else "" for line_no, _ in problems],
        }
    )
    rows = pd.concat([services, rejected], ignore_index=True)
    rows = rows.astype(object).where(rows.notna(), None)
    extra = {
        "source_file": path.name,
        "catalogue": {"services": len(services), "problem_lines": len(problems)},
        "parse_problems": [{"line": n, "reason": r} for n, r in problems],
    }
    manifest = _land_once(
        batch or batch_name("partners", path), {"partner_services": rows}, extra, landing_url
    )
    log.info("landed %d partner services from %s (%d problem lines)", len(services), path.name, len(problems))
    return manifest


def import_crm_export(
    path: str | Path,
    batch: str | None = None,
    landing_url: str | None = None,
    source: str | None = None,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> dict[str, Any]:
    """Clean the CRM CSV at ``path`` and land clean and rejected rows as one ``crm_clients`` part.

    The file is read by ``read_csv_export`` (encoding and delimiter detected unless given); a line whose
    field count does not match the header is rejected like a row the cleaning rejects (reason
    ``ragged_line``, its text in ``raw_line``). The manifest's ``crm_cleaning`` holds
    ``rows_in = clean + merged_away + quarantined``; ``source_row`` is the 0-based data record number.
    """
    import numpy as np
    import pandas as pd

    from client_dwh.sources.formats.crm import CrmCleaningStats, clean_crm_clients
    from client_dwh.sources.formats.csv_export import read_csv_export

    path = Path(path).expanduser()
    export = read_csv_export(path, encoding=encoding, delimiter=delimiter, what="CRM export")
    source = source or Path(path).name.split(".")[0]
    clean, quarantine, stats = clean_crm_clients(export.frame())
    if not stats.reconciles:  # pragma: no cover - clean_crm_clients guarantees it
        raise AssertionError(f"CRM cleaning does not reconcile: {stats}")
    # The cleaning numbers the good rows 0..n-1; give every row its record number in the file instead.
    record_index = np.asarray(export.records, dtype=np.int64) - 1
    for frame in (clean, quarantine):
        frame["source_row"] = record_index[frame["source_row"].to_numpy(dtype=np.int64)]
    if export.bad:
        for bad in export.bad:
            log.warning("%s", bad.reason)
        ragged = pd.DataFrame(
            {
                "source_row": [bad.record - 1 for bad in export.bad],
                "reason": "ragged_line",
                "detail": [bad.reason for bad in export.bad],
                "raw_line": [bad.text for bad in export.bad],
            }
        )
        quarantine = pd.concat([quarantine, ragged], ignore_index=True).sort_values("source_row")
        reasons = dict(stats.quarantine_reasons)
        reasons["ragged_line"] = len(export.bad)
        stats = CrmCleaningStats(
            rows_in=stats.rows_in + len(export.bad),
            clean=stats.clean,
            merged_away=stats.merged_away,
            quarantined=stats.quarantined + len(export.bad),
            quarantine_reasons=reasons,
        )
    log.info(
        "CRM %s (%s, delimiter %s): rows_in=%d = clean %d + merged_away %d + quarantined %d; reasons %s",
        path.name, export.encoding, export.delimiter_name, stats.rows_in, stats.clean, stats.merged_away,
        stats.quarantined, stats.quarantine_reasons,
    )  # fmt: skip

    clean = clean.assign(source=source)
    if "updated_at" in clean:
        clean["updated_at"] = clean["updated_at"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    rejected = quarantine.assign(
        rejected_reason=quarantine["detail"].fillna(quarantine["reason"])
        if "detail" in quarantine
        else quarantine["reason"]
    ).drop(columns=[c for c in ("reason", "detail") if c in quarantine])
    rejected = rejected.assign(source=source)
    rejected.insert(0, "client_key", [f"rejected:{source}:{row}" for row in rejected["source_row"]])
    rows = pd.concat([clean, rejected], ignore_index=True)
    for column in ("source_row", "merged_rows"):  # NaN in rejected rows must not make them floats
        rows[column] = rows[column].astype("Int64")
    rows = rows.astype(object).where(rows.notna(), None)
    extra = {
        "source_file": path.name,
        "encoding": export.encoding,
        "delimiter": export.delimiter,
        "crm_cleaning": stats.as_dict(),
    }
    return _land_once(batch or batch_name("crm", path), {"crm_clients": rows}, extra, landing_url)


def _land_once(batch: str, frames: dict, extra: dict, landing_url: str | None) -> dict[str, Any]:
    """Write part 1 of ``batch`` unless it already holds exactly these rows (then keep its manifest).

    A re-written manifest would look like a changed part to the warehouse, which refuses those.
    """
    root = landing_root(landing_url)
    manifest_path = root / batch / part_name(1) / MANIFEST
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_bytes())
        same = {name: hashlib.sha256(frame_to_jsonl(f)).hexdigest() for name, f in frames.items()}
        if {name: f["sha256"] for name, f in manifest.get("files", {}).items()} == same:
            log.info("%s/%s already holds these rows; left as it is", batch, part_name(1))
            return manifest
    return write_partition(root, batch, 1, frames, extra)
