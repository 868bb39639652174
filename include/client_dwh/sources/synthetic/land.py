"""Generate the source system and land it as partitions: the one entry point for the DAG and the CLI."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection

from client_dwh.landing import GROUND_TRUTH_DIR, frame_to_jsonl, landing_root, part_name, write_partition
from client_dwh.sources.synthetic.source_system import generate_source_system_and_truth, split_into_parts

log = logging.getLogger(__name__)


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
    batch = batch or default_batch(as_of)
    frames, truth = generate_source_system_and_truth(clients, seed, as_of)
    if entities is not None:
        frames = {name: frame for name, frame in frames.items() if name in entities}
    root = landing_root(landing_url)
    manifests = []
    for part_no, part_frames in enumerate(split_into_parts(frames, parts, seed, cumulative), start=1):
        extra = {"seed": seed, "as_of": as_of.isoformat(), "mode": "cumulative" if cumulative else "delta"}
        manifest = write_partition(root, batch, part_no, part_frames, extra)
        if with_ground_truth:
            # Outside the part's folder and manifest, so the warehouse never loads it.
            part_truth = truth[
                truth["client_id"].isin(part_frames.get("station_clients", truth)["client_id"])
            ]
            truth_dir = root / batch / GROUND_TRUTH_DIR
            truth_dir.mkdir(parents=True, exist_ok=True)
            (truth_dir / f"{part_name(part_no)}-portraits.jsonl").write_bytes(frame_to_jsonl(part_truth))
        log.info("landed %s/%s: %s", batch, part_no, {k: v["rows"] for k, v in manifest["files"].items()})
        manifests.append(manifest)
    return manifests
