"""The UCI "Online Retail" export format: its columns, and line ids that name each line's row in the export."""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = (
    "InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country",
)  # fmt: skip


def with_line_ids(
    frame: pd.DataFrame, source: str, first_row: int = 1, row_numbers: list[int] | None = None
) -> pd.DataFrame:
    """Add ``source`` and ``line_id`` ("<source>:<row number in the export>") to raw export rows.

    Rows are numbered from ``first_row`` on, unless ``row_numbers`` gives each row's number.
    """
    frame = frame.copy()
    numbers = np.arange(first_row, first_row + len(frame)) if row_numbers is None else np.asarray(row_numbers)
    frame["source"] = source
    frame["line_id"] = source + ":" + pd.Series(numbers).astype(str).to_numpy().astype(object)
    return frame
