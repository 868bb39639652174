"""Map a user-supplied CSV of anonymised clients to portraits, reporting every rejected row.

Analysts export such files from spreadsheets, so the file is read by the shared ``read_csv_export``
(UTF-8 with or without BOM, or Windows-1251 from Russian Excel; ``;`` ``,`` or tab separators) and the
cells tolerate the usual variations (header case and spaces, decimal commas such as ``1,5``, spaces as
thousands separators, shares written as percentages such as ``75%``). Bad rows are never dropped
silently: they appear in the output with an empty ``portrait_id`` and an ``error`` explaining why (a line
with a field too many or too few included), so ``rows_read == rows_mapped + rows_rejected`` always holds.

Each row is mapped on its own, in the catalogue's fixed units (see ``mapping``): a file of one kind of
client, or of a single row, gets the same portraits as the same clients inside a large mixed file. A caller
may also pass a stored mapper (restored with ``PortraitMapper.from_dict`` from the warehouse run) to map the
file exactly as the warehouse did.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from client_dwh.portraits.catalogue import UNASSIGNED, PortraitCatalogue
from client_dwh.portraits.mapping import DEFAULT_THRESHOLD, PortraitMapper
from client_dwh.sources.formats.csv_export import CsvExport, CsvExportError, read_csv_export

ID_COLUMN_CANDIDATES = ("client_id", "id")
UNASSIGNED_NAME = "Не определён"
OUTPUT_COLUMNS_AFTER_FEATURES = ("portrait_id", "portrait_name", "distance", "confidence", "error")
OUTPUT_ENCODING = "utf-8-sig"  # UTF-8 with a BOM: Excel reads it as UTF-8 (see map_csv)


class UploadError(ValueError):
    """The file as a whole cannot be mapped (unreadable, or an id/feature column is missing)."""


def _normalise_header(name: str) -> str:
    return "_".join(str(name).strip().lower().replace("-", " ").split())


def read_client_csv(
    input_path: str | Path,
    *,
    name: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> tuple[pd.DataFrame, CsvExport]:
    """All cells as stripped strings (empty for blanks) with normalised headers, and the export as read
    (separator, each good row's record and line number, and the lines that did not split into the
    header's fields).

    ``read_csv_export`` detects the encoding (UTF-8 with or without BOM, Windows-1251 from Russian Excel)
    and the separator unless given; ``name`` is how messages name the file (the user's path).
    """
    name = name or Path(input_path).name
    try:
        export = read_csv_export(
            input_path, name=name, encoding=encoding, delimiter=delimiter, what="clients CSV"
        )
    except CsvExportError as error:
        raise UploadError(str(error)) from error
    frame = export.frame()
    frame.columns = [_normalise_header(column) for column in frame.columns]
    duplicated = sorted({column for column in frame.columns if list(frame.columns).count(column) > 1})
    if duplicated:
        raise UploadError(
            f"{name}: line 1 (header): column(s) {duplicated} appear twice after normalising; rename one"
        )
    frame = frame.fillna("").apply(lambda column: column.str.strip())
    return frame, export


def _append_reason(reasons: pd.Series, failed: pd.Series, message: pd.Series | str) -> pd.Series:
    addition = pd.Series(message, index=reasons.index) if isinstance(message, str) else message
    separator = np.where(reasons == "", "", "; ")
    return reasons.where(~failed, reasons + separator + addition)


def _parse_number(raw: pd.Series) -> pd.Series:
    cleaned = raw.str.replace("\u00a0", "", regex=False).str.replace(" ", "", regex=False)
    return pd.to_numeric(cleaned.str.replace(",", ".", regex=False), errors="coerce")


def _parse_share(raw: pd.Series) -> pd.Series:
    """A share as a fraction: ``0.75``, ``0,75`` or ``75%`` (as spreadsheets format shares) -> 0.75."""
    is_percent = raw.str.endswith("%")
    number = _parse_number(raw.str.removesuffix("%").str.strip())
    return number.where(~is_percent, number / 100)


def map_csv(
    input_path: str | Path,
    output_path: str | Path,
    catalogue: PortraitCatalogue,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    fitted_mapper: PortraitMapper | None = None,
    input_name: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> dict[str, Any]:
    """Write ``output_path`` (same separator as the input, UTF-8 with a BOM) and return counts.

    The BOM is what makes Russian Excel open the file as UTF-8 (without it Excel assumes Windows-1251 and
    shows the portrait names garbled); pandas, ``csv`` with ``utf-8-sig`` and our own reader skip it.

    Output columns: ``source_row`` (1-based data row), ``source_line`` (its line in the input file),
    ``client_id``, the features as given, then ``portrait_id`` (a portrait id, ``unassigned``, or empty for
    rejected rows), ``portrait_name``, ``distance``, ``confidence`` and ``error`` (empty for mapped rows).
    A line that does not split into the header's fields is a rejected row too (``ragged line``).
    ``input_name`` is how messages name the input (default: its file name).
    """
    name = input_name or Path(input_path).name
    frame, export = read_client_csv(input_path, name=name, encoding=encoding, delimiter=delimiter)
    separator = export.delimiter
    id_column = next((column for column in ID_COLUMN_CANDIDATES if column in frame.columns), None)
    if id_column is None:
        raise UploadError(
            f"{name}: line 1 (header): no client id column; name it one of {ID_COLUMN_CANDIDATES} "
            f"(found {list(frame.columns)}, delimiter {export.delimiter_name})"
        )
    missing_features = [feature for feature in catalogue.features if feature not in frame.columns]
    if missing_features:
        raise UploadError(
            f"{name}: line 1 (header): missing feature column(s) {missing_features}; add them "
            f"(found {list(frame.columns)}, delimiter {export.delimiter_name})"
        )

    client_id = frame[id_column]
    reasons = pd.Series("", index=frame.index, dtype=object)
    rejections_by_check: dict[str, int] = {}

    def check(name: str, failed: pd.Series, message: pd.Series | str) -> None:
        nonlocal reasons
        rejections_by_check[name] = int(failed.sum())
        reasons = _append_reason(reasons, failed, message)

    check("missing client_id", client_id == "", "missing client_id")
    check(
        "duplicate client_id",
        (client_id != "") & client_id.duplicated(keep=False),
        "duplicate client_id (every row sharing it is rejected)",
    )
    values = {}
    for spec in catalogue.feature_specs:
        raw = frame[spec.name]
        number = _parse_share(raw) if spec.kind == "share" else _parse_number(raw)
        is_missing = raw == ""
        is_not_number = ~is_missing & ~np.isfinite(number.to_numpy(dtype=float, na_value=np.nan))
        is_out_of_range = ~is_missing & ~is_not_number & ((number < spec.min) | (number > spec.max))
        check(f"{spec.name} missing", is_missing, f"{spec.name} is missing")
        check(f"{spec.name} not a number", is_not_number, f"{spec.name} is not a number: '" + raw + "'")
        check(
            f"{spec.name} out of range",
            is_out_of_range,
            f"{spec.name} is outside [{spec.min:g}, {spec.max:g}]: "
            + raw
            + (f" (a share: write {_share_example(spec)})" if spec.kind == "share" else ""),
        )
        values[spec.name] = number
    is_valid = (reasons == "").to_numpy()
    valid_features = pd.DataFrame({"client_id": client_id, **values})[is_valid]

    output = frame[[id_column, *catalogue.features]].rename(columns={id_column: "client_id"})
    output.insert(0, "source_row", np.asarray(export.records, dtype=np.int64))
    output.insert(1, "source_line", np.asarray(export.lines, dtype=np.int64))
    output["portrait_id"] = ""
    output["portrait_name"] = ""
    output["distance"] = np.nan
    output["confidence"] = np.nan
    output["error"] = reasons.to_numpy()
    if len(valid_features):
        mapper = fitted_mapper or PortraitMapper(catalogue, threshold=threshold)
        assignments = mapper.assign(valid_features)
        names = {**catalogue.names, UNASSIGNED: UNASSIGNED_NAME}
        output.loc[is_valid, "portrait_id"] = assignments["portrait_id"].to_numpy()
        output.loc[is_valid, "portrait_name"] = assignments["portrait_id"].map(names).to_numpy()
        output.loc[is_valid, "distance"] = assignments["distance"].round(4).to_numpy()
        output.loc[is_valid, "confidence"] = assignments["confidence"].round(4).to_numpy()
    if export.bad:  # kept as rejected rows in file order, with the reason naming file and line
        ragged = pd.DataFrame(
            {
                "source_row": [bad.record for bad in export.bad],
                "source_line": [bad.line for bad in export.bad],
                "error": [bad.reason for bad in export.bad],
            }
        )
        output = pd.concat([output, ragged], ignore_index=True).sort_values("source_row", kind="stable")
        output = output.fillna(
            {column: "" for column in output.columns if column not in ("distance", "confidence")}
        )
        rejections_by_check["ragged line"] = len(export.bad)
    output.to_csv(output_path, sep=separator, index=False, encoding=OUTPUT_ENCODING)

    mapped_ids = output["portrait_id"][output["error"] == ""]
    return {
        "rows_read": export.records_read,
        "rows_mapped": int(is_valid.sum()),
        "rows_rejected": int((~is_valid).sum()) + len(export.bad),
        "rows_unassigned": int((mapped_ids == UNASSIGNED).sum()),
        "portrait_counts": {
            portrait_id: int((mapped_ids == portrait_id).sum())
            for portrait_id in (*catalogue.ids, UNASSIGNED)
        },
        "rejections_by_check": {name: count for name, count in rejections_by_check.items() if count},
        "scale_reference": (fitted_mapper or PortraitMapper(catalogue, threshold)).scale_reference,
        "threshold": fitted_mapper.threshold if fitted_mapper is not None else threshold,
    }


def _share_example(spec) -> str:
    return f"{spec.max * 0.75:g} or 75%" if spec.max == 1 else f"a value in [{spec.min:g}, {spec.max:g}]"


def map_uploaded_csv(
    input_url: str,
    output_url: str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    catalogue: PortraitCatalogue | None = None,
    conn_id: str | None = None,
    encoding: str | None = None,
) -> dict[str, Any]:
    """``map_csv`` for files anywhere ``ObjectStoragePath`` reaches (a local path, file://, s3://, ...).

    Remote URLs are reached with ``conn_id`` (default: the landing zone's ``LANDING_CONN_ID``).

    The input is copied to a local temporary file, mapped, and the result written to ``output_url``
    (default: ``<input stem>.portraits.csv`` beside the input). Returns ``map_csv``'s counts plus both paths.
    """
    import shutil
    import tempfile

    from client_dwh.portraits.catalogue import load_portraits
    from client_dwh.storage import local_copy, storage_path, url_of

    source = storage_path(input_url, conn_id)
    if not source.is_file():
        raise UploadError(
            f"{input_url}: no such file; check input_path (a path on the worker or a storage URL)"
        )
    target = (
        storage_path(output_url, conn_id) if output_url else source.parent / f"{source.stem}.portraits.csv"
    )
    with tempfile.TemporaryDirectory(prefix="map_uploaded_") as folder, local_copy(source) as local_in:
        local_out = Path(folder) / "output.csv"
        result = map_csv(
            local_in,
            local_out,
            catalogue or load_portraits(),
            threshold,
            input_name=input_url,
            encoding=encoding,
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        with local_out.open("rb") as mapped, target.open("wb") as written:
            shutil.copyfileobj(mapped, written)
    return {"input": url_of(source), "output": url_of(target), **result}
