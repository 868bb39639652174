"""
### map_uploaded_clients — map an analyst's CSV of clients to portraits (manual trigger)

Reads **Input CSV** (a path on the worker, or any object-storage URL such as `s3://bucket/in.csv`, reached
with the landing zone's connection `LANDING_CONN_ID`), maps
every valid row to the nearest portrait of `include/portraits.json` (or `unassigned` when none is close
enough, see **Threshold**) and writes the result to **Output CSV** (default: `<input>.portraits.csv`
beside the input). UTF-8 (with or without BOM) and Windows-1251 files from Russian Excel, separators `;`
`,` or tab, decimal commas, shares written as `75%` and header variations are accepted.

Bad rows are reported, never dropped: they stay in the output with an empty `portrait_id` and an `error`
column saying why (a line with a field too many or too few included, with its line number), and the task's
XCom counts rows read, mapped, rejected (per check) and unassigned. A file that cannot be read at all (empty,
binary, an Excel workbook, an unknown encoding) fails the task at once with one line naming the input path.
The same mapping runs from the command line: `python -m client_dwh map-portraits IN.csv OUT.csv`.
"""

from __future__ import annotations

import logging

from airflow.sdk import DAG, Param, task

from client_dwh import config
from client_dwh.portraits.threshold import DEFAULT_THRESHOLD, MAX_THRESHOLD, MIN_THRESHOLD

log = logging.getLogger(__name__)

with DAG(
    dag_id="map_uploaded_clients",
    dag_display_name="Map uploaded clients to portraits",
    doc_md=__doc__,
    schedule=None,
    **config.dag_defaults(),
    catchup=False,
    max_active_runs=1,
    tags=["client-analytics", "portraits", "upload"],
    params={
        "input_path": Param(
            type="string",
            minLength=1,
            title="Input CSV",
            description="Path on the worker or object-storage URL of the clients' CSV (client_id + features).",
        ),
        "output_path": Param(
            None,
            type=["null", "string"],
            title="Output CSV",
            description="Where to write the mapped CSV. Empty: <input>.portraits.csv beside the input.",
        ),
        "threshold": Param(
            DEFAULT_THRESHOLD,
            type="number",
            minimum=MIN_THRESHOLD,
            maximum=MAX_THRESHOLD,
            title="Threshold",
            description="Clients farther than this from every portrait stay unassigned (in the catalogue's "
            "declared spreads: 1 = one typical spread on an average feature).",
        ),
    },
) as dag:

    @task(task_display_name="Map the uploaded CSV")
    def map_uploaded_file(params=None) -> dict:
        """XCom: counts (rows read, mapped, rejected per check, unassigned, per portrait) and both paths."""
        from airflow.sdk.exceptions import AirflowFailException

        from client_dwh.portraits.upload import UploadError, map_uploaded_csv

        try:
            result = map_uploaded_csv(
                params["input_path"], params["output_path"] or None, float(params["threshold"])
            )
        except UploadError as error:  # a wrong file will not get better on retry
            raise AirflowFailException(str(error)) from error
        log.info(
            "%d rows read: %d mapped (%d unassigned), %d rejected %s; written to %s",
            result["rows_read"], result["rows_mapped"], result["rows_unassigned"],
            result["rows_rejected"], result["rejections_by_check"], result["output"],
        )  # fmt: skip
        return result

    map_uploaded_file()
