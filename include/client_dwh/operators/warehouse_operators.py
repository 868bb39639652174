"""Operators for each step after the sensor: stage, build core, build/publish marts.

Each takes the sensor's part metadata (an XComArg or a rendered template), calls one plain function per
part and returns that function's stats, which land in XCom for the next task and for the logs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

log = logging.getLogger(__name__)


class _PartitionsOperator(BaseOperator):
    template_fields: Sequence[str] = ("parts",)
    ui_color = "#e8f4fd"

    def __init__(self, *, parts: Any, conn_id: str = "dwh", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.parts = parts
        self.conn_id = conn_id


class EnsureWarehouseSchemaOperator(BaseOperator):
    """Create or complete the warehouse's schemas and tables (idempotent DDL from include/sql/ddl)."""

    def __init__(self, *, conn_id: str = "dwh", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id

    def execute(self, context) -> None:
        from client_dwh.warehouse.db import connect
        from client_dwh.warehouse.ddl import create_schema

        with connect(self.conn_id) as conn:
            create_schema(conn)


class LoadPartitionsOperator(_PartitionsOperator):
    """Stage each part in its own transaction (verify manifest, COPY, quarantine bad lines)."""

    def execute(self, context) -> list[dict]:
        from client_dwh.warehouse.pipeline import stage_parts

        stats = stage_parts(self.parts, run_id=context["run_id"], conn_id=self.conn_id)
        for s in stats:
            log.info(
                "staged %s/%s: %s", s["batch"], s["part"], {k: v for k, v in s.items() if k != "entities"}
            )
        return stats


class BuildCoreOperator(_PartitionsOperator):
    """Build core from each staged part in order, then flag overdue instalments as of ``as_of``."""

    template_fields: Sequence[str] = ("parts", "as_of")

    def __init__(self, *, as_of: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.as_of = as_of

    def execute(self, context) -> dict:
        from client_dwh.warehouse.pipeline import build_core, flag_overdue

        parts = build_core(self.parts, run_id=context["run_id"], conn_id=self.conn_id)
        flags = flag_overdue(self.as_of, conn_id=self.conn_id)
        return {"parts": parts, "overdue": flags}


class BuildMartsOperator(BaseOperator):
    """Rebuild every mart into the ``mart_next`` schema; nothing readers see changes yet."""

    template_fields: Sequence[str] = ("as_of", "rfm_as_of")

    def __init__(
        self, *, as_of: str, rfm_as_of: str | None = None, conn_id: str = "dwh", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.as_of = as_of
        self.rfm_as_of = rfm_as_of  # empty: each retail source's last invoice day + 1
        self.conn_id = conn_id

    def execute(self, context) -> dict:
        from client_dwh.warehouse.marts import build_marts

        return build_marts(self.as_of, conn_id=self.conn_id, rfm_as_of=self.rfm_as_of or None)


class PublishMartsOperator(BaseOperator):
    """Swap the checked ``mart_next`` tables into ``mart`` in one transaction."""

    template_fields: Sequence[str] = ("parts",)

    def __init__(self, *, parts: Any = None, conn_id: str = "dwh", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.parts = parts
        self.conn_id = conn_id

    def execute(self, context) -> dict:
        from client_dwh.warehouse.marts import publish_marts
        from client_dwh.warehouse.pipeline import in_order

        last = in_order(self.parts)[-1:] or [None]
        return publish_marts(run_id=context["run_id"], last_part=last[0], conn_id=self.conn_id)
