"""Map the warehouse's station clients to portraits (include/portraits.json) after core is built."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

log = logging.getLogger(__name__)


class MapClientPortraitsOperator(BaseOperator):
    """Map new or changed station clients (everyone when the model, portraits.json or threshold changed)
    into ``mart.client_portraits``, rebuild ``mart.portrait_distribution``; XCom gets the quality report."""

    template_fields: Sequence[str] = ("parts", "threshold")
    ui_color = "#eaf5e4"

    def __init__(
        self, *, parts: Any = None, threshold: float | str, conn_id: str = "dwh", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.parts = parts
        self.threshold = threshold  # a rendered Param arrives as a string
        self.conn_id = conn_id

    def execute(self, context) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from client_dwh.portraits.catalogue import PortraitSchemaError
        from client_dwh.portraits.warehouse_mapping import format_mapping_report, map_client_portraits

        parts = [self.parts] if isinstance(self.parts, dict) else list(self.parts or [])
        try:
            report = map_client_portraits(
                parts, threshold=float(self.threshold), conn_id=self.conn_id, run_id=context["run_id"]
            )
        except PortraitSchemaError as error:  # a wrong catalogue file does not get better on retry
            raise AirflowFailException(str(error)) from None
        log.info("%s", format_mapping_report(report))
        return report
