"""
### dwh_pipeline — landed parts → staging → core → marts

Waits for landed partitions the warehouse has not processed, then, for each part in order:

1. **wait_for_partitions** — sensor; pushes the pending parts' metadata (batch, part, files, row counts,
   sha256) to XCom.
2. **load_partitions** — one mapped task per entity, spread over the workers: each loads its entity's
   file of every pending part, in part order, each file verified against the manifest and staged in a
   transaction of its own (`COPY` + set-based upsert); bad lines go to `meta.quarantine` with file, line
   and reason. Then **seal_partitions** records as loaded each part whose every file is loaded.
3. **build_core** — typed, validated, deduplicated `core` tables (client history kept), part by part in
   order and entity by entity (independent entities at once, each in a transaction of its own; a build
   stopped between entities is finished by the next run, and nothing downstream reads the part meanwhile); then
   **flag_overdue_instalments** — overdue flags, days past due and loan status as of the run's as-of date
   (the **As-of date for overdue flags** Param, else the logical date, else the day the run was triggered for).
4. **build_marts** → **check_marts** (data-quality gate) → **publish_marts**: marts are rebuilt into
   `mart_next`, checked, and only then swapped into `mart`; a failed check keeps yesterday's marts.
   Besides the loan marts: client segments by products used, and RFM segments of online-retail customers.
   Publishing updates the `warehouse_marts` Asset, which schedules `recommend_services`.
5. **map_client_portraits** (after build_core, beside the marts) — maps new or changed fuel-station
   clients to the portraits of `include/portraits.json` (everyone when the model, the catalogue or the
   **Portrait threshold** changed) into `mart.client_portraits` and `mart.portrait_distribution`; its
   XCom is a short quality report (clients per portrait, unassigned share, mean confidence, re-mapped).

Parts of a batch are applied in order: a part waits while an earlier part of its batch has not landed,
and the sensor fails at its timeout naming the missing part. Entities load at once, but the files of one
entity go in part order, so a row that later parts repeat stays with the part that first brought it. A
file that does not match its manifest fails its entity's load_partitions at once (no retries), staging
nothing of that file; its part is not sealed, and build_core builds the parts before it, then fails
naming it.

Re-running any task or the whole DAG for the same parts changes nothing (`meta.part_files` and
`meta.partitions` record what was loaded), and a re-run finishes whatever step failed before
(`meta.part_steps`: marts, portraits, recommendations), even when no new part has arrived.
"""

from __future__ import annotations

import logging

from airflow.sdk import DAG, Param, TriggerRule, chain, task

from client_dwh import config
from client_dwh.assets import WAREHOUSE_MARTS
from client_dwh.entities import ENTITIES
from client_dwh.landing import BATCH_NAME
from client_dwh.operators.partition_sensor import PendingPartitionSensor
from client_dwh.portraits.threshold import DEFAULT_THRESHOLD, MAX_THRESHOLD, MIN_THRESHOLD
from client_dwh.run_dates import MACROS

ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"  # the as-of Params: yyyy-mm-dd
log = logging.getLogger(__name__)

with DAG(
    dag_id="dwh_pipeline",
    dag_display_name="DWH pipeline: landed parts → staging → core → marts",
    doc_md=__doc__,
    schedule="@daily",
    **config.dag_defaults(retries=2),
    catchup=False,
    max_active_runs=1,  # parts must be applied in order; two runs would race for the same parts
    tags=["client-analytics", "warehouse", "loans"],
    template_searchpath=[str(config.SQL_DIR)],
    user_defined_macros=MACROS,
    params={
        "batch": Param(
            None,
            type=["null", "string"],
            pattern=BATCH_NAME.pattern,
            title="Batch",
            description="Only load parts of this batch (empty: every batch).",
        ),
        "max_parts": Param(100, type="integer", minimum=1, maximum=10000, title="Max parts per run"),
        "wait_timeout_seconds": Param(
            600,
            type="integer",
            minimum=0,
            maximum=86400,
            title="Wait for parts (seconds)",
            description="How long the sensor waits for a new part before it gives up.",
        ),
        "skip_when_nothing_arrives": Param(
            True,
            type="boolean",
            title="Skip (not fail) when no part arrives",
        ),
        "as_of_date": Param(
            None,
            type=["null", "string"],
            format="date",
            pattern=ISO_DATE,
            title="As-of date for overdue flags",
            description="Empty: the run's logical date, or the day it was triggered for when it has none.",
        ),
        "rfm_as_of_date": Param(
            None,
            type=["null", "string"],
            format="date",
            pattern=ISO_DATE,
            title="As-of date for RFM",
            description="Recency is counted to this date. Empty: the day after each source's last invoice.",
        ),
        "rfm_exclude_duplicate_lines": Param(
            False,
            type="boolean",
            title="RFM: exclude exact-duplicate lines",
            description="Off (the RFM specification): every valid export line counts, repeats included. On: a "
            "line that repeats an earlier line of the same export field for field counts once. The RFM page "
            "shows the choice and how many lines it concerns.",
        ),
        "portrait_threshold": Param(
            DEFAULT_THRESHOLD,
            type="number",
            minimum=MIN_THRESHOLD,
            maximum=MAX_THRESHOLD,
            title="Portrait threshold",
            description="Clients farther than this from every portrait prototype stay unassigned; distances "
            "are in the catalogue's declared spreads (1 = one typical spread on an average feature). "
            "Changing it re-maps every client.",
        ),
    },
) as dag:

    @task(task_display_name="Ensure warehouse schema")
    def ensure_warehouse_schema() -> None:
        """Create or complete the warehouse's schemas and tables (idempotent DDL from include/sql/ddl)."""
        from client_dwh.warehouse.ddl import ensure_schema

        ensure_schema()

    wait_for_partitions = PendingPartitionSensor(
        task_id="wait_for_partitions",
        batch="{{ params.batch or '' }}",
        max_parts="{{ params.max_parts }}",
        skip_when_nothing_arrives="{{ params.skip_when_nothing_arrives }}",
        wait_timeout="{{ params.wait_timeout_seconds }}",
        poke_interval=30,
        mode="reschedule",
    )

    # One mapped task per entity (spread over the workers): each loads its entity's file of every pending
    # part, in part order, so a row repeated by later parts stays attributed to the earliest part.
    @task(task_display_name="Load partitions", map_index_template="{{ entity_name }}")
    def load_partitions(entity: str, parts: list[dict], run_id=None) -> list[dict]:
        """Stage one entity's file of each part, each in its own transaction (verify against the manifest,
        COPY, quarantine bad lines)."""
        from airflow.sdk import get_current_context
        from airflow.sdk.exceptions import AirflowFailException

        from client_dwh.landing import PartitionError
        from client_dwh.warehouse.staging import load_entity_files

        get_current_context()["entity_name"] = entity
        try:
            return load_entity_files(entity, parts, run_id=run_id)
        except PartitionError as refused:
            # A file that does not match its manifest cannot heal by retrying: fail now, no retries. The
            # entity's files of the parts before it stay loaded, and so do the other entities' files.
            raise AirflowFailException(str(refused)) from None

    # Also after a failed load: the parts loaded whole before a refused file still become loaded.
    @task(task_display_name="Seal loaded partitions", trigger_rule=TriggerRule.NONE_SKIPPED)
    def seal_partitions(parts: list[dict] | None, run_id=None) -> list[dict]:
        """Record each part whose every file is loaded as loaded (meta.partitions, with its totals)."""
        from airflow.sdk.exceptions import AirflowFailException

        from client_dwh.landing import PartitionError
        from client_dwh.warehouse.staging import seal_partitions

        if parts is None:
            raise AirflowFailException("no parts to seal: wait_for_partitions did not succeed (see its log)")
        try:
            return seal_partitions(parts, run_id=run_id)
        except PartitionError as refused:  # a manifest changed after its part was loaded
            raise AirflowFailException(str(refused)) from None

    # Also after a failed load: the parts sealed before a refused one are still built into core (the task
    # then fails, naming the refused part). Skipped when nothing arrived.
    @task(task_display_name="Build core", trigger_rule=TriggerRule.NONE_SKIPPED)
    def build_core(parts: list[dict] | None, run_id=None, params=None, dag_run=None) -> list[dict]:
        """Typed, validated core tables from each staged part, in order."""
        from airflow.sdk.exceptions import AirflowFailException

        from client_dwh.landing import PartitionError
        from client_dwh.run_dates import run_as_of_date
        from client_dwh.warehouse.pipeline import build_core_in_order, flag_overdue

        if parts is None:
            raise AirflowFailException("no parts to build: wait_for_partitions did not succeed (see its log)")
        try:
            built, not_staged = build_core_in_order(parts, run_id=run_id)
        except PartitionError as refused:  # a part arriving after a later one: retrying cannot help
            raise AirflowFailException(str(refused)) from None
        if not_staged is not None:
            # flag_overdue_instalments will not run after this failure: flag the parts that were built.
            flag_overdue(run_as_of_date(params, dag_run).isoformat())
            done = ", ".join(f"{p['batch']}/{p['part']}" for p in built) or "none"
            raise AirflowFailException(
                f"{not_staged} (load_partitions refused it, see its log); core is built from the parts "
                f"before it ({done}); fix that part and re-run"
            )
        return built

    @task(task_display_name="Flag overdue instalments")
    def flag_overdue_instalments(params=None, dag_run=None) -> dict:
        """Overdue flags, days past due and loan status as of the run's as-of date (client_dwh.run_dates)."""
        from client_dwh.run_dates import run_as_of_date
        from client_dwh.warehouse.pipeline import flag_overdue

        return flag_overdue(run_as_of_date(params, dag_run).isoformat())

    @task(task_display_name="Build marts")
    def build_marts(params=None, dag_run=None, run_id=None) -> dict:
        """Rebuild every mart into mart_next; nothing readers see changes yet."""
        from client_dwh.run_dates import run_as_of_date
        from client_dwh.warehouse.marts import build_marts

        return build_marts(
            run_as_of_date(params, dag_run).isoformat(),
            rfm_as_of=params["rfm_as_of_date"],
            run_id=run_id,
            rfm_exclude_duplicate_lines=bool(params["rfm_exclude_duplicate_lines"]),
        )

    @task(task_display_name="Check marts", retries=0)
    def check_marts(params=None, dag_run=None) -> dict:
        """The data-quality gate on mart_next (include/sql/checks/marts*.sql); fails naming every false check."""
        from client_dwh.run_dates import run_as_of_date
        from client_dwh.warehouse.marts import check_marts

        return check_marts(run_as_of_date(params, dag_run).isoformat())

    @task(task_display_name="Publish marts", outlets=[WAREHOUSE_MARTS])
    def publish_marts(parts: list[dict], run_id=None) -> dict:
        """Swap the checked mart_next tables into mart in one transaction."""
        from client_dwh.warehouse.marts import publish_marts
        from client_dwh.warehouse.pipeline import in_order

        last = in_order(parts)[-1:] or [None]
        return publish_marts(run_id=run_id, last_part=last[0])

    @task(task_display_name="Map client portraits")
    def map_client_portraits(parts: list[dict], params=None, run_id=None) -> dict:
        """New or changed station clients (everyone when the model, portraits.json or the threshold
        changed) into mart.client_portraits; XCom: the quality report."""
        from airflow.sdk.exceptions import AirflowFailException

        from client_dwh.portraits.catalogue import PortraitSchemaError
        from client_dwh.portraits.warehouse_mapping import format_mapping_report
        from client_dwh.portraits.warehouse_mapping import map_client_portraits as map_portraits
        from client_dwh.warehouse.pipeline import in_order

        try:
            report = map_portraits(
                in_order(parts), threshold=float(params["portrait_threshold"]), run_id=run_id
            )
        except PortraitSchemaError as error:  # a wrong catalogue file does not get better on retry
            # The parts stay pending for portraits (meta.part_steps): the next run maps them once it is fixed.
            raise AirflowFailException(str(error)) from None
        log.info("%s", format_mapping_report(report))
        return report

    parts = wait_for_partitions.output
    core = build_core(parts)
    chain(
        ensure_warehouse_schema(),
        wait_for_partitions,
        load_partitions.partial(parts=parts).expand(entity=list(ENTITIES)),
        seal_partitions(parts),
        core,
        flag_overdue_instalments(),
        build_marts(),
        check_marts(),
        publish_marts(parts),
    )
    core >> map_client_portraits(parts)
