"""The one landed parts -> staging -> core -> marts sequence, for the DAG's operators, the CLI and the benchmarks.

Each step is a plain function over the sensor's part metadata, in part order; ``process_parts`` runs them
all and times each, so a benchmark measures exactly what a scheduled run does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from client_dwh import config

log = logging.getLogger(__name__)


def in_order(parts: Any) -> list[dict]:
    """The sensor's XCom (one part or a list) as a list in load order: batch, then part number."""
    parts = parts or []
    if isinstance(parts, dict):
        parts = [parts]
    return sorted(parts, key=lambda p: (p["batch"], p["part"]))


def stage_parts(
    parts: Any,
    run_id: str | None = None,
    conn_id: str = config.DWH_CONN_ID,
    *,
    concurrency: int = 1,
    seconds_per_entity: dict[str, float] | None = None,
) -> list[dict]:
    """Stage the parts as the DAG does: each entity's files in part order (one mapped task per entity in
    the DAG; here ``concurrency`` entities at a time, as that many worker slots would run them), then seal
    the parts whose every file is loaded. A refused file stops its entity only (as a failed mapped task
    does); it is raised once the parts are sealed, so the parts before it stay loaded. The stats per
    sealed part; each entity's seconds go into ``seconds_per_entity`` when given."""
    from concurrent.futures import ThreadPoolExecutor

    from client_dwh.entities import ENTITIES
    from client_dwh.landing import PartitionError
    from client_dwh.warehouse.staging import load_entity_files, seal_partitions

    def load(entity: str) -> PartitionError | None:
        started = time.perf_counter()
        try:
            load_entity_files(entity, parts, run_id=run_id, conn_id=conn_id)
        except PartitionError as error:
            return error
        finally:
            if seconds_per_entity is not None:
                seconds_per_entity[entity] = time.perf_counter() - started
        return None

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="stage") as pool:
        outcomes = list(pool.map(load, ENTITIES))  # in entity order, whichever finished first
    refused = [error for error in outcomes if error is not None]
    sealed = seal_partitions(parts, run_id=run_id, conn_id=conn_id)
    if refused:
        raise refused[0]
    return sealed


def build_core(parts: Any, run_id: str | None = None, conn_id: str = config.DWH_CONN_ID) -> list[dict]:
    """Build core from each staged part, in order (a part already built is skipped)."""
    from client_dwh.warehouse.core import build_core_for_part

    return [build_core_for_part(part, run_id=run_id, conn_id=conn_id) for part in in_order(parts)]


def build_core_in_order(
    parts: Any, run_id: str | None = None, conn_id: str = config.DWH_CONN_ID
) -> tuple[list[dict], Exception | None]:
    """Like ``build_core``, but stop at the first part that is not staged (staging refused it) instead of
    failing: ``(stats of the parts built or skipped before it, that part's PartNotStaged or None)``."""
    from client_dwh.warehouse.core import PartNotStaged, build_core_for_part

    built = []
    for part in in_order(parts):
        try:
            built.append(build_core_for_part(part, run_id=run_id, conn_id=conn_id))
        except PartNotStaged as missing:
            return built, missing
    return built, None


def flag_overdue(as_of: str, conn_id: str = config.DWH_CONN_ID) -> dict[str, Any]:
    """Overdue flags, days past due and loan states as of ``as_of`` (yyyy-mm-dd)."""
    from client_dwh.warehouse.core import flag_overdue_instalments

    return flag_overdue_instalments(str(as_of), conn_id=conn_id)


def refresh_marts(
    as_of: str,
    run_id: str | None = None,
    last_part: dict | None = None,
    rfm_as_of: str | None = None,
    conn_id: str = config.DWH_CONN_ID,
) -> dict[str, Any]:
    """Rebuild the marts into ``mart_next``, check and publish them into ``mart`` (three tasks in the DAG)."""
    from client_dwh.warehouse.marts import build_marts, check_marts, publish_marts

    built = build_marts(str(as_of), conn_id=conn_id, rfm_as_of=rfm_as_of, run_id=run_id)
    check_marts(str(as_of), conn_id=conn_id)
    published = publish_marts(run_id=run_id, last_part=last_part, conn_id=conn_id)
    return {**built, "published": published["rows"]}


def process_parts(
    parts: Any,
    as_of: str,
    *,
    run_id: str | None = None,
    rfm_as_of: str | None = None,
    marts: bool = True,
    staging_concurrency: int = 1,
    after_staging: Callable[[], Any] | None = None,
    conn_id: str = config.DWH_CONN_ID,
) -> dict[str, Any]:
    """Stage (``staging_concurrency`` entities at a time), build core, flag overdue instalments as of
    ``as_of`` and (unless ``marts`` is off) refresh the marts; returns each step's result, ``seconds`` per
    step and ``staging_seconds`` per entity. ``after_staging`` runs between staging and core, untimed (the
    benchmark frees the landed files' disk there)."""
    parts = in_order(parts)
    result: dict[str, Any] = {"parts": len(parts), "seconds": {}, "staging_seconds": {}}

    def timed(step: str, fn, *args, **kwargs):
        started = time.perf_counter()
        result[step] = fn(*args, **kwargs)
        result["seconds"][step] = time.perf_counter() - started

    timed(
        "staging",
        stage_parts,
        parts,
        run_id=run_id,
        conn_id=conn_id,
        concurrency=staging_concurrency,
        seconds_per_entity=result["staging_seconds"],
    )
    if after_staging is not None:
        after_staging()
    timed("core", build_core, parts, run_id=run_id, conn_id=conn_id)
    timed("flag_overdue", flag_overdue, as_of, conn_id=conn_id)
    if marts:
        last = parts[-1] if parts else None
        timed("marts", refresh_marts, as_of, run_id, last, rfm_as_of=rfm_as_of, conn_id=conn_id)
    log.info("processed %d parts: seconds per step %s", len(parts), result["seconds"])
    return result
