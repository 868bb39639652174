"""The one way a mart is published: build its next version in ``mart_next``, check it, swap it into ``mart``.

Every mart - loans, segments and RFM, portraits, recommendations - goes through here. A group of marts is
built into ``mart_next.<table>`` (an empty copy of ``mart.<table>``), its checks (``include/sql/checks/``,
one row whose columns must all be true) run against that next version, and only then ``swap`` replaces
each table's rows in one transaction, with delete + insert: readers keep seeing the previous rows until
the swap commits and never wait for it (``truncate`` would lock them out). A failed build or check leaves
``mart`` as it was.

The loan marts are built, checked and swapped by three tasks of ``dwh_pipeline``; the portrait and
recommendation marts do the three steps in one transaction (``publish``).
"""

from __future__ import annotations

import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from client_dwh import config
from client_dwh.warehouse.db import connect, connect_many, query, run_sql
from client_dwh.warehouse.progress import claim_parts, finish_claimed_parts

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

NEXT_SCHEMA = "mart_next"


@dataclass(frozen=True)
class MartGroup:
    """Marts published together: ``tables`` maps each mart table to the SQL file that fills
    ``{{ target }}.<table>`` (in order; None when the caller fills it), ``checks`` is their quality gate:
    one SQL file, or several that ``check`` runs at once on their own connections."""

    name: str
    tables: dict[str, str | None]
    checks: str | tuple[str, ...]

    @property
    def check_files(self) -> tuple[str, ...]:
        return (self.checks,) if isinstance(self.checks, str) else self.checks


LOAN_MARTS = MartGroup(
    "loans",
    {
        "overdue_by_month": "mart/overdue_by_month.sql",
        "portfolio_at_risk": "mart/portfolio_at_risk.sql",
        "overdue_notifications": "mart/overdue_notifications.sql",
        "roll_rates": "mart/roll_rates.sql",
        "vintage_curves": "mart/vintage_curves.sql",
        # segment_top_products first: client_segments takes its suggestions from that ranking.
        "segment_top_products": "mart/segment_top_products.sql",
        "client_segments": "mart/client_segments.sql",
        "rfm": "mart/rfm.sql",
        "rfm_segments": "mart/rfm_segments.sql",  # summarises rfm
        "rfm_settings": "mart/rfm_settings.sql",  # how rfm was computed (duplicate lines), for the dashboard
    },
    # the loan marts' gate and the segments' and RFM's, at once on two connections
    ("checks/marts.sql", "checks/marts_segments_rfm.sql"),
)
PORTRAIT_MARTS = MartGroup(
    "portraits",
    {
        "client_portraits": "portraits/client_portraits.sql",
        "portrait_distribution": "portraits/portrait_distribution.sql",
    },
    "checks/portraits.sql",
)
# Recommender history marts keep every run's rows: their next version is the current one with this run's
# rows replaced.
RECOMMENDATION_MARTS = MartGroup(
    "recommendations", {"recommendations": "recommend/recommendations.sql"}, "checks/recommendations.sql"
)
RECOMMENDER_METRICS_MARTS = MartGroup(
    "recommender_metrics",
    {"recommender_metrics": "recommend/recommender_metrics.sql"},
    "checks/recommender_metrics.sql",
)
AB_TEST_MARTS = MartGroup(
    "ab_test_results", {"ab_test_results": "recommend/ab_test_results.sql"}, "checks/ab_test_results.sql"
)


class MartCheckFailed(RuntimeError):
    """A quality check on ``mart_next`` failed; ``mart`` keeps its previous rows."""


def lock_group(conn: psycopg.Connection, group: MartGroup) -> None:
    """Hold ``group``'s lock until ``conn``'s transaction ends: build, gate and publish of one group (from any
    run or worker) take it, so they never interleave."""
    query(
        conn, "select pg_advisory_xact_lock(hashtext(%(lock)s))", {"lock": f"client_dwh.marts.{group.name}"}
    )


def build(conn: psycopg.Connection, group: MartGroup, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """(Re)create ``mart_next.<table>`` for each table of ``group`` and fill it; rows and seconds per table."""
    rows, seconds = {}, {}
    for table in group.tables:
        rows[table], seconds[table] = _build_table(conn, group, table, params)
    return {"rows": rows, "seconds": seconds}


def _build_table(
    conn: psycopg.Connection, group: MartGroup, table: str, params: dict[str, Any] | None
) -> tuple[int, float]:
    started = time.perf_counter()
    query(conn, f"drop table if exists {NEXT_SCHEMA}.{table}")
    query(conn, f"create table {NEXT_SCHEMA}.{table} (like mart.{table} including all)")
    sql_file = group.tables[table]
    if sql_file:
        run_sql(conn, sql_file, params or {}, target=NEXT_SCHEMA)
    ((rows,),) = query(conn, f"select count(*) from {NEXT_SCHEMA}.{table}")
    return rows, round(time.perf_counter() - started, 2)


def chains(group: MartGroup) -> list[list[str]]:
    """``group``'s tables as chains that can be built independently, in the group's order: a table whose
    SQL reads another table of the group (``{{ target }}.<table>``) joins that table's chain, after it."""
    result: list[list[str]] = []
    for table, sql_file in group.tables.items():
        text = (config.SQL_DIR / sql_file).read_text(encoding="utf-8") if sql_file else ""
        reads = [
            chain
            for chain in result
            if any(re.search(r"\{\{ target \}\}\." + re.escape(t) + r"\b", text) for t in chain)
        ]
        at = result.index(reads[0]) if reads else len(result)
        merged = [t for chain in reads for t in chain] + [table]
        result = [chain for chain in result if all(chain is not r for r in reads)]
        result.insert(at, merged)  # the chains removed all stood at `at` or after
    return result


def _build_concurrently(
    conn: psycopg.Connection, group: MartGroup, params: dict[str, Any], conn_id: str, concurrency: int
) -> dict[str, Any]:
    """``build`` on up to ``concurrency`` connections: ``conn`` (the caller's transaction) and helpers, each
    taking whole chains in order; a helper commits its tables when the queue is empty. Core cannot change
    meanwhile: ``conn`` holds the core lock shared until the helpers are done. (A helper must not ask for
    that lock itself: it would queue behind a core build waiting for ``conn``, which waits for it.)"""
    from collections import deque

    queue = deque(chains(group))
    helpers = max(0, min(concurrency, len(queue)) - 1)
    rows: dict[str, int] = {}
    seconds: dict[str, float] = {}

    def work(worker: psycopg.Connection) -> None:
        while True:
            try:
                chain = queue.popleft()
            except IndexError:
                return
            for table in chain:
                rows[table], seconds[table] = _build_table(worker, group, table, params)

    def helper(worker: psycopg.Connection) -> None:
        with worker.transaction():  # commits the helper's tables, or rolls them back on an error
            work(worker)

    with connect_many(helpers, conn_id) as others, ThreadPoolExecutor(max(helpers, 1)) as pool:
        running = [pool.submit(helper, other) for other in others]
        try:
            work(conn)
        finally:
            queue.clear()  # after a failure here, the helpers start nothing new
            for future in running:
                future.result()
    order = list(group.tables)
    return {
        "rows": {t: rows[t] for t in order},
        "seconds": {t: seconds[t] for t in order},
    }


def check(
    conn: psycopg.Connection,
    group: MartGroup,
    params: dict[str, Any] | None = None,
    conn_id: str | None = None,
) -> dict[str, bool]:
    """Run ``group``'s checks against ``mart_next``; raise ``MartCheckFailed`` naming every false check and
    its file. With ``conn_id`` each file after the first runs at once on a connection of its own (only for
    committed marts: another connection does not see the caller's uncommitted ``mart_next``)."""

    def run(worker: psycopg.Connection, checks: str) -> dict[str, bool]:
        cursor = run_sql(worker, checks, params or {})
        names = [column.name for column in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))

    def run_alone(helper: psycopg.Connection, checks: str) -> dict[str, bool]:
        try:
            return run(helper, checks)
        finally:  # it only read: end its transaction now, not when the slowest file is done
            helper.rollback()

    if conn_id is None:
        return _failed_or_passed(group, {checks: run(conn, checks) for checks in group.check_files})
    first, *others = group.check_files
    with connect_many(len(others), conn_id) as helpers, ThreadPoolExecutor(max(len(others), 1)) as pool:
        running = [
            pool.submit(run_alone, helper, checks) for helper, checks in zip(helpers, others, strict=True)
        ]
        outcomes = {first: run(conn, first)}
        outcomes.update({checks: future.result() for checks, future in zip(others, running, strict=True)})
    return _failed_or_passed(group, outcomes)


def _failed_or_passed(group: MartGroup, outcomes: dict[str, dict[str, bool]]) -> dict[str, bool]:
    failures = {
        checks: [name for name, ok in results.items() if not ok] for checks, results in outcomes.items()
    }
    failed = [f"include/sql/{checks}: {len(names)} check(s) failed on {NEXT_SCHEMA}: {', '.join(names)}"
              for checks, names in failures.items() if names]  # fmt: skip
    if failed:
        raise MartCheckFailed(
            f"{'; '.join(failed)}; mart keeps the previous {', '.join(group.tables)} - fix the data or the "
            "build and re-run"
        )
    results = {name: ok for checks in outcomes.values() for name, ok in checks.items()}
    log.info("%s: %d checks passed", ", ".join(group.check_files), len(results))
    return results


def swap(
    conn: psycopg.Connection, group: MartGroup, run_id: str | None, last_part: dict | None = None
) -> dict[str, int]:
    """Replace each ``mart.<table>`` with ``mart_next.<table>`` (delete + insert, in the caller's
    transaction) and note it in ``meta.mart_refresh``; rows per table. The next version stays until the
    next build, so publishing again publishes the same rows."""
    rows = {}
    for table in group.tables:
        query(conn, f"delete from mart.{table}")
        query(conn, f"insert into mart.{table} select * from {NEXT_SCHEMA}.{table}")
        ((rows[table],),) = query(conn, f"select count(*) from mart.{table}")
        record_mart_refresh(conn, f"mart.{table}", run_id, last_part, rows[table])
    return rows


def publish(
    conn: psycopg.Connection,
    group: MartGroup,
    params: dict[str, Any] | None = None,
    run_id: str | None = None,
    last_part: dict | None = None,
) -> dict[str, Any]:
    """Build, check and swap ``group`` in the caller's transaction (a failure rolls all of it back)."""
    lock_group(conn, group)
    built = build(conn, group, params)
    check(conn, group, params)
    rows = swap(conn, group, run_id, last_part)
    for table in group.tables:  # built and published in this transaction: no use for it afterwards
        query(conn, f"drop table {NEXT_SCHEMA}.{table}")
    log.info("published %s marts: rows %s, build seconds %s", group.name, rows, built["seconds"])
    return {"rows": rows, "seconds": built["seconds"]}


def build_marts(
    as_of: str,
    conn_id: str = config.DWH_CONN_ID,
    rfm_as_of: str | None = None,
    run_id: str | None = None,
    rfm_exclude_duplicate_lines: bool = False,
    group: MartGroup = LOAN_MARTS,
    concurrency: int = config.MART_CONCURRENCY,
) -> dict[str, Any]:
    """Build the loan, segment and RFM marts into ``mart_next`` (committed: ``check_marts`` and
    ``publish_marts`` follow as tasks of their own). ``rfm_as_of`` (yyyy-mm-dd) overrides the RFM as-of
    date, by default each source's last day + 1; ``rfm_exclude_duplicate_lines`` leaves exact-duplicate
    export lines out of RFM (default: they count, as the RFM specification says).

    Claims the core-built parts for ``run_id`` (meta.part_steps); ``publish_marts`` of the same run
    marks them done."""
    params = {
        "as_of": as_of,
        "rfm_as_of": rfm_as_of or None,
        "rfm_exclude_duplicate_lines": bool(rfm_exclude_duplicate_lines),
    }
    with connect(conn_id) as conn:
        lock_group(conn, group)
        claim_parts(conn, "marts", run_id)  # before reading core: never claims more than the marts saw
        built = _build_concurrently(conn, group, params, conn_id, concurrency)
    log.info("built marts as of %s into %s: %s", as_of, NEXT_SCHEMA, built)
    return {"as_of": str(as_of), **built}


def check_marts(
    as_of: str, conn_id: str = config.DWH_CONN_ID, group: MartGroup = LOAN_MARTS
) -> dict[str, bool]:
    """The quality gate on the built loan, segment and RFM marts (as of ``as_of``). Holds the group's lock,
    as their build and publish do: another run's build must not replace ``mart_next`` under the gate (with
    the gate's files on two connections, a build waiting for one of them while the other waited for the
    build was a deadlock PostgreSQL cannot see: two runs at once hung)."""
    with connect(conn_id) as conn:
        lock_group(conn, group)
        return check(conn, group, {"as_of": as_of}, conn_id)


def publish_marts(
    run_id: str | None,
    last_part: dict | None,
    conn_id: str = config.DWH_CONN_ID,
    group: MartGroup = LOAN_MARTS,
) -> dict[str, Any]:
    """Swap the built and checked loan, segment and RFM marts into ``mart`` in one transaction."""
    with connect(conn_id) as conn:
        lock_group(conn, group)
        missing = [
            table
            for table in group.tables
            if not query(conn, "select to_regclass(%(t)s)", {"t": f"{NEXT_SCHEMA}.{table}"})[0][0]
        ]
        if missing:
            raise RuntimeError(
                f"{NEXT_SCHEMA} has no {', '.join(missing)}: nothing to publish; run build_marts and check_marts first"
            )
        rows = swap(conn, group, run_id, last_part)
        finish_claimed_parts(conn, "marts", run_id)
    log.info("published marts: %s", rows)
    return {"rows": rows}


def record_mart_refresh(
    conn: psycopg.Connection,
    mart: str,
    run_id: str | None,
    last_part: dict | None = None,
    rows: int | None = None,
) -> None:
    """Note in ``meta.mart_refresh`` that ``mart`` (schema-qualified) was just published, by which run and
    from which part; the dashboards show it. ``rows`` defaults to the mart's current row count."""
    if rows is None:
        ((rows,),) = query(conn, f"select count(*) from {mart}")
    query(
        conn,
        """insert into meta.mart_refresh (mart, refreshed_at, dag_run_id, last_batch_id, last_part_no, row_count)
           values (%(mart)s, now(), %(run)s, %(batch)s, %(part)s, %(rows)s)
           on conflict (mart) do update set refreshed_at = excluded.refreshed_at,
               dag_run_id = excluded.dag_run_id, last_batch_id = excluded.last_batch_id,
               last_part_no = excluded.last_part_no, row_count = excluded.row_count""",
        {
            "mart": mart,
            "run": run_id,
            "batch": (last_part or {}).get("batch"),
            "part": (last_part or {}).get("part"),
            "rows": rows,
        },
    )
