"""``make bench``: throughput of every stage, and the staging load next to plain COPY and pandas.to_sql.

Not a test: it prints figures. The baselines run in the same process, on the same rows, against the same
warehouse, right after the load they are compared with:

* plain COPY: the same JSON Lines bytes copied into an empty one-column unlogged ``jsonb`` table (the
  least any loader must do: get each record into PostgreSQL parsed), and for context the same COPY into
  an ordinary (WAL-logged) table, as durable as staging;
* ``pandas.DataFrame.to_sql``: the seed projects' way, on a sample of each entity (it is too slow to run
  on everything), reported in rows/s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import tempfile
import time
from typing import Any

TO_SQL_SAMPLE_ROWS = 30_000


def _timed(fn, *args, **kwargs) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def bench_pipeline(clients: int, seed: int = 42, parts: int = 1, concurrency: int = 1) -> dict[str, Any]:
    """One measured run; ``concurrency`` entity loads at a time in staging (as that many worker slots run
    the DAG's mapped loads) and in the plain-COPY baselines alike, so their ratio stays like for like."""
    from client_dwh.devtools.bench.memory import PeakRss
    from client_dwh.landing import landing_root, list_landed_parts
    from client_dwh.sources.synthetic.land import generate_and_land
    from client_dwh.warehouse.pipeline import process_parts

    as_of = dt.date.today()
    landing = tempfile.mkdtemp(prefix="client_dwh_bench_")
    batch = f"bench-{clients}"
    _fresh_warehouse()

    results: dict[str, Any] = {"clients": clients, "concurrency": concurrency}
    with PeakRss() as generate_memory:
        manifests, seconds = _timed(
            generate_and_land,
            clients=clients,
            parts=parts,
            seed=seed,
            batch=batch,
            as_of=as_of,
            landing_url=landing,
        )
    rows = sum(f["rows"] for m in manifests for f in m["files"].values())
    results["generate"] = {"rows": rows, "seconds": seconds, **generate_memory.as_dict()}

    landed = [p.to_xcom() for p in list_landed_parts(landing_root(landing))]
    # Baselines first, on the same landed bytes: the strict one into an unlogged table (no WAL), and for
    # context the same COPY into an ordinary table (WAL-logged, as staging is); each table dropped after.
    # Then the landed files can go as soon as they are staged: a million clients land 12.7 GB, and the
    # landing zone, staging and core would not fit on this machine's disk together.
    results["plain_copy"] = _bench_plain_copy(landed, rows, unlogged=True, concurrency=concurrency)
    results["plain_copy_logged"] = _bench_plain_copy(landed, rows, unlogged=False, concurrency=concurrency)
    results["to_sql"] = _bench_to_sql(landed[-1])

    with PeakRss(database=_database_name()) as warehouse_memory:
        processed = process_parts(
            landed,
            as_of.isoformat(),
            run_id="bench",
            staging_concurrency=concurrency,
            after_staging=lambda: shutil.rmtree(landing, ignore_errors=True),
        )
    results["warehouse_memory"] = warehouse_memory.as_dict()
    seconds = processed["seconds"]
    results["staging_load"] = {
        "rows": sum(s["read"] for s in processed["staging"]),
        "seconds": seconds["staging"],
    }
    results["core"] = {
        "rows": rows,
        "seconds": seconds["core"] + seconds["flag_overdue"],
        "flag_overdue_seconds": seconds["flag_overdue"],
    }
    results["marts"] = {"rows": rows, "seconds": seconds["marts"]}
    results["end_to_end_seconds"] = results["generate"]["seconds"] + sum(seconds.values())
    results["per_entity"] = _per_entity(processed)
    for key in ("generate", "staging_load", "core", "marts", "plain_copy", "plain_copy_logged", "to_sql"):
        results[key]["rows_per_s"] = results[key]["rows"] / results[key]["seconds"]
    results["staging_vs_copy"] = results["staging_load"]["rows_per_s"] / results["plain_copy"]["rows_per_s"]
    results["staging_vs_copy_logged"] = (
        results["staging_load"]["rows_per_s"] / results["plain_copy_logged"]["rows_per_s"]
    )
    results["staging_vs_to_sql"] = results["staging_load"]["rows_per_s"] / results["to_sql"]["rows_per_s"]
    return results


def _per_entity(processed: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Rows, staging and core seconds of each entity (summed over the parts): where the time goes."""
    out: dict[str, dict[str, float]] = {
        entity: {"rows": 0, "staging_s": seconds, "core_s": 0.0}
        for entity, seconds in processed["staging_seconds"].items()
    }
    for part in processed["core"]:
        for entity, stats in (part.get("entities") or {}).items():
            row = out.setdefault(entity, {"rows": 0, "staging_s": 0.0, "core_s": 0.0})
            row["rows"] += stats["staged"]
            row["core_s"] += stats["seconds"]
    return out


def _fresh_warehouse() -> None:
    """Empty schemas in the scratch database, so each measurement starts from the same state."""
    from client_dwh.warehouse.db import connect, query
    from client_dwh.warehouse.ddl import create_schema

    with connect() as conn:
        query(conn, "drop schema if exists staging, core, mart, mart_next, meta cascade")
        create_schema(conn)


def _database_name() -> str:
    from urllib.parse import urlsplit

    from client_dwh.warehouse.db import connection_uri

    return urlsplit(connection_uri()).path.lstrip("/")


def _bench_plain_copy(
    landed: list[dict[str, Any]], rows: int, unlogged: bool, concurrency: int = 1
) -> dict[str, float]:
    from concurrent.futures import ThreadPoolExecutor

    from client_dwh.landing import part_files, verified_chunks
    from client_dwh.warehouse.db import connect, query

    with connect() as conn:
        query(conn, "drop table if exists public.bench_plain_copy")
        query(conn, f"create {'unlogged ' if unlogged else ''}table public.bench_plain_copy (record jsonb)")

    def copy_entity(entity: str) -> None:  # streamed, verified, as the staging load reads them
        with connect() as conn, conn.cursor() as cur:
            for part in landed:
                path = part_files(part).get(entity)
                if path is None:
                    continue
                with cur.copy(
                    "copy public.bench_plain_copy (record) from stdin with (format csv, delimiter e'\\x01', quote e'\\x02')"
                ) as copy:
                    for chunk in verified_chunks(path, part["files"][entity]):
                        copy.write(chunk)

    entities = sorted({entity for part in landed for entity in part["files"]})
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        list(pool.map(copy_entity, entities))
    seconds = time.perf_counter() - started
    with connect() as conn:
        query(conn, "drop table public.bench_plain_copy")
    return {"rows": rows, "seconds": seconds}


def _bench_to_sql(part: dict[str, Any]) -> dict[str, float]:
    import pandas as pd
    import sqlalchemy

    from client_dwh.landing import part_files
    from client_dwh.warehouse.db import connection_uri

    engine = sqlalchemy.create_engine(connection_uri().replace("postgresql://", "postgresql+psycopg://", 1))
    rows, seconds = 0, 0.0
    files = part_files(part)
    for entity, path in files.items():
        with path.open("rb") as handle:  # only the sample's lines are read
            frame = pd.read_json(handle, lines=True, nrows=TO_SQL_SAMPLE_ROWS)
        started = time.perf_counter()
        frame.to_sql(f"bench_to_sql_{entity}", engine, schema="public", if_exists="replace", index=False)
        seconds += time.perf_counter() - started
        rows += len(frame)
    with engine.begin() as conn:
        for entity in files:
            conn.execute(sqlalchemy.text(f"drop table if exists public.bench_to_sql_{entity}"))
    engine.dispose()
    return {"rows": rows, "seconds": seconds}


def format_report(r: dict[str, Any]) -> str:
    lines = [
        f"clients: {r['clients']:,}   rows landed: {r['generate']['rows']:,}   "
        f"entity loads at a time (staging and COPY baselines): {r['concurrency']}",
        "",
    ]
    lines.append(f"{'stage':<22}{'rows':>12}{'seconds':>10}{'rows/s':>14}")
    for key, label in (
        ("generate", "generate + land"),
        ("staging_load", "staging load"),
        ("core", "core (+ overdue flags)"),
        ("marts", "marts (build+publish)"),
        ("plain_copy", "baseline: plain COPY"),
        ("plain_copy_logged", "  same, logged table"),
        ("to_sql", "baseline: to_sql*"),
    ):
        s = r[key]
        lines.append(f"{label:<22}{s['rows']:>12,}{s['seconds']:>10.2f}{s['rows_per_s']:>14,.0f}")
    lines += ["", f"{'entity':<22}{'rows':>12}{'staging s':>10}{'core s':>10}"]
    for entity, e in sorted(r["per_entity"].items(), key=lambda kv: -kv[1]["rows"]):
        lines.append(f"{entity:<22}{e['rows']:>12,}{e['staging_s']:>10.2f}{e['core_s']:>10.2f}")
    lines.append(f"{'overdue flags':<22}{'':>12}{'':>10}{r['core']['flag_overdue_seconds']:>10.2f}")
    memory, generate = r["warehouse_memory"], r["generate"]
    lines += [
        "",
        f"peak RSS: generate + land {generate['peak_rss_mib']:,.0f} MiB in all, largest process "
        f"{generate['peak_largest_process_mib']:,.0f} MiB; staging → marts {memory['peak_rss_mib']:,.0f} MiB "
        f"(largest PostgreSQL backend {memory['peak_backend_rss_mib'] or 0:,.0f} MiB)",
        f"end to end (generate → marts): {r['end_to_end_seconds']:.1f} s",
        f"staging load / plain COPY:     {r['staging_vs_copy']:.2f}x  (unlogged target table)",
        f"staging load / logged COPY:    {r['staging_vs_copy_logged']:.2f}x  (ordinary target table)",
        f"staging load / to_sql:         {r['staging_vs_to_sql']:.1f}x",
        f"* to_sql on a sample of up to {TO_SQL_SAMPLE_ROWS:,} rows per entity",
    ]
    return "\n".join(lines)


def _use_scratch_database() -> None:
    """Point the ``dwh`` connection at ``<database>_bench`` on the same server: the benchmark drops and
    recreates schemas, and must never touch the warehouse a user is working with."""
    import os
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    from client_dwh.warehouse.db import connection_uri

    parts = urlsplit(connection_uri())._replace(scheme="postgresql")  # not SQLAlchemy's postgresql+psycopg
    bench_db = f"{parts.path.lstrip('/') or 'dwh'}_bench"
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", (bench_db,)).fetchone():
            conn.execute(f'create database "{bench_db}"')
    os.environ["AIRFLOW_CONN_DWH"] = urlunsplit(parts._replace(path=f"/{bench_db}"))
    print(f"benchmark warehouse: {parts.hostname}:{parts.port}/{bench_db}\n", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=2,
        help="entity loads at a time in staging and the COPY baselines (the DAG maps one task per entity)",
    )
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument(
        "--retail", help="also import this Online Retail export (CSV or CSV.GZ) and compute RFM"
    )
    parser.add_argument(
        "--models", action="store_true", help="also benchmark portrait mapping and recommendations"
    )
    args = parser.parse_args()
    _use_scratch_database()
    all_results = []
    for clients in args.clients:
        result = bench_pipeline(clients, args.seed, concurrency=args.concurrency)
        all_results.append(result)
        print(format_report(result), "\n", flush=True)
        if args.models:  # the model tasks on the core just built: seconds and peak RSS, a process per step
            from client_dwh.devtools.bench.models_scale import bench_models

            result["models"] = bench_models()
    if len(all_results) > 1:
        small, big = all_results[0], all_results[-1]
        ratio = big["end_to_end_seconds"] / small["end_to_end_seconds"]
        print(f"scaling: {big['clients'] / small['clients']:.0f}x clients took {ratio:.1f}x the time")
    if args.retail:
        from client_dwh.devtools.bench.retail import bench_retail_import
        from client_dwh.devtools.bench.retail import format_report as format_retail

        _fresh_warehouse()  # the export alone, not on top of the synthetic clients just benchmarked
        print(format_retail(bench_retail_import(args.retail)), "\n", flush=True)
    if args.models:
        from client_dwh.devtools.bench.portraits import bench_portraits
        from client_dwh.devtools.bench.recommend import bench_recommend

        print("portraits:", json.dumps(bench_portraits(), indent=2, default=str), flush=True)
        print("recommendations:", json.dumps(bench_recommend(), indent=2, default=str), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(all_results, f, indent=2, default=str)


if __name__ == "__main__":
    main()
