"""Assemble the whole synthetic source system for a seed and cut it into numbered parts.

Clients are split into as many contiguous chunks as there are parts; part k brings chunk k's clients
with all their activity, plus new versions of a few earlier clients (a CRM changes data over time).
A *cumulative* part repeats every earlier row (as the loans seed project's exports did); a *delta* part
brings only what is new. Loading either kind must leave the same warehouse. The product catalogue goes
into every part (identical rows dedupe in staging); online-retail lines, which belong to shop customers
rather than bank clients, are cut into contiguous runs of export rows.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from client_dwh.sources.synthetic.clients import change_some_clients, generate_clients
from client_dwh.sources.synthetic.loans import generate_loans, generate_new_business, generate_payments
from client_dwh.sources.synthetic.partners import generate_partner_services, generate_service_interactions
from client_dwh.sources.synthetic.products import generate_product_usage, generate_products, loan_product
from client_dwh.sources.synthetic.retail import generate_retail_purchases
from client_dwh.sources.synthetic.stations import generate_station_system

CHANGED_CLIENTS_SHARE = 0.02
REFERENCE_ENTITIES = ("products", "partner_services")  # small catalogues every part carries whole
EVERY_PART = -1


def generate_source_system(n_clients: int, seed: int, as_of: dt.date) -> dict[str, pd.DataFrame]:
    """Every entity as a data frame; same arguments, same frames (see ``generate_source_system_and_truth``)."""
    return generate_source_system_and_truth(n_clients, seed, as_of)[0]


def generate_source_system_and_truth(
    n_clients: int, seed: int, as_of: dt.date
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Every entity as a data frame, and the station clients' true portraits (never exported with a part).

    The world is anchored to the first day of ``as_of``'s month and only what happened by ``as_of`` is
    visible, so the daily exports of one month describe the same clients and loans, each day showing a
    few more payments and the clients and loans that arrived that day - as a real source system's daily
    snapshots would. ``n_clients`` counts the clients at the start of the month.
    """
    rng = np.random.default_rng(seed)
    anchor = as_of.replace(day=1)
    clients = generate_clients(n_clients, rng, anchor)
    loans = generate_loans(clients, rng, anchor)
    payments = generate_payments(loans, rng, anchor, visible_until=as_of)
    # Station clients move their birth date to the age their portrait drew; before product usage, which
    # depends on age (loans and payments do not).
    stations = generate_station_system(clients, np.random.default_rng([seed, 105]), anchor)
    clients = stations.clients
    # Own streams for the newer entities, so adding them left the older entities' data unchanged.
    product_usage = generate_product_usage(clients, loans, np.random.default_rng([seed, 101]), anchor)
    retail = generate_retail_purchases(max(20, n_clients // 2), np.random.default_rng([seed, 102]), anchor)
    services = generate_partner_services()
    interactions = generate_service_interactions(clients, loans, product_usage, services, seed, as_of)
    # New clients and loans of this month up to as_of (own stream): each day's export shows a bigger book.
    new_clients, new_loans, new_payments = generate_new_business(
        clients, loans, np.random.default_rng([seed, 106]), anchor, as_of
    )
    clients = pd.concat([clients, new_clients], ignore_index=True)
    loans = pd.concat([loans, new_loans], ignore_index=True)
    payments = pd.concat([payments, new_payments], ignore_index=True)
    product_usage = pd.concat([product_usage, _loan_openings(new_loans, clients, anchor, product_usage)])
    return {
        "clients": clients,
        "loans": loans,
        "payments": payments,
        "products": generate_products(),
        "product_usage": product_usage,
        "retail_purchases": retail,
        "partner_services": services,
        "service_interactions": interactions,
        "station_clients": stations.station_clients,
        "station_visits": stations.station_visits,
    }, stations.ground_truth


def _loan_openings(
    loans: pd.DataFrame, clients: pd.DataFrame, anchor: dt.date, usage: pd.DataFrame
) -> pd.DataFrame:
    """The product system's "open" event of each new loan, on its issue date."""
    birth = pd.to_datetime(clients.set_index("client_id")["birth_date"]).reindex(loans["client_id"])
    age = ((pd.Timestamp(anchor) - birth).dt.days / 365.25).to_numpy()
    first_id = int(usage["usage_id"].max()) + 1 if len(usage) else 1
    return pd.DataFrame(
        {
            "usage_id": np.arange(first_id, first_id + len(loans)),
            "client_id": loans["client_id"].to_numpy(),
            "product_id": loan_product(loans["amount"].to_numpy(), loans["term_months"].to_numpy(), age),
            "used_at": loans["issue_date"].to_numpy(),
            "event": "open",
            "amount": None,
        }
    )


def split_into_parts(
    frames: dict[str, pd.DataFrame], parts: int, seed: int, cumulative: bool
) -> list[dict[str, pd.DataFrame]]:
    """Cut the frames into ``parts`` partitions, keyed by each row's client."""
    clients = frames["clients"]
    chunk_of_client = pd.Series(
        np.repeat(np.arange(parts), [len(c) for c in np.array_split(np.arange(len(clients)), parts)]),
        index=clients["client_id"].to_numpy(),
    )
    chunk = {name: _chunk_of(name, frame, frames, chunk_of_client) for name, frame in frames.items()}
    latest_clients = clients.copy()
    result = []
    for part in range(parts):
        rng = np.random.default_rng([seed, part])
        earlier = latest_clients[chunk["clients"] < part]
        changed = change_some_clients(earlier, CHANGED_CLIENTS_SHARE, rng) if part else earlier.iloc[:0]
        latest_clients = latest_clients.set_index("client_id")
        latest_clients.update(changed.set_index("client_id"))
        latest_clients = latest_clients.reset_index()
        latest_clients["income"] = latest_clients["income"].astype(int)
        out = {}
        for name, frame in frames.items():
            source = latest_clients if name == "clients" else frame
            mask = (chunk[name] <= part if cumulative else chunk[name] == part) | (chunk[name] == EVERY_PART)
            out[name] = source[mask]
        if not cumulative:
            out["clients"] = pd.concat([out["clients"], changed], ignore_index=True)
        result.append(out)
    return result


def _chunk_of(name, frame, frames, chunk_of_client) -> np.ndarray:
    if name in REFERENCE_ENTITIES:
        return np.full(len(frame), EVERY_PART)
    if name == "retail_purchases":
        parts = chunk_of_client.max() + 1
        return np.repeat(np.arange(parts), [len(c) for c in np.array_split(np.arange(len(frame)), parts)])
    if "client_id" in frame.columns:
        return chunk_of_client.reindex(frame["client_id"]).to_numpy()
    if "loan_id" in frame.columns:
        loan_client = frames["loans"].set_index("loan_id")["client_id"]
        return chunk_of_client.reindex(loan_client.reindex(frame["loan_id"]).to_numpy()).to_numpy()
    raise ValueError(f"cannot tell which client owns rows of {name!r}")
