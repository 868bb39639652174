"""Sensor that waits for landed parts the warehouse has not fully processed yet."""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowSensorTimeout, AirflowSkipException

log = logging.getLogger(__name__)


def find_pending_parts(
    landing_url: str | None, batch: str | None, max_parts: int, conn_id: str
) -> list[dict]:
    """Committed parts, in order, that are not yet loaded or not yet built into core."""
    from client_dwh.landing import landing_root, list_landed_parts
    from client_dwh.warehouse.db import connect, query

    landed = list_landed_parts(landing_root(landing_url), batch or None)
    with connect(conn_id) as conn:
        done = {
            (b, p)
            for b, p in query(
                conn, "select batch_id, part_no from meta.partitions where core_built_at is not null"
            )
        }
    pending = [p.to_xcom() for p in landed if (p.batch, p.part) not in done]
    log.info("landed parts: %d, fully processed: %d, pending: %d", len(landed), len(done), len(pending))
    return pending[:max_parts]


class PendingPartitionSensor(BaseSensorOperator):
    """Wait until at least one landed part is pending; push the pending parts' metadata to XCom.

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
        conn_id: str = "dwh",
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
        pending = find_pending_parts(self.landing_url, self.batch, int(self.max_parts), self.conn_id)
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

            message = (
                f"no new partition arrived under {landing_root(self.landing_url)} within {self.timeout:.0f} s "
                f"(batch filter: {self.batch or 'any'}); run generate_sources or land parts there"
            )
            if str(self.skip_when_nothing_arrives).lower() in ("true", "1"):
                raise AirflowSkipException(message) from timeout
            raise AirflowSensorTimeout(message) from timeout
