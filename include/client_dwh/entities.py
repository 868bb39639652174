"""The source entities that land as JSON Lines files: their natural keys and the fields a record must have.

One registry drives staging DDL, the load's validation and the generator's file names, so adding an
entity is one line here plus its generator and its core SQL.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entity:
    name: str  # file stem in a partition and table name in staging
    key: tuple[str, ...]  # natural key: a staged row is unique per (key, content)
    required: dict[str, str]  # field -> JSON type it must have (jsonb_typeof name)

    @property
    def file_name(self) -> str:
        return f"{self.name}.jsonl"

    @property
    def staging_table(self) -> str:
        return f"staging.{self.name}"


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        Entity("clients", ("client_id",), {"client_id": "number", "full_name": "string", "income": "number"}),
        Entity("loans", ("loan_id",), {"loan_id": "string", "client_id": "number", "amount": "number"}),
        Entity(
            "payments",
            ("loan_id", "instalment_no"),
            {"loan_id": "string", "instalment_no": "number", "due_date": "string", "amount_due": "number"},
        ),
        Entity("products", ("product_id",), {"product_id": "string", "product_name": "string"}),
        Entity(
            "product_usage",
            ("usage_id",),
            {"usage_id": "number", "client_id": "number", "product_id": "string", "used_at": "string"},
        ),
        # Online-retail export lines, every field a string as exported; line_id = "<source>:<row number>".
        Entity(
            "retail_purchases",
            ("line_id",),
            {"line_id": "string", "source": "string", "InvoiceNo": "string", "InvoiceDate": "string"},
        ),
        # Partner catalogue rows parsed from the partners' text file; service_id hashes partner + service.
        Entity(
            "partner_services",
            ("service_id",),
            {"service_id": "string", "partner_name": "string", "service_name": "string"},
        ),
        Entity(
            "service_interactions",
            ("interaction_id",),
            {
                "interaction_id": "number",
                "client_id": "number",
                "service_id": "string",
                "interacted_at": "string",
            },
        ),
        # A cleaned CRM export. Rows the cleaning rejected land too (key "rejected:<source>:<row>", with
        # rejected_reason), so core quarantines them and meta.quarantine reconciles with the import.
        Entity("crm_clients", ("client_key",), {"client_key": "string", "source": "string"}),
        # Fuel-station loyalty clients (a bank client's id) and their visits; features are derived in core.
        Entity("station_clients", ("client_id",), {"client_id": "number", "distance_km": "number"}),
        Entity(
            "station_visits",
            ("visit_id",),
            {"visit_id": "number", "client_id": "number", "visited_at": "string", "amount": "number"},
        ),
    )
}
