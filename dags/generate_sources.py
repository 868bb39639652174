"""
### generate_sources — the synthetic source system's daily export

Generates realistic clients, loans and payments (Faker `ru_RU` names, numpy distributions; the same
seed and month give the same world) and lands them as numbered parts under the landing zone
(`LANDING_DIR`, local or object storage): `<batch>/part-NNNN/<entity>.jsonl` plus `_manifest.json`
(row counts and sha256), the manifest written last so a part is never half-visible.

*Cumulative* parts repeat every earlier row, as the source system's exports did; *delta* parts bring
only new rows. `dwh_pipeline` picks the parts up either way without creating duplicates.

Set **retail_export_path** (manual trigger) to land a real online-retail export (UCI "Online Retail"
columns, CSV or CSV.GZ: a path on the worker or an object-storage URL such as `s3://bucket/export.csv.gz`,
read with the landing zone's connection `LANDING_CONN_ID`) instead of generating: its lines become
`retail_purchases` parts of batch `retail-<file name>` (or the Batch param), and `dwh_pipeline` builds
the RFM marts from them.
"""

from __future__ import annotations

from airflow.sdk import DAG, Param, task

from client_dwh import config
from client_dwh.landing import BATCH_NAME

with DAG(
    dag_id="generate_sources",
    dag_display_name="Generate synthetic source data",
    doc_md=__doc__,
    schedule="@daily",
    **config.dag_defaults(),
    catchup=False,
    max_active_runs=1,
    tags=["client-analytics", "source-system"],
    params={
        "clients": Param(
            config.DEFAULT_CLIENTS, type="integer", minimum=1, maximum=2_000_000, title="Clients"
        ),
        "parts": Param(config.DEFAULT_PARTS, type="integer", minimum=1, maximum=1000, title="Parts"),
        "seed": Param(config.DEFAULT_SEED, type="integer", minimum=0, title="Random seed"),
        "cumulative": Param(
            True,
            type="boolean",
            title="Cumulative parts",
            description="Each part repeats every earlier row (off: delta parts).",
        ),
        "batch": Param(
            None,
            type=["null", "string"],
            pattern=BATCH_NAME.pattern,
            title="Batch name",
            description="Empty: the run's date (logical date, else the day it was made for), e.g. 20261122.",
        ),
        "retail_export_path": Param(
            None,
            type=["null", "string"],
            title="Online-retail export to import",
            description="Path on the worker or object-storage URL (s3://...) of a CSV or CSV.GZ export; when set, it is imported instead of "
            "generating synthetic data.",
        ),
        "retail_export_encoding": Param(
            None,
            type=["null", "string"],
            pattern=r"^[A-Za-z0-9_.-]{1,32}$",
            title="Encoding of the export",
            description="Empty: detected (UTF-8 with or without BOM, Windows-1251). Give it (e.g. cp1252) "
            "for anything else; a file that is neither is refused, never loaded garbled.",
        ),
    },
) as dag:

    @task(task_display_name="Generate and land partitions")
    def generate_and_land_partitions(params=None, dag_run=None) -> list[dict]:
        """Land every part of the batch; XCom gets each part's manifest (counts and checksums)."""
        from client_dwh.sources.synthetic.land import generate_and_land

        if params.get("retail_export_path"):
            from airflow.sdk.exceptions import AirflowFailException

            from client_dwh.sources.formats.csv_export import CsvExportError
            from client_dwh.sources.retail_import import import_online_retail, source_name
            from client_dwh.storage import local_copy, storage_path, url_of

            export = storage_path(params["retail_export_path"])  # s3://... with LANDING_CONN_ID
            if not export.is_file():
                raise AirflowFailException(
                    f"retail_export_path {url_of(export)!r} does not exist or is not a file; "
                    "give a CSV or CSV.GZ export the workers can reach (a path or an s3:// URL)"
                )
            source = source_name(export.name)
            try:  # encoding and delimiter detected; ragged lines land for core to quarantine
                with local_copy(export) as path:
                    manifests = import_online_retail(
                        path, batch=params["batch"] or f"retail-{source}", source=source,
                        encoding=params.get("retail_export_encoding") or None, name=params["retail_export_path"],
                    )  # fmt: skip
            except CsvExportError as error:  # an unreadable file does not get better on retry
                raise AirflowFailException(f"retail_export_path: {error}") from None
            return [{"batch": m["batch"], "part": m["part"], "files": m["files"]} for m in manifests]

        from client_dwh.run_dates import run_as_of_date

        as_of = run_as_of_date(params, dag_run)
        manifests = generate_and_land(
            clients=params["clients"],
            parts=params["parts"],
            seed=params["seed"],
            batch=params["batch"],  # empty: default_batch(as_of)
            cumulative=params["cumulative"],
            as_of=as_of,
        )
        return [{"batch": m["batch"], "part": m["part"], "files": m["files"]} for m in manifests]

    generate_and_land_partitions()
