"""Fault injection against the real warehouse and real dag.test() runs: helpers shared by the suite.

Every test lands files of its own, breaks something (a late part, a flipped byte, a bad portraits
file, a killed process, two runs at once), repairs it as an operator would, and compares the final
warehouse with a clean run of the same files, table by table (``fingerprint``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from contextlib import contextmanager
from pathlib import Path

LOGICAL_DATE = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
AS_OF = "2026-11-20"  # every run computes flags and marts as of the same day, so runs compare exactly
ROOT = Path(__file__).resolve().parents[2]

# Columns that say *when* or *by which run* something happened; everything else must match a clean run.
VOLATILE_TYPES = ("timestamp with time zone",)
VOLATILE_NAMES = ("run", "run_id", "dag_run_id", "model_run_id", "loaded_by_run", "core_built_by_run")
# Bookkeeping of runs and models (ids, times, training snapshots) and the recommender's history (one
# row set per training run, by design): compared through what they produce.
SKIPPED_TABLES = {
    "meta.mart_refresh",
    "meta.portrait_models",
    "meta.part_steps",
    "mart.recommender_metrics",
    "mart.ab_test_results",
    "meta.loan_month_flows",  # the flag step's work table: the last flag run's figures, whatever its fate
}


def reset_warehouse(conn) -> None:
    from client_dwh.warehouse.ddl import create_schema

    conn.execute("drop schema if exists staging, core, mart, mart_next, meta cascade")
    with conn.transaction():
        create_schema(conn)


def fingerprint(conn) -> dict[str, tuple[int, str]]:
    """Per table of staging, core, mart and meta: (rows, md5 of the sorted rows without volatile columns)."""
    columns: dict[str, list[str]] = {}
    for table, column, data_type, identity in conn.execute(
        """select c.table_schema || '.' || c.table_name, c.column_name, c.data_type, c.is_identity
           from information_schema.columns as c
           join information_schema.tables as t using (table_schema, table_name)
           where c.table_schema in ('staging', 'core', 'mart', 'meta') and t.table_type = 'BASE TABLE'
             and c.table_schema || '.' || c.table_name not like 'meta.recommender%%'
           order by 1, c.ordinal_position"""
    ).fetchall():
        if table in SKIPPED_TABLES:
            continue
        volatile = (
            data_type in VOLATILE_TYPES
            or identity == "YES"
            or column.endswith(VOLATILE_NAMES)
            or column == "source_file"  # where the test's landing zone is; line_no stays compared
        )
        columns.setdefault(table, [])
        if not volatile:
            columns[table].append(f'"{column}"')
    result = {}
    for table, kept in columns.items():
        row_text = f"({', '.join(kept)})::text" if kept else "''"
        result[table] = conn.execute(
            f"select count(*), coalesce(md5(string_agg({row_text}, '|' order by {row_text})), '') from {table}"
        ).fetchone()
    return result


def assert_same_state(conn, clean_state) -> None:
    """The warehouse now equals ``clean_state(conn)``, the state a clean run leaves (which may reset the
    warehouse to compute it: the state is taken first)."""
    now = fingerprint(conn)
    clean = clean_state(conn)
    differing = sorted(t for t in set(now) | set(clean) if now.get(t) != clean.get(t))
    assert not differing, {t: (clean.get(t), now.get(t)) for t in differing}


def assert_every_row_accounted_for(conn) -> None:
    """rows read = staged + unchanged + quarantined for every part, and meta.quarantine agrees."""
    parts = conn.execute(
        """select p.batch_id, p.part_no, p.rows_read, p.rows_staged, p.rows_unchanged, p.rows_quarantined,
                  (select count(*) from meta.quarantine as q where q.layer = 'staging'
                     and q.batch_id = p.batch_id and q.part_no = p.part_no)
           from meta.partitions as p"""
    ).fetchall()
    assert parts
    for batch, part, read, staged, unchanged, quarantined, listed in parts:
        assert read == staged + unchanged + quarantined, (batch, part)
        assert quarantined == listed, (batch, part)


def run_pipeline(conf: dict, logical_date: dt.datetime = LOGICAL_DATE, recommend: bool = True):
    """dag.test() the real dwh_pipeline and, when it published marts, recommend_services (as the scheduler
    does on the marts Asset); return dwh_pipeline's finished DagRun."""
    from client_dwh.devtools.headless import get_dag

    conf = {"wait_timeout_seconds": 0, "as_of_date": AS_OF, **conf}
    run = get_dag("dwh_pipeline").test(run_conf=conf, logical_date=logical_date)
    if recommend and task_states(run).get("publish_marts", ("",))[0] == "success":
        recommend = get_dag("recommend_services").test(logical_date=logical_date)
        assert str(recommend.state) == "success"
    return run


def task_states(run) -> dict[str, tuple[str, int]]:
    """task_id (``task_id[label]`` for a mapped task's instance, e.g. ``load_partitions[payments]``) ->
    (state, try_number) of a dag.test() run."""
    from airflow.utils.session import create_session

    def label(ti) -> str:
        return ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.rendered_map_index or ti.map_index}]"

    with create_session() as session:
        return {label(ti): (str(ti.state), ti.try_number) for ti in run.get_task_instances(session=session)}


def later(minutes: int) -> dt.datetime:
    return LOGICAL_DATE + dt.timedelta(minutes=minutes)


def landed_parts(landing: str, batch: str) -> list[dict]:
    from client_dwh.landing import landing_root, list_landed_parts

    return [p.to_xcom() for p in list_landed_parts(landing_root(landing), batch)]


def spawn_python(code: str, **env: str) -> subprocess.Popen:
    """A Python process with the suite's environment (warehouse, landing) running ``code``."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, "PYTHONPATH": str(ROOT / "include"), **env},
        cwd=ROOT,
    )


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def land_part_by_hand(landing: str, batch: str, part_no: int, files: dict[str, list[dict]]) -> Path:
    """Write a part as an exporting system would: data files first, the manifest last."""
    part_dir = Path(landing) / batch / f"part-{part_no:04d}"
    part_dir.mkdir(parents=True)
    manifest = {"batch": batch, "part": part_no, "files": {}}
    for entity, records in files.items():
        write_jsonl(part_dir / f"{entity}.jsonl", records)
        data = (part_dir / f"{entity}.jsonl").read_bytes()
        manifest["files"][entity] = {
            "path": f"{entity}.jsonl",
            "rows": data.count(b"\n"),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    (part_dir / "_manifest.json").write_text(json.dumps(manifest, indent=2))
    return part_dir


@contextmanager
def full_disk(conn, table: str, once_written: bool = False):
    """Inside the block every insert into ``table`` fails as on a full disk (a statement trigger raising
    PostgreSQL's own message); the disk is freed at the end of the block. ``once_written``: the disk fills
    only once the table holds a row (a step writing it range by range fails in its second range)."""
    condition = f"exists (select from {table})" if once_written else "true"
    conn.execute(
        f"""create function meta.refuse_insert() returns trigger language plpgsql
            as $$ begin
                if {condition} then
                    raise exception 'could not extend file: No space left on device (injected)';
                end if;
                return null;
            end $$"""
    )
    conn.execute(
        f"""create trigger refuse_insert before insert on {table}
            for each statement execute function meta.refuse_insert()"""
    )
    try:
        yield
    finally:
        conn.execute(f"drop trigger refuse_insert on {table}")
        conn.execute("drop function meta.refuse_insert()")
