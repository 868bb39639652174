"""Build core from one staged part, in one transaction, and flag overdue instalments as of a date.

Core is built incrementally from the rows a part brought into staging (not rebuilt from scratch), in
dependency order: clients, then loans (which need their client), then payments (which need their loan).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from client_dwh import amount_bands, config
from client_dwh.entities import ENTITIES
from client_dwh.landing import PartitionError
from client_dwh.warehouse.db import connect, query, run_sql

log = logging.getLogger(__name__)

# (entity, SQL file, core table) in build order, from the entity registry.
CORE_STEPS = tuple((e.name, e.core_sql, e.core_table) for e in ENTITIES.values())


class PartNotStaged(RuntimeError):
    """Core was asked to build a part that load_partitions has not loaded (it refused or never saw it)."""


def build_core_for_part(
    part: dict[str, Any], run_id: str | None = None, conn_id: str = config.DWH_CONN_ID
) -> dict[str, Any]:
    batch, part_no = part["batch"], part["part"]
    params = {"batch_id": batch, "part_no": part_no}
    with connect(conn_id) as conn:
        query(conn, "select pg_advisory_xact_lock(hashtext('client_dwh.core'))")
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
        stats = {}
        for entity, sql_file, core_table in CORE_STEPS:
            started = time.perf_counter()
            ((staged,),) = query(
                conn,
                f"select count(*) from staging.{entity} where batch_id = %(batch_id)s and part_no = %(part_no)s",
                params,
            )
            if staged:
                # The part was staged moments ago: without statistics the planner takes the step's
                # latest-version anti-join for a tiny one and nests loops (minutes at 2,000 clients).
                query(conn, f"analyze staging.{entity}")
            run_sql(conn, sql_file, {**params, **amount_bands.SQL_PARAMS})
            if staged:
                # Fresh statistics before the next step (and the marts) join this table: without them a
                # bulk load leaves the planner guessing until autovacuum gets round to it.
                query(conn, f"analyze {core_table}")
            ((rejected,),) = query(
                conn,
                """select count(*) from meta.quarantine where layer = 'core' and entity = %(entity)s
                   and batch_id = %(batch_id)s and part_no = %(part_no)s""",
                {**params, "entity": entity},
            )
            stats[entity] = {
                "staged": staged,
                "quarantined": rejected,
                "applied": staged - rejected,
                "seconds": round(time.perf_counter() - started, 2),
            }
        query(
            conn,
            """update meta.partitions set core_built_at = now(), core_built_by_run = %(run)s
               where batch_id = %(batch_id)s and part_no = %(part_no)s""",
            {**params, "run": run_id},
        )
    log.info("core built from part %s/%s: %s", batch, part_no, stats)
    return {"batch": batch, "part": part_no, "skipped": False, "entities": stats}


def flag_overdue_instalments(as_of: str, conn_id: str = config.DWH_CONN_ID) -> dict[str, Any]:
    """Recompute overdue flags, days past due and loan states as of ``as_of`` (idempotent): the seed's
    per-instalment flags, then each loan's delinquency after payment allocation (tolerance, write-off)."""
    with connect(conn_id) as conn:
        query(conn, "select pg_advisory_xact_lock(hashtext('client_dwh.core'))")
        run_sql(conn, "core/flag_overdue_instalments.sql", {"as_of": as_of})
        run_sql(
            conn,
            "core/loan_delinquency.sql",
            {"as_of": as_of, "tolerance": config.ARREARS_TOLERANCE, "write_off_dpd": config.WRITE_OFF_DPD},
        )
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
    }
    log.info("overdue flags as of %s: %s", as_of, result)
    return result
