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
    )
}
