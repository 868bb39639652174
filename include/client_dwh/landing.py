"""The landing zone: numbered partitions of JSON Lines files, each committed by its manifest.

Layout: ``<landing>/<batch>/part-NNNN/<entity>.jsonl`` plus ``_manifest.json``. Data files are written
first and the manifest last, so a part without a manifest is still being written and is never read;
that works the same on a local disk and on object storage, where rename is not atomic. Everything goes
through ``ObjectStoragePath`` so that workers on other hosts reach the same zone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from client_dwh import config
from client_dwh.storage import storage_path, url_of

if TYPE_CHECKING:
    import pandas as pd
    from airflow.sdk import ObjectStoragePath

MANIFEST = "_manifest.json"
WRITE_ROWS = 100_000  # rows serialised at a time when a part is written
READ_CHUNK = 8 * 1024 * 1024  # bytes per read: a part of any size streams in bounded memory
# Per batch, files that belong to no part (e.g. the synthetic station clients' true portraits, for
# benchmarks); list_landed_parts never reads it (not a part-NNNN folder).
GROUND_TRUTH_DIR = "_ground_truth"
PART_DIR = re.compile(r"^part-(\d{4,})$")
BATCH_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class PartitionError(ValueError):
    """A landed partition does not match its manifest; the message names the file."""


def landing_root(url: str | None = None) -> ObjectStoragePath:
    """The landing zone (``LANDING_DIR`` unless ``url``), reached with ``LANDING_CONN_ID``."""
    return storage_path(url or config.LANDING_URL)


def part_name(part_no: int) -> str:
    return f"part-{part_no:04d}"


def write_partition(
    root: ObjectStoragePath,
    batch: str,
    part_no: int,
    frames: dict[str, pd.DataFrame],
    extra: dict | None = None,
) -> dict[str, Any]:
    """Write one part's files, then its manifest; return the manifest.

    Landing identical content again leaves the part untouched (same manifest, so loads stay no-ops);
    different content replaces it, the old manifest removed first so readers never mix the two.
    """
    part_dir = _part_dir(root, batch, part_no)
    manifest_path = part_dir / MANIFEST
    if manifest_path.exists():
        existing = json.loads(manifest_path.read_bytes())
        files = {entity: _jsonl_entry(entity, frame) for entity, frame in frames.items()}  # hash only
        if existing.get("files") == files:
            return existing
        manifest_path.unlink()  # un-commit first: readers never see old manifest with new files
    # Each file streams out in slices of rows, hashed as it goes: never a whole file in memory.
    files = {entity: _jsonl_entry(entity, frame, part_dir) for entity, frame in frames.items()}
    return _write_manifest(part_dir, batch, part_no, files, extra)


def begin_part(root: ObjectStoragePath, batch: str, part_no: int) -> tuple[ObjectStoragePath, bytes | None]:
    """Make a part's folder ready for files written as streams (``JsonlStream``); return it and the old
    manifest's bytes, if any. The old manifest is removed first, so readers never mix it with new files;
    ``commit_part`` puts it back when the new files turn out identical."""
    part_dir = _part_dir(root, batch, part_no)
    manifest_path = part_dir / MANIFEST
    previous = None
    if manifest_path.exists():
        previous = manifest_path.read_bytes()
        manifest_path.unlink()
    return part_dir, previous


def commit_part(
    part_dir: ObjectStoragePath,
    batch: str,
    part_no: int,
    files: dict[str, dict],
    extra: dict | None,
    previous: bytes | None,
) -> dict[str, Any]:
    """Commit a part begun by ``begin_part`` with its written ``files``: its manifest, last. Identical files
    keep the old manifest, byte for byte, so loads of a re-landed part stay no-ops."""
    if previous is not None and json.loads(previous).get("files") == files:
        _write_manifest_bytes(part_dir, previous)
        return json.loads(previous)
    return _write_manifest(part_dir, batch, part_no, files, extra)


class JsonlStream:
    """A landed file written front to back, through one handle (object storage has no append): payloads
    go out in order, and the file's manifest entry (rows, sha256) is counted as they pass."""

    def __init__(self, path: ObjectStoragePath) -> None:
        self.path = path
        self.size = 0
        self._rows = 0
        self._digest = hashlib.sha256()
        self._out = path.open("wb")

    def write(self, payload: bytes) -> None:
        if payload:
            self._out.write(payload)
            self._digest.update(payload)
            self._rows += payload.count(b"\n")
            self.size += len(payload)

    def write_frame(self, frame: pd.DataFrame) -> None:
        for start in range(0, len(frame), WRITE_ROWS):
            self.write(frame_to_jsonl(frame.iloc[start : start + WRITE_ROWS]))

    def copy_from(self, path: ObjectStoragePath, size: int) -> None:
        """Append the first ``size`` bytes of the landed file ``path``."""
        with path.open("rb") as source:
            while size > 0 and (block := source.read(min(READ_CHUNK, size))):
                self.write(block)
                size -= len(block)

    def close(self) -> dict:
        self._out.close()
        return {"path": self.path.name, "rows": self._rows, "sha256": self._digest.hexdigest()}


def _part_dir(root: ObjectStoragePath, batch: str, part_no: int) -> ObjectStoragePath:
    if not BATCH_NAME.match(batch):
        raise ValueError(f"batch name {batch!r} must match {BATCH_NAME.pattern}")
    part_dir = root / batch / part_name(part_no)
    part_dir.mkdir(parents=True, exist_ok=True)
    return part_dir


def _write_manifest(
    part_dir: ObjectStoragePath, batch: str, part_no: int, files: dict[str, dict], extra: dict | None
) -> dict[str, Any]:
    manifest = {
        "batch": batch,
        "part": part_no,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "files": files,
        **(extra or {}),
    }
    _write_manifest_bytes(part_dir, json.dumps(manifest, ensure_ascii=False, indent=2).encode())
    return manifest


def _write_manifest_bytes(part_dir: ObjectStoragePath, body: bytes) -> None:
    tmp = part_dir / f".{MANIFEST}.tmp"
    tmp.write_bytes(body)
    tmp.rename(part_dir / MANIFEST)


def _jsonl_entry(entity: str, frame: pd.DataFrame, part_dir: ObjectStoragePath | None = None) -> dict:
    """The manifest entry of ``frame`` as JSON Lines; written to ``part_dir`` too when given."""
    digest, rows = hashlib.sha256(), 0
    name = f"{entity}.jsonl"
    with (part_dir / name).open("wb") if part_dir is not None else contextlib.nullcontext() as out:
        for start in range(0, max(len(frame), 1), WRITE_ROWS):
            payload = frame_to_jsonl(frame.iloc[start : start + WRITE_ROWS])
            digest.update(payload)
            rows += payload.count(b"\n")
            if out is not None:
                out.write(payload)
    return {"path": name, "rows": rows, "sha256": digest.hexdigest()}


def frame_to_jsonl(frame: pd.DataFrame) -> bytes:
    if frame.empty:
        return b""
    text = frame.to_json(orient="records", lines=True, force_ascii=False, date_format="iso")
    return (text if text.endswith("\n") else text + "\n").encode()


@dataclass(frozen=True)
class LandedPart:
    """What the sensor hands downstream through XCom: small metadata, never data."""

    batch: str
    part: int
    path: str
    files: dict[str, dict[str, Any]]
    manifest_sha256: str

    def to_xcom(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "part": self.part,
            "path": self.path,
            "files": self.files,
            "manifest_sha256": self.manifest_sha256,
            "rows": sum(f["rows"] for f in self.files.values()),
        }


def _part_dirs(root: ObjectStoragePath, batch: str | None):
    """Yield (batch, part number, folder) of every part-NNNN folder, committed or not."""
    if not root.exists():
        return
    for batch_dir in root.iterdir():
        if (
            not batch_dir.is_dir()
            or (batch and batch_dir.name != batch)
            or batch_dir.name.startswith(("_", "."))
        ):
            continue
        for part_dir in batch_dir.iterdir():
            match = PART_DIR.match(part_dir.name)
            if match:
                yield batch_dir.name, int(match.group(1)), part_dir


def list_landed_parts(root: ObjectStoragePath, batch: str | None = None) -> list[LandedPart]:
    """Committed parts (those with a manifest), ordered by batch then part number."""
    found = []
    for batch_name, part_no, part_dir in _part_dirs(root, batch):
        manifest_path = part_dir / MANIFEST
        if not manifest_path.exists():
            continue
        raw = manifest_path.read_bytes()
        manifest = json.loads(raw)
        found.append(
            LandedPart(
                batch=batch_name,
                part=part_no,
                path=url_of(part_dir),  # no connection id inside: stored in source_file
                files=manifest["files"],
                manifest_sha256=hashlib.sha256(raw).hexdigest(),
            )
        )
    return sorted(found, key=lambda p: (p.batch, p.part))


def list_uncommitted_parts(root: ObjectStoragePath, batch: str | None = None) -> set[tuple[str, int]]:
    """(batch, part) of every part folder that has no manifest yet: still being written, or abandoned."""
    return {
        (batch_name, part_no)
        for batch_name, part_no, part_dir in _part_dirs(root, batch)
        if not (part_dir / MANIFEST).exists()
    }


def part_files(part: dict[str, Any]) -> dict[str, ObjectStoragePath]:
    """Every file the part's manifest lists, by entity; a missing one fails before anything is read."""
    return {entity: part_file(part, entity) for entity in part["files"]}


def part_file(part: dict[str, Any], entity: str) -> ObjectStoragePath:
    """The entity's file of the part; PartitionError naming it when it is missing."""
    path = storage_path(part["path"]) / part["files"][entity]["path"]
    if not path.exists():
        raise PartitionError(
            f"{url_of(path)}: listed in the manifest but missing; land the part again (manifest last)"
        )
    return path


def verified_chunks(path: ObjectStoragePath, meta: dict[str, Any]) -> Iterator[bytes]:
    """The file's bytes in chunks, checked against its manifest entry as they stream.

    After the last chunk, a row count or sha256 that differs from the manifest raises PartitionError
    naming the file - so a caller that writes the chunks inside a transaction rolls the part back.
    """
    digest, rows, last = hashlib.sha256(), 0, b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            digest.update(chunk)
            rows += chunk.count(b"\n")
            last = chunk[-1:]
            yield chunk
    rows += last != b"\n"  # a last line without its newline still counts
    where = url_of(path)
    if rows != meta["rows"]:
        raise PartitionError(
            f"{where}: manifest says {meta['rows']} rows, file has {rows}; land the part again"
        )
    if digest.hexdigest() != meta["sha256"]:
        raise PartitionError(
            f"{where}: sha256 {digest.hexdigest()} does not match the manifest's {meta['sha256']}; "
            "land the part again"
        )


def read_verified_files(part: dict[str, Any]) -> dict[str, bytes]:
    """Every file of a part in memory, verified (small parts and benchmarks; loads stream instead)."""
    return {
        entity: b"".join(verified_chunks(path, part["files"][entity]))
        for entity, path in part_files(part).items()
    }
