"""The entity registry is the one place an entity is declared: staging, core build order and core SQL."""

from __future__ import annotations

import re

from client_dwh import config
from client_dwh.entities import ENTITIES


def test_every_entity_has_its_core_sql_and_core_table():
    ddl = "\n".join(p.read_text() for p in sorted((config.SQL_DIR / "ddl").glob("*.sql")))
    for entity in ENTITIES.values():
        sql = (config.SQL_DIR / entity.core_sql).read_text()
        assert f"insert into {entity.core_table}" in sql, (
            f"{entity.core_sql} does not write {entity.core_table}"
        )
        assert re.search(rf"create table if not exists {re.escape(entity.core_table)}\b", ddl), (
            entity.core_table
        )


def test_an_entity_is_built_after_the_entities_whose_core_tables_its_sql_reads():
    order = list(ENTITIES)
    by_table = {e.core_table: e.name for e in ENTITIES.values()}

    def before(name: str) -> set[str]:  # everything built before `name` starts, transitively
        return {d for a in ENTITIES[name].after for d in {a, *before(a)}}

    for entity in ENTITIES.values():
        assert all(order.index(a) < order.index(entity.name) for a in entity.after), entity.name
        sql = (config.SQL_DIR / entity.core_sql).read_text()
        read = {by_table[t] for t in re.findall(r"(?:from|join)\s+(core\.\w+)", sql) if t in by_table}
        assert read - {entity.name} <= before(entity.name), f"{entity.core_sql} reads {read}"


def test_the_core_build_starts_with_the_heaviest_chain():
    from client_dwh.warehouse.core import _critical_path

    weights = {"clients": 10, "loans": 20, "payments": 400, "retail_purchases": 300, "station_visits": 50}
    path = _critical_path(weights)
    assert path["clients"] == 10 + 20 + 400  # clients -> loans -> payments outweighs station visits
    assert path["payments"] == 400 and path["retail_purchases"] == 300
    assert path["station_clients"] == 50 and path["crm_clients"] == 0
