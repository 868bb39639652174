"""The source entities that land as JSON Lines files: their natural keys, the fields a record must have,
and the core SQL file and table each part's valid records go to.

One registry drives staging DDL, the load's validation, the generator's file names and the core build,
so adding an entity is one line here plus its generator and its core SQL. The core build runs an entity
only once those it refers to (``after``: loans after clients, ...) are built; independent ones at once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entity:
    name: str  # file stem in a partition and table name in staging
    key: tuple[str, ...]  # natural key: a staged row is unique per (key, content)
    required: dict[str, str]  # field -> JSON type it must have (jsonb_typeof name)
    core_sql: str  # include/sql/ file applying a staged part to core (quarantining invalid records)
    core_table: str  # the core table it writes
    after: tuple[str, ...] = ()  # entities whose core rows it reads: built (and committed) before it

    @property
    def file_name(self) -> str:
        return f"{self.name}.jsonl"

    @property
    def staging_table(self) -> str:
        return f"staging.{self.name}"


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (  # core build order: each entity after those it refers to
        Entity(
            "clients",
            ("client_id",),
            {"client_id": "number", "full_name": "string", "income": "number"},
            "core/clients.sql",
            "core.clients",
        ),
        Entity(
            "products",
            ("product_id",),
            {"product_id": "string", "product_name": "string"},
            "core/products.sql",
            "core.products",
        ),
        Entity(
            "loans",
            ("loan_id",),
            {"loan_id": "string", "client_id": "number", "amount": "number"},
            "core/loans.sql",
            "core.loans",
            ("clients",),
        ),
        Entity(
            "payments",
            ("loan_id", "instalment_no"),
            {"loan_id": "string", "instalment_no": "number", "due_date": "string", "amount_due": "number"},
            "core/instalments.sql",
            "core.instalments",
            ("loans",),
        ),
        Entity(  # needs its client and product
            "product_usage",
            ("usage_id",),
            {"usage_id": "number", "client_id": "number", "product_id": "string", "used_at": "string"},
            "core/product_usage.sql",
            "core.product_usage",
            ("clients", "products"),
        ),
        # Online-retail export lines, every field a string as exported; line_id = "<source>:<row number>".
        Entity(
            "retail_purchases",
            ("line_id",),
            {"line_id": "string", "source": "string", "InvoiceNo": "string", "InvoiceDate": "string"},
            "core/retail_lines.sql",
            "core.retail_lines",
        ),
        # Partner catalogue rows parsed from the partners' text file; service_id hashes partner + service.
        Entity(
            "partner_services",
            ("service_id",),
            {"service_id": "string", "partner_name": "string", "service_name": "string"},
            "core/partner_services.sql",
            "core.partner_services",
        ),
        Entity(  # needs its client and service
            "service_interactions",
            ("interaction_id",),
            {
                "interaction_id": "number",
                "client_id": "number",
                "service_id": "string",
                "interacted_at": "string",
            },
            "core/service_interactions.sql",
            "core.service_interactions",
            ("clients", "partner_services"),
        ),
        # A cleaned CRM export. Rows the cleaning rejected land too (key "rejected:<source>:<row>", with
        # rejected_reason), so core quarantines them and meta.quarantine reconciles with the import.
        Entity(
            "crm_clients",
            ("client_key",),
            {"client_key": "string", "source": "string"},
            "core/crm_clients.sql",
            "core.crm_clients",
        ),
        # Fuel-station loyalty clients (a bank client's id) and their visits; features are derived in core.
        Entity(  # needs its bank client
            "station_clients",
            ("client_id",),
            {"client_id": "number", "distance_km": "number"},
            "core/station_clients.sql",
            "core.station_clients",
            ("clients",),
        ),
        Entity(  # needs its station client
            "station_visits",
            ("visit_id",),
            {"visit_id": "number", "client_id": "number", "visited_at": "string", "amount": "number"},
            "core/station_visits.sql",
            "core.station_visits",
            ("station_clients",),
        ),
    )
}
