"""Build core from one staged part, and flag overdue instalments as of a date.

Core is built incrementally from the rows a part brought into staging (not rebuilt from scratch). Each
entity of the part is applied in its own transaction, which also records it in ``meta.core_entities``;
an entity starts once those it refers to (``Entity.after``: loans after clients, payments after loans)
are committed, and independent entities are applied at once on ``CORE_CONCURRENCY`` connections (the
longest chain of staged rows first). The part counts as built (``meta.partitions.core_built_at``) only
when every entity is; a failed or killed build leaves the entities it finished recorded, and the next
build of the part applies only the rest. Until then nothing downstream reads core: marts, portraits and
recommendations refuse a half-built part (``refuse_half_built_parts``).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from client_dwh import amount_bands, config
from client_dwh.entities import ENTITIES, Entity
from client_dwh.landing import PartitionError
from client_dwh.warehouse.db import connect, connect_many, is_empty, query, run_sql, truncate_for_bulk_load

log = logging.getLogger(__name__)

# One writer of core at a time (core builds, overdue flags) holds this transaction-level lock; the steps
# reading core after it (marts, portraits, recommendations) hold it shared (progress.claim_parts).
CORE_LOCK = "select pg_advisory_xact_lock(hashtext('client_dwh.core'))"
CORE_READ_LOCK = "select pg_advisory_xact_lock_shared(hashtext('client_dwh.core'))"
# A part bringing at least this share of its core table's rows is applied with the table's secondary
# indexes dropped and rebuilt after (``_bulk``).
BULK_LOAD_FRACTION = 0.5
# The flag step's per-loan statements (delinquency, month flows, month states) run over ranges of this many
# loans: each range's aggregates, joins and sorts then stay within work_mem (a hundred thousand clients'
# book is two ranges, ten thousand one), so neither time per loan nor a backend's memory grows with the book.
LOANS_PER_RANGE = 75_000


class PartNotStaged(RuntimeError):
    """Core was asked to build a part that load_partitions has not loaded (it refused or never saw it)."""


class HalfBuiltPart(RuntimeError):
    """A step after core found a part whose core build stopped between entities."""


def build_core_for_part(
    part: dict[str, Any],
    run_id: str | None = None,
    conn_id: str = config.DWH_CONN_ID,
    concurrency: int = config.CORE_CONCURRENCY,
) -> dict[str, Any]:
    batch, part_no = part["batch"], part["part"]
    params = {"batch_id": batch, "part_no": part_no}
    with connect(conn_id) as conn:
        query(conn, CORE_LOCK)  # held until this build commits: no other build, flags or marts meanwhile
        state = query(
            conn,
            "select core_built_at from meta.partitions where batch_id = %(batch_id)s and part_no = %(part_no)s",
            params,
        )
        if not state:
            raise PartNotStaged(f"{part['path']}: part {batch}/{part_no} is not loaded into staging")
        if state[0][0] is not None:
            log.info("core already built from part %s/%s; nothing to do", batch, part_no)
            return {"batch": batch, "part": part_no, "skipped": True}
        later = query(
            conn,
            """select max(part_no) from meta.partitions
               where batch_id = %(batch_id)s and part_no > %(part_no)s and core_built_at is not null""",
            params,
        )[0][0]
        if later is not None:
            raise PartitionError(
                f"{part['path']}: part {part_no} of batch {batch} arrived after part {later} was built into "
                "core; applying it now would make its older records current. Land its records again as a "
                "part after the batch's last part (or in a new batch)"
            )
        recorded = query(
            conn,
            """select entity, rows_staged, rows_quarantined from meta.core_entities
               where batch_id = %(batch_id)s and part_no = %(part_no)s""",
            params,
        )
        done = {entity: _stats(staged, rejected) for entity, staged, rejected in recorded}
        if done:
            log.info(
                "part %s/%s: %s already built into core; building the rest", batch, part_no, sorted(done)
            )
        # What the load recorded per entity: the rows the part brought into staging (none recorded for a
        # part sealed before meta.part_files existed: then each entity counts its rows itself).
        staged = dict(
            query(
                conn,
                """select entity, rows_staged from meta.part_files
                   where batch_id = %(batch_id)s and part_no = %(part_no)s""",
                params,
            )
        )
        pending = [e for e in ENTITIES.values() if e.name not in done]
        built = _build_entities(pending, set(done), staged, params, run_id, conn_id, concurrency)
        stats = {name: (built.get(name) or done[name]) for name in ENTITIES}
        query(
            conn,
            """update meta.partitions set core_built_at = now(), core_built_by_run = %(run)s
               where batch_id = %(batch_id)s and part_no = %(part_no)s""",
            {**params, "run": run_id},
        )
    log.info("core built from part %s/%s: %s", batch, part_no, stats)
    return {"batch": batch, "part": part_no, "skipped": False, "entities": stats}


def _stats(staged: int, rejected: int, seconds: float | None = None) -> dict[str, Any]:
    stats = {"staged": staged, "quarantined": rejected, "applied": staged - rejected}
    return stats if seconds is None else {**stats, "seconds": round(seconds, 2)}


def _build_entities(
    pending: list[Entity],
    done: set[str],
    staged: dict[str, int],
    params: dict[str, Any],
    run_id: str | None,
    conn_id: str,
    concurrency: int,
) -> dict[str, dict[str, Any]]:
    """Apply ``pending`` entities, each once those it refers to are done, up to ``concurrency`` at once.

    After a failure nothing new starts; the entities already running finish (and are recorded), then the
    first error is raised."""
    if not pending:
        return {}
    priority = _critical_path(staged)
    waiting = {e.name: e for e in pending}
    results: dict[str, dict[str, Any]] = {}
    failure: BaseException | None = None
    workers = max(1, min(concurrency, len(pending)))
    with (
        connect_many(workers, conn_id) as conns,
        ThreadPoolExecutor(workers, thread_name_prefix="core") as pool,
    ):
        idle = list(conns)
        running: dict[Future, tuple[str, Any]] = {}
        while True:
            ready = [] if failure else [e for e in waiting.values() if set(e.after) <= done]
            for entity in sorted(ready, key=lambda e: -priority[e.name])[: len(idle)]:
                conn = idle.pop()
                del waiting[entity.name]
                rows = staged.get(entity.name, 0 if staged else None)  # no file in the part: no rows
                work = pool.submit(_build_entity, conn, entity, rows, params, run_id)
                running[work] = (entity.name, conn)
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                name, conn = running.pop(future)
                idle.append(conn)
                try:
                    results[name] = future.result()
                    done.add(name)
                except BaseException as exc:  # noqa: BLE001 - re-raised below, once the others finished
                    log.error("core build of %s failed: %s", name, exc)
                    failure = failure or exc
    if failure is not None:
        raise failure
    if waiting:  # unreachable while every `after` names an entity of the registry (checked there)
        raise RuntimeError(f"core build could not order {sorted(waiting)}")
    return results


def _critical_path(weights: dict[str, int]) -> dict[str, int]:
    """Per entity: its staged rows plus the heaviest chain of entities that wait for it."""
    path: dict[str, int] = {}
    for entity in reversed(ENTITIES.values()):  # dependents come later in the registry
        below = [path[e.name] for e in ENTITIES.values() if entity.name in e.after]
        path[entity.name] = (weights.get(entity.name) or 0) + max(below, default=0)
    return path


def _build_entity(
    conn, entity: Entity, staged: int | None, params: dict[str, Any], run_id: str | None
) -> dict[str, Any]:
    """Apply the part's ``staged`` rows of ``entity`` (None: count them) to its core table and record it,
    in one transaction."""
    started = time.perf_counter()
    with conn.transaction():  # committed with its meta.core_entities row, or rolled back whole
        if staged is None:
            ((staged,),) = query(
                conn,
                f"""select count(*) from {entity.staging_table}
                    where batch_id = %(batch_id)s and part_no = %(part_no)s""",
                params,
            )
        if staged:
            # The part was staged moments ago: without statistics the planner takes the step's
            # latest-version anti-join for a tiny one and nests loops (minutes at 2,000 clients).
            query(conn, f"analyze {entity.staging_table}")
        # A first load into the table: its SQL inserts without ``on conflict`` - nothing can conflict, and
        # a key repeated within the part fails the insert either way - which spares each row the speculative
        # insertion of an upsert (payments at 100,000 clients: 17 s -> 11 s). Only this build writes the
        # table meanwhile (it holds the core lock).
        fresh = is_empty(conn, entity.core_table)
        if fresh and staged:
            truncate_for_bulk_load(conn, entity.core_table)
        rebuild = _drop_secondary_indexes(conn, entity.core_table) if _bulk(conn, entity, staged) else []
        sql_params = {
            **params,
            **amount_bands.SQL_PARAMS,
            "repeated_keys": _repeated_keys(conn, entity, params),
        }
        run_sql(conn, entity.core_sql, sql_params, fresh=fresh)
        for index_ddl in rebuild:
            query(conn, index_ddl)
        if staged:
            # Fresh statistics before the next step (and the marts) join this table: without them a
            # bulk load leaves the planner guessing until autovacuum gets round to it.
            query(conn, f"analyze {entity.core_table}")
        ((rejected,),) = query(
            conn,
            """select count(*) from meta.quarantine where layer = 'core' and entity = %(entity)s
               and batch_id = %(batch_id)s and part_no = %(part_no)s""",
            {**params, "entity": entity.name},
        )
        query(
            conn,
            """insert into meta.core_entities (batch_id, part_no, entity, rows_staged, rows_quarantined,
                   built_by_run)
               values (%(batch_id)s, %(part_no)s, %(entity)s, %(staged)s, %(rejected)s, %(run)s)""",
            {**params, "entity": entity.name, "staged": staged, "rejected": rejected, "run": run_id},
        )
    return _stats(staged, rejected, time.perf_counter() - started)


def _bulk(conn, entity: Entity, staged: int) -> bool:
    """Whether the part brings at least ``BULK_LOAD_FRACTION`` of the rows its core table holds (a first
    load, a full re-export): then rebuilding the table's secondary indexes after the insert is cheaper
    than updating them row by row (a tenth of the time for an online-retail export)."""
    if not staged:
        return False
    ((rows,),) = query(
        conn,
        "select greatest(reltuples, 0) from pg_class where oid = %(t)s::regclass",
        {"t": entity.core_table},
    )
    return staged >= BULK_LOAD_FRACTION * rows


def _repeated_keys(conn, entity: Entity, params: dict[str, Any]) -> bool:
    """Whether the part staged two versions of some natural key of ``entity`` (then only the latest counts,
    ``latest_in_part`` in core/_macros.sql). One narrow aggregate over the part's keys: far cheaper at
    scale than the anti-join it spares when the answer is no (payments of a million clients: 25-41 s
    against about 150 s)."""
    ((repeated,),) = query(
        conn,
        f"""select exists (select from {entity.staging_table}
                           where batch_id = %(batch_id)s and part_no = %(part_no)s
                           group by natural_key having count(*) > 1)""",
        params,
    )
    return repeated


def _drop_secondary_indexes(conn, table: str) -> list[str]:
    """Drop ``table``'s non-unique indexes (in the caller's transaction) and return the statements that
    recreate them as the DDL defined them. Unique indexes stay: they keep the keys unique and arbitrate
    the upserts."""
    indexes = query(
        conn,
        """select indexrelid::regclass::text, pg_get_indexdef(indexrelid) from pg_index
           where indrelid = %(t)s::regclass and not indisunique order by 1""",
        {"t": table},
    )
    for name, _ in indexes:
        query(conn, f"drop index {name}")
    return [definition for _, definition in indexes]


def refuse_half_built_parts(conn) -> None:
    """Raise ``HalfBuiltPart`` when a part's core build stopped between entities: core then holds some of
    its entities and not the rest, and nothing should be computed from it until a build finishes it."""
    rows = query(
        conn,
        """select p.batch_id, p.part_no, array_agg(c.entity order by c.entity)
           from meta.partitions as p join meta.core_entities as c using (batch_id, part_no)
           where p.core_built_at is null
           group by 1, 2 order by 1, 2""",
    )
    if rows:
        batch, part_no, built = rows[0]
        missing = sorted(set(ENTITIES) - set(built))
        raise HalfBuiltPart(
            f"part {batch}/{part_no} is half built into core ({', '.join(built)} applied; "
            f"{', '.join(missing)} not): "
            "run dwh_pipeline again (build_core finishes the part) before computing anything from core"
        )


def flag_overdue_instalments(as_of: str, conn_id: str = config.DWH_CONN_ID) -> dict[str, Any]:
    """Recompute overdue flags, days past due and loan states as of ``as_of`` (idempotent): the seed's
    per-instalment flags, then each loan's delinquency after payment allocation (tolerance, write-off).

    All writes to core happen in one transaction. The delinquency and month states run once per range of
    loans (``_loan_ranges``), so their sorts and hashes stay the size of one range whatever the book's
    size. Meanwhile a second connection computes each range's amounts due and paid by the last 13 month
    ends into the work table ``meta.loan_month_flows``, committing range by range (it reads only amounts
    and dates, which the flags do not change, and the core lock held here keeps every core build out), so
    a range's month states (``core/loan_month_states.sql``) need only the allocation step once its flows
    are in."""
    params = {"as_of": as_of, "tolerance": config.ARREARS_TOLERANCE, "write_off_dpd": config.WRITE_OFF_DPD}
    with connect(conn_id) as conn, connect_many(1, conn_id) as (side,):
        query(conn, CORE_LOCK)
        ranges = _loan_ranges(conn)
        flows_in = [threading.Event() for _ in ranges]
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="month-flows") as pool:
            flows = pool.submit(_loan_month_flows, side, params, ranges, flows_in)
            try:
                run_sql(conn, "core/flag_overdue_instalments.sql", params)
                for number, loan_range in enumerate(ranges):
                    _run_for_range(conn, "core/loan_delinquency.sql", params, number, loan_range)
                    while not flows_in[number].wait(timeout=1):
                        if flows.done():  # the side connection failed (or stopped short): its error, here
                            flows.result()
                            raise RuntimeError(f"month flows stopped before loan range {number + 1}")
                    _run_for_range(conn, "core/loan_month_states.sql", params, number, loan_range)
            finally:
                flows.result()  # joined (and its error raised) before this transaction goes on or rolls back
        # the flags and states just changed: marts filter on them
        query(conn, "analyze core.instalments, core.loans, core.loan_month_states")
        rows = query(
            conn,
            """select count(*) filter (where is_overdue), count(*) filter (where days_past_due > 0
                      and dpd_bucket <> 'current'), count(*) from core.instalments""",
        )
        statuses = dict(query(conn, "select status, count(*) from core.loans group by status"))
    overdue, with_dpd, total = rows[0]
    result = {
        "as_of": str(as_of),
        "instalments": total,
        "overdue_instalments": overdue,
        "loan_status": statuses,
        "loan_ranges": len(ranges),
    }
    log.info("overdue flags as of %s: %s", as_of, result)
    return result


def _loan_month_flows(
    conn, params: dict[str, Any], ranges: list[tuple[str | None, str | None]], done: list[threading.Event]
) -> None:
    """core/loan_month_flows.sql on its own connection, range by range, each committed (a work table only
    this step reads) and then announced through its event in ``done``."""
    for number, (loan_range, event) in enumerate(zip(ranges, done, strict=True)):
        with conn.transaction():
            _run_for_range(conn, "core/loan_month_flows.sql", params, number, loan_range)
        event.set()


def _run_for_range(
    conn, sql_file: str, params: dict[str, Any], number: int, loan_range: tuple[str | None, str | None]
) -> None:
    """Run ``sql_file`` for the ``number``-th range of loans of ``_loan_ranges``: its bounds bound as values
    into the range predicates (``in_loan_range`` in core/_macros.sql); the first range creates or empties
    the step's tables (``first_range``)."""
    loan_from, loan_to = loan_range
    bounds = {"loan_from": loan_from, "loan_to": loan_to}
    run_sql(conn, sql_file, {**params, **bounds}, first_range=number == 0, **bounds)


def _loan_ranges(conn) -> list[tuple[str | None, str | None]]:
    """Consecutive ranges of core.loans' loan_id of ``LOANS_PER_RANGE`` loans each, as (from, to): from
    inclusive, to exclusive, None for an open end (one range, (None, None), for a smaller book)."""
    bounds = [
        loan_id
        for (loan_id,) in query(
            conn,
            """select loan_id from (select loan_id, row_number() over (order by loan_id) as n
                                    from core.loans) as l
               where n %% %(size)s = 1 and n > 1 order by loan_id""",
            {"size": LOANS_PER_RANGE},
        )
    ]
    edges = [None, *bounds, None]
    return list(zip(edges[:-1], edges[1:], strict=True))
