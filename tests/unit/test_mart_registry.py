"""The dashboards' mart registry takes its columns from the DDL and names only columns that exist."""

from __future__ import annotations

from client_dwh.dashboards.queries import MARTS
from client_dwh.warehouse.ddl import table_columns


def test_every_registered_mart_is_a_ddl_table_and_names_only_its_columns():
    tables = table_columns("mart")
    for name, mart in MARTS.items():
        assert name in tables, f"dashboards/queries.py, MARTS[{name!r}]: no mart.{name} in include/sql/ddl"
        named = {
            *mart.key,
            *(column for column, _ in mart.default_sort),
            *mart.personal,
            *mart.value_order,
        }
        unknown = sorted(named - set(mart.columns))
        assert not unknown, (
            f"dashboards/queries.py, MARTS[{name!r}]: no such columns {unknown} in mart.{name}"
        )
