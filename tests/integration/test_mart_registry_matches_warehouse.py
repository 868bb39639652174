"""The mart columns the dashboards know (read from include/sql/ddl) are those of a real warehouse."""

from __future__ import annotations

from client_dwh.dashboards.queries import MARTS
from client_dwh.warehouse.ddl import table_columns


def test_ddl_columns_match_information_schema(warehouse):
    found: dict[str, list[str]] = {}
    for table, column in warehouse.execute(
        """select table_name, column_name from information_schema.columns
           where table_schema = 'mart' order by table_name, ordinal_position"""
    ):
        found.setdefault(table, []).append(column)
    parsed = {table: list(columns) for table, columns in table_columns("mart").items()}
    assert parsed == found
    for name, mart in MARTS.items():
        assert list(mart.columns) == found[name], f"dashboards registry, mart {name}"
