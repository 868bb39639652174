"""Command line for use outside Airflow: ``python -m client_dwh <command>``.

generate   land synthetic partitions      (python -m client_dwh generate --clients 100 --parts 5 --out DIR)
warehouse  start/stop the embedded PostgreSQL, or print the warehouse URI
pipeline   generate, then run dwh_pipeline over every landed part with dag.test() and print a summary
import-retail  land an online-retail export (CSV or CSV.GZ)   (python -m client_dwh import-retail PATH)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys


def _default_batch(seed: int) -> str:
    # One batch per seed and day: re-running the same day re-lands identical parts (no-op loads); the
    # next day's export is a new batch whose unchanged records staging recognises.
    return f"synthetic-s{seed}-{dt.date.today():%Y%m%d}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m client_dwh", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="land synthetic partitions")
    gen.add_argument("--clients", type=int, default=1000)
    gen.add_argument("--parts", type=int, default=5)
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--batch", default=None, help="default: synthetic-s<seed>-<yyyymmdd>: one export per day")
    gen.add_argument("--delta", action="store_true", help="delta parts instead of cumulative ones")
    gen.add_argument("--as-of", type=dt.date.fromisoformat, default=None, help="default: today")
    gen.add_argument("--out", default=None, help="landing zone (default: $LANDING_DIR)")

    wh = sub.add_parser("warehouse", help="embedded PostgreSQL")
    wh.add_argument("action", choices=["start", "stop", "uri"])

    pipe = sub.add_parser("pipeline", help="generate and run the whole pipeline headless")
    pipe.add_argument("--clients", type=int, default=1000)
    pipe.add_argument("--parts", type=int, default=5)
    pipe.add_argument("--seed", type=int, default=42)
    pipe.add_argument("--batch", default=None)
    pipe.add_argument("--delta", action="store_true")

    retail = sub.add_parser("import-retail", help="land an online-retail export as retail_purchases parts")
    retail.add_argument("path", help="CSV or CSV.GZ with the UCI Online Retail columns")
    retail.add_argument("--batch", default=None, help="default: retail-<file name>")
    retail.add_argument("--source", default=None, help="default: the file name without .csv/.gz")
    retail.add_argument("--rows-per-part", type=int, default=200_000)
    retail.add_argument("--out", default=None, help="landing zone (default: $LANDING_DIR)")

    args = parser.parse_args(argv)
    if args.command == "generate":
        from client_dwh.generate.land import generate_and_land

        manifests = generate_and_land(
            clients=args.clients, parts=args.parts, seed=args.seed,
            batch=args.batch or _default_batch(args.seed), cumulative=not args.delta,
            as_of=args.as_of, landing_url=args.out,
        )  # fmt: skip
        for m in manifests:
            print(
                json.dumps(
                    {
                        "batch": m["batch"],
                        "part": m["part"],
                        "rows": {k: v["rows"] for k, v in m["files"].items()},
                    }
                )
            )
        return 0
    if args.command == "warehouse":
        from client_dwh import embedded_postgres

        if args.action == "start":
            print(embedded_postgres.start())
        elif args.action == "stop":
            embedded_postgres.stop()
        else:
            print(embedded_postgres.uri())
        return 0
    if args.command == "import-retail":
        from client_dwh.retail_import import import_online_retail, source_name

        manifests = import_online_retail(
            args.path, batch=args.batch or f"retail-{source_name(args.path)}", landing_url=args.out,
            rows_per_part=args.rows_per_part, source=args.source,
        )  # fmt: skip
        for m in manifests:
            print(
                json.dumps(
                    {"batch": m["batch"], "part": m["part"], "rows": m["files"]["retail_purchases"]["rows"]}
                )
            )
        return 0
    if args.command == "pipeline":
        from client_dwh.headless import run_pipeline

        return run_pipeline(
            clients=args.clients, parts=args.parts, seed=args.seed,
            batch=args.batch or _default_batch(args.seed), cumulative=not args.delta,
        )  # fmt: skip
    return 2


if __name__ == "__main__":
    sys.exit(main())
