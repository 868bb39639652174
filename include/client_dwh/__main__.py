"""Command line for use outside Airflow: ``python -m client_dwh <command>``.

generate   land synthetic partitions      (python -m client_dwh generate --clients 100 --parts 5 --out DIR)
warehouse  start/stop the embedded PostgreSQL, or print the warehouse URI
pipeline   generate, then run dwh_pipeline over every landed part with dag.test() and print a summary
process    run dwh_pipeline (and recommend_services) over what has landed, e.g. an imported export
import-retail  land an online-retail export (CSV or CSV.GZ)   (python -m client_dwh import-retail PATH)
map-portraits  map a CSV of clients to portraits  (python -m client_dwh map-portraits IN.csv OUT.csv)
import-partners  land a partner catalogue (text format)     (python -m client_dwh import-partners CATALOGUE.txt)
import-crm     clean and land a CRM client export (CSV)     (python -m client_dwh import-crm CRM.csv)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys


def generate(args: argparse.Namespace) -> int:
    from client_dwh.sources.synthetic.land import generate_and_land

    manifests = generate_and_land(
        clients=args.clients, parts=args.parts, seed=args.seed, batch=args.batch,
        cumulative=not args.delta, as_of=args.as_of, landing_url=args.out,
    )  # fmt: skip
    for m in manifests:
        print(json.dumps({"batch": m["batch"], "part": m["part"], "rows": _rows(m)}))
    return 0


def warehouse(args: argparse.Namespace) -> int:
    from client_dwh.devtools import embedded_postgres

    if args.action == "start":
        print(embedded_postgres.start())
    elif args.action == "stop":
        embedded_postgres.stop()
    else:
        print(embedded_postgres.uri())
    return 0


def pipeline(args: argparse.Namespace) -> int:
    from client_dwh.devtools.headless import run_pipeline
    from client_dwh.sources.synthetic.land import default_batch

    return run_pipeline(
        clients=args.clients, parts=args.parts, seed=args.seed, batch=args.batch or default_batch(dt.date.today()),
        cumulative=not args.delta,
    )  # fmt: skip


def process(args: argparse.Namespace) -> int:
    from client_dwh.devtools.headless import process_landed

    return process_landed(batch=args.batch, as_of=args.as_of.isoformat() if args.as_of else None)


def import_retail(args: argparse.Namespace) -> int:
    from client_dwh.sources.retail_import import import_online_retail, source_name

    manifests = import_online_retail(
        args.path, batch=args.batch or f"retail-{source_name(args.path)}", landing_url=args.out,
        rows_per_part=args.rows_per_part, source=args.source, encoding=args.encoding,
        delimiter=_delimiter(args.delimiter),
    )  # fmt: skip
    for m in manifests:
        print(
            json.dumps(
                {"batch": m["batch"], "part": m["part"], "rows": m["files"]["retail_purchases"]["rows"]}
            )
        )
    first = manifests[0]
    summary = {
        k: first.get(k) for k in ("source_file", "encoding", "delimiter", "rows_in_export", "bad_lines")
    }
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def import_partners(args: argparse.Namespace) -> int:
    from client_dwh.sources.partner_import import import_partner_catalogue

    m = import_partner_catalogue(args.path, batch=args.batch, landing_url=args.out, encoding=args.encoding)
    return _print_landed(m)


def import_crm(args: argparse.Namespace) -> int:
    from client_dwh.sources.partner_import import import_crm_export

    m = import_crm_export(
        args.path, batch=args.batch, landing_url=args.out, encoding=args.encoding,
        delimiter=_delimiter(args.delimiter),
    )  # fmt: skip
    return _print_landed(m)


def map_portraits(args: argparse.Namespace) -> int:
    from client_dwh import config
    from client_dwh.portraits.catalogue import load_portraits
    from client_dwh.portraits.threshold import DEFAULT_THRESHOLD
    from client_dwh.portraits.upload import map_csv

    threshold = DEFAULT_THRESHOLD if args.threshold is None else args.threshold
    result = map_csv(
        args.input, args.output, load_portraits(config.PORTRAITS_FILE), threshold,
        encoding=args.encoding, delimiter=_delimiter(args.delimiter),
    )  # fmt: skip
    print(json.dumps(result, ensure_ascii=False))
    return 0


def _rows(manifest: dict) -> dict[str, int]:
    return {entity: file["rows"] for entity, file in manifest["files"].items()}


def _print_landed(m: dict) -> int:
    summary = {"batch": m["batch"], "part": m["part"], "rows": _rows(m)}
    summary.update(
        {k: m[k] for k in ("encoding", "delimiter", "crm_cleaning", "catalogue", "parse_problems") if k in m}
    )
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def _delimiter(value: str | None) -> str | None:
    return {"tab": "\t", "\\t": "\t"}.get(value, value) if value else None


def _add_reading_options(command: argparse.ArgumentParser) -> None:
    """Options of the commands that read a user's file (whose errors are one line, not a traceback)."""
    command.set_defaults(reads_user_file=True)
    command.add_argument(
        "--encoding",
        default=None,
        help="the file's encoding (default: detected: UTF-8 with or without BOM, cp1251)",
    )
    command.add_argument(
        "--delimiter",
        default=None,
        help="the field delimiter (default: detected from the header: , ; or tab)",
    )


def parser() -> argparse.ArgumentParser:
    """Every subcommand and its arguments; ``func`` is the function that runs it."""
    root = argparse.ArgumentParser(prog="python -m client_dwh", description=__doc__.splitlines()[0])
    sub = root.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="land synthetic partitions")
    gen.set_defaults(func=generate)
    gen.add_argument("--clients", type=int, default=1000)
    gen.add_argument("--parts", type=int, default=5)
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument(
        "--batch",
        default=None,
        help="default: the as-of day (yyyymmdd), as generate_sources names it: one export per day",
    )
    gen.add_argument("--delta", action="store_true", help="delta parts instead of cumulative ones")
    gen.add_argument("--as-of", type=dt.date.fromisoformat, default=None, help="default: today")
    gen.add_argument("--out", default=None, help="landing zone (default: $LANDING_DIR)")

    wh = sub.add_parser("warehouse", help="embedded PostgreSQL")
    wh.set_defaults(func=warehouse)
    wh.add_argument("action", choices=["start", "stop", "uri"])

    pipe = sub.add_parser("pipeline", help="generate and run the whole pipeline headless")
    pipe.set_defaults(func=pipeline)
    pipe.add_argument("--clients", type=int, default=1000)
    pipe.add_argument("--parts", type=int, default=5)
    pipe.add_argument("--seed", type=int, default=42)
    pipe.add_argument("--batch", default=None)
    pipe.add_argument("--delta", action="store_true")

    proc = sub.add_parser("process", help="run the pipeline headless over what has landed (no generation)")
    proc.set_defaults(func=process)
    proc.add_argument("--batch", default=None, help="only parts of this batch (default: every pending part)")
    proc.add_argument(
        "--as-of",
        type=dt.date.fromisoformat,
        default=None,
        help="as-of date of overdue flags (default: today)",
    )

    retail = sub.add_parser("import-retail", help="land an online-retail export as retail_purchases parts")
    retail.set_defaults(func=import_retail)
    retail.add_argument("path", help="CSV or CSV.GZ with the UCI Online Retail columns")
    retail.add_argument("--batch", default=None, help="default: retail-<file name>")
    retail.add_argument("--source", default=None, help="default: the file name without .csv/.gz")
    retail.add_argument("--rows-per-part", type=int, default=200_000)
    retail.add_argument("--out", default=None, help="landing zone (default: $LANDING_DIR)")
    _add_reading_options(retail)

    partners = sub.add_parser(
        "import-partners", help="land a partner catalogue text file as partner_services"
    )
    partners.set_defaults(func=import_partners, reads_user_file=True)
    partners.add_argument("path", help="catalogue text: organisation blocks with one service per line")
    partners.add_argument("--batch", default=None, help="default: partners-<file name>")
    partners.add_argument("--out", default=None, help="landing zone (default: $LANDING_DIR)")
    partners.add_argument(
        "--encoding", default=None, help="default: detected (UTF-8 with or without BOM, cp1251)"
    )

    crm = sub.add_parser("import-crm", help="clean a CRM export and land it as crm_clients")
    crm.set_defaults(func=import_crm)
    crm.add_argument("path", help="CSV with full_name, phone, email (aliases accepted), crm_id, updated_at")
    crm.add_argument("--batch", default=None, help="default: crm-<file name>")
    crm.add_argument("--out", default=None, help="landing zone (default: $LANDING_DIR)")
    _add_reading_options(crm)

    portraits = sub.add_parser("map-portraits", help="map a CSV of clients to portraits (bad rows reported)")
    portraits.set_defaults(func=map_portraits)
    portraits.add_argument("input", help="CSV with client_id and the features of include/portraits.json")
    portraits.add_argument("output", help="mapped CSV: the input columns plus portrait_id, ..., error")
    portraits.add_argument("--threshold", type=float, default=None, help="default: the calibrated one")
    _add_reading_options(portraits)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not getattr(args, "reads_user_file", False):
        return args.func(args)
    try:
        return args.func(args)
    except (ValueError, OSError) as error:  # the user's file cannot be used: one line, nothing landed
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
