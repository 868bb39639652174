"""Time a real online-retail export through the whole path: import -> staging -> core -> RFM marts.

Not a test: ``make bench`` prints the figures. The export lands in a temporary landing zone under a
source and batch of its own (``<file>-bench-<timestamp>``), so it never collides with imported data;
unless ``keep`` is set, its rows are removed afterwards and the marts rebuilt without them.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

from client_dwh import config


def bench_retail_import(
    path: str | Path, rows_per_part: int = 200_000, keep: bool = False, conn_id: str = config.DWH_CONN_ID
) -> dict[str, Any]:
    """Return rows, valid RFM customers, seconds per stage and rows/s for ``path`` (CSV or CSV.GZ)."""
    from client_dwh.landing import landing_root, list_landed_parts
    from client_dwh.sources.retail_import import import_online_retail, source_name
    from client_dwh.warehouse.db import connect, query
    from client_dwh.warehouse.ddl import create_schema
    from client_dwh.warehouse.pipeline import process_parts, refresh_marts

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
    source = f"{source_name(path)[:30]}-bench-{stamp}"
    batch = source
    landing = tempfile.mkdtemp(prefix="client_dwh_bench_retail_")
    as_of = dt.date.today().isoformat()
    with connect(conn_id) as conn:
        create_schema(conn)

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    manifests = import_online_retail(
        path, batch, landing_url=landing, rows_per_part=rows_per_part, source=source
    )
    seconds["import"] = time.perf_counter() - started
    rows = sum(m["files"]["retail_purchases"]["rows"] for m in manifests)
    parts = [p.to_xcom() for p in list_landed_parts(landing_root(landing), batch)]

    steps = process_parts(parts, as_of, run_id="bench-retail", conn_id=conn_id)["seconds"]
    seconds["staging_load"] = steps["staging"]
    seconds["core"] = steps["core"] + steps["flag_overdue"]
    seconds["marts"] = steps["marts"]
    seconds["total"] = time.perf_counter() - started

    with connect(conn_id) as conn:
        ((core_rows, valid_customers),) = query(
            conn,
            """select count(*), count(distinct customer_id) filter (where rfm_exclusion_reason is null)
               from core.retail_lines where source = %(s)s""",
            {"s": source},
        )
        ((quarantined,),) = query(
            conn, "select count(*) from meta.quarantine where batch_id = %(b)s", {"b": batch}
        )
        ((rfm_customers,),) = query(conn, "select count(*) from mart.rfm where source = %(s)s", {"s": source})
        segments = dict(
            query(
                conn,
                "select segment, customers from mart.rfm_segments where source = %(s)s order by 2 desc",
                {"s": source},
            )
        )
    if not keep:
        _remove_bench_rows(source, batch, conn_id)
        refresh_marts(as_of, run_id="bench-retail-cleanup", conn_id=conn_id)
    return {
        "file": str(path),
        "rows": rows,
        "parts": len(parts),
        "core_rows": core_rows,
        "quarantined": quarantined,
        "valid_customers": valid_customers,
        "rfm_customers": rfm_customers,
        "rfm_segments": segments,
        "seconds": seconds,
        "rows_per_s": {stage: rows / s for stage, s in seconds.items() if s > 0},
    }


def _remove_bench_rows(source: str, batch: str, conn_id: str) -> None:
    from client_dwh.warehouse.db import connect, query

    with connect(conn_id) as conn:
        query(conn, "delete from core.retail_lines where source = %(s)s", {"s": source})
        for table in ("staging.retail_purchases", "meta.quarantine", "meta.part_files", "meta.partitions"):
            query(conn, f"delete from {table} where batch_id = %(b)s", {"b": batch})


def format_report(r: dict[str, Any]) -> str:
    lines = [
        f"{r['file']}: {r['rows']:,} rows in {r['parts']} parts -> {r['core_rows']:,} in core, "
        f"{r['quarantined']:,} quarantined; {r['valid_customers']:,} valid customers, "
        f"{r['rfm_customers']:,} in mart.rfm",
        f"{'stage':<16}{'seconds':>10}{'rows/s':>14}",
    ]
    for stage, s in r["seconds"].items():
        lines.append(f"{stage:<16}{s:>10.2f}{r['rows_per_s'].get(stage, 0):>14,.0f}")
    lines.append("RFM segments: " + ", ".join(f"{k} {v:,}" for k, v in r["rfm_segments"].items()))
    return "\n".join(lines)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark's rows in the warehouse")
    args = parser.parse_args()
    print(format_report(bench_retail_import(args.path, keep=args.keep)))
