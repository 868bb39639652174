"""
### import_partner_data — land a partner catalogue or a CRM client export (manual trigger)

Reads **File** (a path the worker can read) as **Kind**:

* `catalogue` — the partners' text catalogue (organisation blocks, one service per line): services land
  as a `partner_services` part; every line the parser could not use (a service without a name, a
  duplicate service, an organisation without services) lands too, so `dwh_pipeline` puts it in
  `meta.quarantine` with its line number and reason;
* `crm` — a CRM client export (CSV; encoding and delimiter detected): cleaned rows land as `crm_clients`,
  rejected and ragged rows too, quarantined by `dwh_pipeline` with the cleaning's reason.

The part goes to batch `partners-<file name>` / `crm-<file name>` (or **Batch**), where `dwh_pipeline`'s
sensor picks it up, like the retail export of `generate_sources`. Importing the same file into the same
batch again changes nothing. The same import runs from the command line: `python -m client_dwh
import-partners CATALOGUE.txt` / `import-crm CRM.csv`.
"""

from __future__ import annotations

import logging

from airflow.sdk import DAG, Param, task

from client_dwh import config
from client_dwh.landing import BATCH_NAME

log = logging.getLogger(__name__)

with DAG(
    dag_id="import_partner_data",
    dag_display_name="Import partner catalogue or CRM export",
    doc_md=__doc__,
    schedule=None,
    **config.dag_defaults(),
    catchup=False,
    max_active_runs=1,
    tags=["client-analytics", "source-system", "recommendations", "upload"],
    params={
        "path": Param(
            type="string",
            minLength=1,
            title="File",
            description="Path on the worker of the catalogue text or the CRM CSV export.",
        ),
        "kind": Param(
            "catalogue",
            type="string",
            enum=["catalogue", "crm"],
            title="Kind",
            description="catalogue: partners' services (text); crm: CRM client export (CSV).",
        ),
        "batch": Param(
            None,
            type=["null", "string"],
            pattern=BATCH_NAME.pattern,
            title="Batch name",
            description="Empty: partners-<file name> or crm-<file name>.",
        ),
    },
) as dag:

    @task(task_display_name="Land the partner file")
    def land_partner_file(params=None) -> dict:
        """XCom: batch, part, rows per file and the import's counts (parse problems, CRM cleaning)."""
        from pathlib import Path

        from airflow.sdk.exceptions import AirflowFailException

        from client_dwh.sources.formats.csv_export import CsvExportError
        from client_dwh.sources.partner_import import import_crm_export, import_partner_catalogue

        path = Path(params["path"]).expanduser()
        if not path.is_file():
            raise AirflowFailException(f"path {str(path)!r} does not exist or is not a file on this worker")
        importer = import_partner_catalogue if params["kind"] == "catalogue" else import_crm_export
        try:
            manifest = importer(path, batch=params["batch"] or None)
        except (CsvExportError, ValueError) as error:  # a wrong file does not get better on retry
            raise AirflowFailException(str(error)) from None  # the message names the file and the fix
        result = {
            "batch": manifest["batch"],
            "part": manifest["part"],
            "rows": {name: spec["rows"] for name, spec in manifest["files"].items()},
            **{key: manifest[key] for key in ("catalogue", "crm_cleaning") if key in manifest},
        }
        log.info("landed %s: %s", path.name, result)
        return result

    land_partner_file()
