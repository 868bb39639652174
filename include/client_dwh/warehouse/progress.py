"""What each step after core has processed: one marker per part and step in ``meta.part_steps``.

Core's progress is ``meta.partitions.core_built_at``. Each later step (marts, portraits, recommendations)
*claims* the core-built parts when it starts reading core, and marks its claim *done* when its result is
published. A claim taken before the step reads core never covers more than the step saw, so a part is
marked only for a result that includes it. The sensor counts a part as processed only when core and every
step are done: a re-run finishes whatever failed or never ran, even when no new part has arrived.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from client_dwh.warehouse.db import query

if TYPE_CHECKING:
    import psycopg

DOWNSTREAM_STEPS = ("marts", "portraits", "recommendations")


def claim_parts(conn: psycopg.Connection, step: str, run_id: str | None) -> int:
    """Claim, for ``run_id``, every core-built part ``step`` has not finished; return how many.

    Also makes core hold still for the rest of the caller's transaction: waits for a core build in
    progress (its entities commit one by one) and keeps the next from starting (a shared hold of the
    lock core builds take), and refuses a part whose build stopped between entities (HalfBuiltPart)."""
    from client_dwh.warehouse.core import CORE_READ_LOCK, refuse_half_built_parts

    _check(step)
    query(conn, CORE_READ_LOCK)
    refuse_half_built_parts(conn)
    rows = query(
        conn,
        """insert into meta.part_steps (batch_id, part_no, step, claimed_by_run, claimed_at)
           select batch_id, part_no, %(step)s, %(run)s, now() from meta.partitions
           where core_built_at is not null
           on conflict (batch_id, part_no, step) do update
               set claimed_by_run = excluded.claimed_by_run, claimed_at = excluded.claimed_at
               where meta.part_steps.done_at is null
           returning 1""",
        {"step": step, "run": run_id},
    )
    return len(rows)


def finish_claimed_parts(conn: psycopg.Connection, step: str, run_id: str | None) -> int:
    """Mark done the parts ``run_id`` claimed for ``step`` (call in the transaction that publishes)."""
    _check(step)
    rows = query(
        conn,
        """update meta.part_steps set done_at = now(), done_by_run = %(run)s
           where step = %(step)s and done_at is null and claimed_by_run is not distinct from %(run)s
           returning 1""",
        {"step": step, "run": run_id},
    )
    return len(rows)


def fully_processed_parts(conn: psycopg.Connection) -> set[tuple[str, int]]:
    """(batch, part) of every part built into core and processed by every downstream step."""
    return {
        (batch, part)
        for batch, part in query(
            conn,
            """select p.batch_id, p.part_no from meta.partitions as p
               where p.core_built_at is not null
                 and (select count(*) from meta.part_steps as s
                      where s.batch_id = p.batch_id and s.part_no = p.part_no
                        and s.step = any(%(steps)s) and s.done_at is not null) = cardinality(%(steps)s)""",
            {"steps": list(DOWNSTREAM_STEPS)},
        )
    }


def pending_steps(conn: psycopg.Connection) -> dict[str, int]:
    """Per downstream step, how many core-built parts it has not processed yet."""
    rows = dict(
        query(
            conn,
            """select step, count(*) filter (where s.done_at is null)
               from unnest(%(steps)s::text[]) as step
               cross join meta.partitions as p
               left join meta.part_steps as s using (batch_id, part_no, step)
               where p.core_built_at is not null
               group by step""",
            {"steps": list(DOWNSTREAM_STEPS)},
        )
    )
    return {step: rows.get(step, 0) for step in DOWNSTREAM_STEPS}


def _check(step: str) -> None:
    if step not in DOWNSTREAM_STEPS:
        raise ValueError(f"unknown pipeline step {step!r}; known: {', '.join(DOWNSTREAM_STEPS)}")
