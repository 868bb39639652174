"""Generate the source system and land it as partitions: the one entry point for the DAG and the CLI."""

from __future__ import annotations

import datetime as dt
import logging

from client_dwh.generate.source_system import generate_source_system, split_into_parts
from client_dwh.landing import landing_root, write_partition

log = logging.getLogger(__name__)


def generate_and_land(
    *,
    clients: int,
    parts: int,
    seed: int,
    batch: str,
    cumulative: bool = True,
    as_of: dt.date | None = None,
    landing_url: str | None = None,
) -> list[dict]:
    """Write ``parts`` partitions of batch ``batch``; return their manifests (small metadata)."""
    if clients < 1 or parts < 1:
        raise ValueError("clients and parts must be at least 1")
    if parts > clients:
        raise ValueError(f"cannot cut {clients} clients into {parts} parts")
    as_of = as_of or dt.date.today()
    frames = generate_source_system(clients, seed, as_of)
    root = landing_root(landing_url)
    manifests = []
    for part_no, part_frames in enumerate(split_into_parts(frames, parts, seed, cumulative), start=1):
        extra = {"seed": seed, "as_of": as_of.isoformat(), "mode": "cumulative" if cumulative else "delta"}
        manifest = write_partition(root, batch, part_no, part_frames, extra)
        log.info("landed %s/%s: %s", batch, part_no, {k: v["rows"] for k, v in manifest["files"].items()})
        manifests.append(manifest)
    return manifests
