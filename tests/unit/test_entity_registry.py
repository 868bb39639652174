"""The entity registry is the one place an entity is declared: staging, core build order and core SQL."""

from __future__ import annotations

import re

from client_dwh import config
from client_dwh.entities import ENTITIES
from client_dwh.warehouse.core import CORE_STEPS


def test_core_steps_come_from_the_registry_in_its_order():
    assert [step[0] for step in CORE_STEPS] == list(ENTITIES)
    assert all(
        (e.core_sql, e.core_table) == step[1:] for e, step in zip(ENTITIES.values(), CORE_STEPS, strict=True)
    )


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


def test_an_entity_is_built_after_the_entities_it_refers_to():
    order = list(ENTITIES)
    for later, earlier in (
        ("loans", "clients"),
        ("payments", "loans"),
        ("product_usage", "products"),
        ("service_interactions", "partner_services"),
        ("station_clients", "clients"),
        ("station_visits", "station_clients"),
    ):
        assert order.index(earlier) < order.index(later), f"{later} must come after {earlier}"
