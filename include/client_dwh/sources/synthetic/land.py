"""Generate the source system and land it as partitions: the one entry point for the DAG and the CLI.

The population is generated chunk by chunk (``source_system.GENERATE_CHUNK_CLIENTS`` clients each, in
worker processes when there are several) and streamed into the parts' files, so memory stays bounded
whatever the number of clients. Parts are contiguous runs of client rows, cut before any chunk is
generated; a cumulative part begins with the bytes of the part before it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections import deque
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from functools import cached_property
from itertools import compress

import numpy as np
import pandas as pd

from client_dwh.landing import (
    GROUND_TRUTH_DIR,
    WRITE_ROWS,
    JsonlStream,
    begin_part,
    commit_part,
    frame_to_jsonl,
    landing_root,
    part_name,
)
from client_dwh.sources.synthetic.source_system import (
    REFERENCE_ENTITIES,
    Chunk,
    ClientVersions,
    generate_chunk,
    in_part,
    part_ends,
    parts_of_clients,
    parts_of_rows,
    population_chunks,
    reference_frames,
    visible_new_clients,
)

log = logging.getLogger(__name__)

TRUTH = "_ground_truth"  # the station clients' true portraits: streamed like an entity, never in a manifest


def default_batch(as_of: dt.date) -> str:
    """The batch of a synthetic export when none is named: its as-of day, e.g. ``20261122``.

    One batch per day: re-running a day re-lands identical parts (no-op loads); the next day's export is
    a new batch whose unchanged records staging recognises.
    """
    return f"{as_of:%Y%m%d}"


def generate_and_land(
    *,
    clients: int,
    parts: int,
    seed: int,
    batch: str | None = None,
    cumulative: bool = True,
    as_of: dt.date | None = None,
    landing_url: str | None = None,
    entities: Collection[str] | None = None,
    with_ground_truth: bool = False,
) -> list[dict]:
    """Write ``parts`` partitions of batch ``batch`` (default: :func:`default_batch`); return their
    manifests (small metadata).

    ``entities`` lands only those entities (e.g. a test that needs clients and station data only).
    ``with_ground_truth`` also writes the station clients' true portraits to ``<batch>/_ground_truth/``
    for the portrait benchmark and its tests; off for the DAG and the CLI, whose landing zone is the
    production one and holds only what a real source system would send.
    """
    if clients < 1 or parts < 1:
        raise ValueError("clients and parts must be at least 1")
    if parts > clients:
        raise ValueError(f"cannot cut {clients} clients into {parts} parts")
    as_of = as_of or dt.date.today()
    entities = None if entities is None else tuple(entities)  # goes to the worker processes
    chunks = population_chunks(clients, seed)
    # Every chunk's client rows (its clients, then the month's new ones it brings) are known up front,
    # so the parts are cut before anything is generated.
    client_rows = [chunk.n_clients + visible_new_clients(chunk, as_of) for chunk in chunks]
    first_rows = np.cumsum([0, *client_rows[:-1]])
    ends = part_ends(sum(client_rows), parts)
    lander = _Lander(
        root=landing_root(landing_url),
        batch=batch or default_batch(as_of),
        cumulative=cumulative,
        versions=ClientVersions(seed),
        extra={"seed": seed, "as_of": as_of.isoformat(), "mode": "cumulative" if cumulative else "delta"},
        with_ground_truth=with_ground_truth,
    )
    tasks = [
        (chunk, int(first), ends, as_of, entities, with_ground_truth)
        for chunk, first in zip(chunks, first_rows, strict=True)
    ]
    for rows in _generated(tasks):
        lander.land(rows, ends)
        del rows  # before the next chunk arrives: one chunk in memory at a time, not two
    return lander.manifests


@dataclass
class _Lines:
    """One entity's rows of a chunk as JSON Lines, and the part of each line."""

    payload: bytes
    parts: np.ndarray

    def select(self, keep: np.ndarray) -> bytes:
        if keep.all():
            return self.payload
        if not keep.any():
            return b""
        return b"\n".join(compress(self._lines, keep)) + b"\n"

    @cached_property
    def _lines(self) -> list[bytes]:  # split once, however many parts the chunk spans
        return self.payload.split(b"\n")[:-1]


@dataclass
class _ChunkRows:
    """What a worker hands back for one chunk: its rows serialised, the part of each known, ready to write."""

    number: int
    end_row: int  # the population's client rows up to the end of this chunk
    entities: list[str]  # every entity to land, in the order of the manifest
    clients: pd.DataFrame
    client_parts: np.ndarray
    lines: dict[str, _Lines]  # by entity (not the clients, nor the catalogues), and TRUTH


def _chunk_rows(
    chunk: Chunk,
    first_row: int,
    ends: np.ndarray,
    as_of: dt.date,
    entities: Collection[str] | None,
    with_ground_truth: bool,
) -> _ChunkRows:
    """Generate one chunk and serialise its rows (in a worker process when there are several chunks)."""
    frames, truth = generate_chunk(chunk, as_of)
    part_of_client = parts_of_clients(frames["clients"], first_row, ends)
    names = [name for name in frames if entities is None or name in entities]
    lines = {
        name: _Lines(_jsonl(frames[name]), parts_of_rows(name, frames[name], frames, part_of_client))
        for name in names
        if name != "clients" and name not in REFERENCE_ENTITIES
    }
    if with_ground_truth:
        lines[TRUTH] = _Lines(_jsonl(truth), part_of_client.reindex(truth["client_id"]).to_numpy())
    return _ChunkRows(
        number=chunk.number,
        end_row=first_row + len(frames["clients"]),
        entities=names,
        clients=frames["clients"],
        client_parts=part_of_client.to_numpy(),
        lines=lines,
    )


def _jsonl(frame: pd.DataFrame) -> bytes:
    return b"".join(
        frame_to_jsonl(frame.iloc[start : start + WRITE_ROWS]) for start in range(0, len(frame), WRITE_ROWS)
    )


def _generated(tasks: list[tuple]) -> Iterator[_ChunkRows]:
    """Each chunk's rows, in chunk order. Several chunks are generated by a pool of processes, at most one
    chunk ahead per process, so memory stays bounded; the output does not depend on scheduling."""
    workers = min(len(tasks), len(os.sched_getaffinity(0)))
    if workers <= 1:
        yield from (_chunk_rows(*task) for task in tasks)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: the caller may be an Airflow worker with threads running
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        pending: deque = deque()
        for task in tasks:
            pending.append(pool.submit(_chunk_rows, *task))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


class _Lander:
    """Streams the chunks' rows into the parts' files, one part open at a time, each committed by its
    manifest once its last chunk has gone out."""

    def __init__(self, *, root, batch, cumulative, versions, extra, with_ground_truth) -> None:
        self.root, self.batch, self.cumulative = root, batch, cumulative
        self.versions, self.extra, self.with_ground_truth = versions, extra, with_ground_truth
        self.manifests: list[dict] = []
        self.part: int | None = None  # the open part (0-based)
        self.streams: dict[str, JsonlStream] = {}
        self.chunk_start: dict[str, int] = {}  # bytes of each open file before the current chunk's rows
        self.earlier: tuple[int, dict[str, JsonlStream], dict[str, int]] | None = None

    def land(self, rows: _ChunkRows, ends: np.ndarray) -> None:
        self.versions.add(rows.clients, rows.client_parts)
        first, last = int(rows.client_parts[0]), int(rows.client_parts[-1])
        for part in range(first, last + 1):
            if part != self.part:
                self._open(part, rows)
            self.chunk_start = {name: stream.size for name, stream in self.streams.items()}
            for name, lines in rows.lines.items():
                self.streams[name].write(lines.select(in_part(lines.parts, part, self.cumulative)))
            if part < last or ends[part] == rows.end_row:
                self._close(rows)

    def _open(self, part: int, rows: _ChunkRows) -> None:
        self.part = part
        self.part_dir, self.previous_manifest = begin_part(self.root, self.batch, part + 1)
        self.streams = {name: JsonlStream(self.part_dir / f"{name}.jsonl") for name in rows.entities}
        if self.with_ground_truth:
            truth_dir = self.root / self.batch / GROUND_TRUTH_DIR  # outside the part: never loaded
            truth_dir.mkdir(parents=True, exist_ok=True)
            self.streams[TRUTH] = JsonlStream(truth_dir / f"{part_name(part + 1)}-portraits.jsonl")
        for name, frame in reference_frames().items():
            if name in self.streams:
                self.streams[name].write_frame(frame)
        if self.cumulative and self.earlier is not None:
            # Every row of the chunks before this one is in the part before, ahead of that part's rows
            # of this chunk (if it had any).
            earlier_number, earlier_streams, earlier_chunk_start = self.earlier
            for name in rows.lines:
                stream = earlier_streams[name]
                size = earlier_chunk_start[name] if earlier_number == rows.number else stream.size
                self.streams[name].copy_from(stream.path, size)

    def _close(self, rows: _ChunkRows) -> None:
        part = self.part
        changed = self.versions.change_for_part(part)
        if "clients" in self.streams:
            self.streams["clients"].write_frame(self.versions.of_part(part, self.cumulative, changed))
        files = {name: stream.close() for name, stream in self.streams.items()}
        files.pop(TRUTH, None)
        manifest = commit_part(self.part_dir, self.batch, part + 1, files, self.extra, self.previous_manifest)
        log.info("landed %s/%s: %s", self.batch, part + 1, {k: v["rows"] for k, v in files.items()})
        self.manifests.append(manifest)
        self.earlier = (rows.number, self.streams, self.chunk_start)
        self.part = None
