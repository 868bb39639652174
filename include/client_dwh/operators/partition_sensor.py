"""Sensor that waits for landed parts the warehouse has not fully processed yet."""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowSensorTimeout, AirflowSkipException

from client_dwh import config

log = logging.getLogger(__name__)


def find_pending_parts(
    landing_url: str | None, batch: str | None, max_parts: int, conn_id: str
) -> list[dict]:
    """Committed parts, in order, that are not yet loaded, built into core, or processed by every later step."""
    return scan_landing_zone(landing_url, batch, max_parts, conn_id)[0]


def scan_landing_zone(
    landing_url: str | None, batch: str | None, max_parts: int, conn_id: str
) -> tuple[list[dict], list[str]]:
    """``(pending parts in load order, one line per part held back by a missing earlier part)``.

    A part is never handed out before every earlier part of its batch (numbered from part-0001) has
    landed or was loaded before: applying part 3 and then a late part 2 would make part 2's older records
    current. Such a part waits for the gap; the lines name the missing part.
    """
    from client_dwh.landing import landing_root, list_landed_parts, list_uncommitted_parts, part_name
    from client_dwh.storage import url_of
    from client_dwh.warehouse.db import connect, query
    from client_dwh.warehouse.progress import fully_processed_parts

    root = landing_root(landing_url)
    landed = list_landed_parts(root, batch or None)
    with connect(conn_id) as conn:
        done = fully_processed_parts(conn)
        loaded = {(b, p) for b, p in query(conn, "select batch_id, part_no from meta.partitions")}
    known = loaded | {(p.batch, p.part) for p in landed}
    uncommitted: set[tuple[str, int]] | None = None
    pending, waiting, blocked = [], [], set()
    for part in landed:
        if (part.batch, part.part) in done:
            continue
        if part.batch in blocked:
            continue
        missing = next((n for n in range(1, part.part) if (part.batch, n) not in known), None)
        if missing is not None:
            if uncommitted is None:
                uncommitted = list_uncommitted_parts(root, batch or None)
            missing_path = url_of(root / part.batch / part_name(missing))
            why = (
                "has no _manifest.json yet (still being written, or its manifest was removed)"
                if (part.batch, missing) in uncommitted
                else "has not landed"
            )
            waiting.append(
                f"{missing_path} {why}: {part_name(part.part)} and later parts of batch {part.batch} wait for it "
                "(parts are applied in order); land it with its manifest"
            )
            blocked.add(part.batch)
            continue
        pending.append(part.to_xcom())
    log.info(
        "landed parts: %d, fully processed: %d, pending: %d, batches waiting for a missing part: %d",
        len(landed),
        len(done),
        len(pending),
        len(waiting),
    )
    for line in waiting:
        log.warning("%s", line)
    return pending[:max_parts], waiting


class PendingPartitionSensor(BaseSensorOperator):
    """Wait until at least one landed part is pending; push the pending parts' metadata to XCom.

    A part whose batch has a gap before it (an earlier part not landed, or without its manifest) is
    held back; when only such parts are waiting, the task fails at its timeout naming the missing part
    (even with ``skip_when_nothing_arrives``: a gap is not a quiet day).

    The XCom value is a list of ``{batch, part, path, files: {entity: {path, rows, sha256}},
    manifest_sha256, rows}`` in load order. When nothing arrives within ``timeout`` seconds the task
    fails with a message naming the landing zone, or is skipped when ``skip_when_nothing_arrives``.
    """

    template_fields = ("landing_url", "batch", "max_parts", "skip_when_nothing_arrives", "wait_timeout")

    def __init__(
        self,
        *,
        landing_url: str | None = None,
        batch: str | None = None,
        max_parts: int | str = 100,
        skip_when_nothing_arrives: bool | str = False,
        wait_timeout: float | str | None = None,
        conn_id: str = config.DWH_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.landing_url = landing_url
        self.batch = batch
        self.max_parts = max_parts
        self.skip_when_nothing_arrives = skip_when_nothing_arrives
        self.wait_timeout = wait_timeout
        self.conn_id = conn_id

    def poke(self, context) -> PokeReturnValue:
        pending, self._waiting = scan_landing_zone(
            self.landing_url, self.batch, int(self.max_parts), self.conn_id
        )
        if pending:
            log.info("pending parts: %s", [f"{p['batch']}/{p['part']}" for p in pending])
        return PokeReturnValue(is_done=bool(pending), xcom_value=pending or None)

    def execute(self, context) -> Any:
        if self.wait_timeout not in (None, ""):
            self.timeout = float(self.wait_timeout)  # a Param can set how long to wait
        try:
            return super().execute(context)
        except AirflowSensorTimeout as timeout:
            from client_dwh.landing import landing_root

            if getattr(self, "_waiting", None):  # a gap is not a quiet day: never skipped
                raise AirflowSensorTimeout(
                    f"waited {self.timeout:.0f} s for a missing part: " + "; ".join(self._waiting)
                ) from timeout
            message = (
                f"no new partition arrived under {landing_root(self.landing_url)} within {self.timeout:.0f} s "
                f"(batch filter: {self.batch or 'any'}); run generate_sources or land parts there"
            )
            if str(self.skip_when_nothing_arrives).lower() in ("true", "1"):
                raise AirflowSkipException(message) from timeout
            raise AirflowSensorTimeout(message) from timeout
