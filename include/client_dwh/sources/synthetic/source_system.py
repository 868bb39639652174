"""Assemble the whole synthetic source system for a seed and cut it into numbered parts.

The population is generated in chunks of clients (``GENERATE_CHUNK_CLIENTS``), each on its own, so any
size fits in memory. Its client rows are cut into as many contiguous runs as there are parts; part k
brings run k's clients with all their activity, plus new versions of a few earlier clients (a CRM
changes data over time).
A *cumulative* part repeats every earlier row (as the loans seed project's exports did); a *delta* part
brings only what is new. Loading either kind must leave the same warehouse. The product catalogue goes
into every part (identical rows dedupe in staging); online-retail lines, which belong to shop customers
rather than bank clients, are cut into contiguous runs of export rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from client_dwh.sources.synthetic.clients import change_some_clients, generate_clients
from client_dwh.sources.synthetic.ids import IdStride
from client_dwh.sources.synthetic.loans import (
    draw_new_clients,
    generate_loans,
    generate_new_business,
    generate_payments,
)
from client_dwh.sources.synthetic.partners import generate_partner_services, generate_service_interactions
from client_dwh.sources.synthetic.products import generate_product_usage, generate_products, loan_product
from client_dwh.sources.synthetic.retail import generate_retail_purchases
from client_dwh.sources.synthetic.stations import generate_station_system

CHANGED_CLIENTS_SHARE = 0.02
REFERENCE_ENTITIES = ("products", "partner_services")  # small catalogues every part carries whole
EVERY_PART = -1
# A population larger than this is generated in chunks of at most this many clients, each from its own
# random stream, so memory stays bounded whatever the population; a smaller one is a single chunk.
GENERATE_CHUNK_CLIENTS = 50_000
NEW_BUSINESS_STREAM = 106


@dataclass(frozen=True)
class Chunk:
    """A contiguous run of the population's clients, generated on its own (see ``population_chunks``)."""

    number: int
    chunks: int
    first_client_id: int
    n_clients: int
    first_new_client_id: int  # the month's new clients are numbered after every chunk's clients
    seed: int  # this chunk's own seed: the population's seed for chunk 0

    @property
    def ids(self) -> IdStride:
        return IdStride(self.number, self.chunks)

    def new_business_rng(self) -> np.random.Generator:
        return np.random.default_rng([self.seed, NEW_BUSINESS_STREAM])


def population_chunks(n_clients: int, seed: int) -> list[Chunk]:
    """The population cut into chunks of at most ``GENERATE_CHUNK_CLIENTS`` clients, of even sizes.

    Chunk 0 draws from ``seed`` itself, so a population of one chunk is exactly what it was before
    chunking; every other chunk from a seed derived from ``seed`` and its number.
    """
    count = -(-n_clients // GENERATE_CHUNK_CLIENTS)
    small, larger = divmod(n_clients, count)
    sizes = [small + 1] * larger + [small] * (count - larger)
    starts = np.cumsum([1, *sizes[:-1]])
    return [
        Chunk(
            number=number,
            chunks=count,
            first_client_id=int(start),
            n_clients=size,
            first_new_client_id=n_clients + 1,
            seed=seed if number == 0 else int(np.random.SeedSequence([seed, number]).generate_state(1)[0]),
        )
        for number, (start, size) in enumerate(zip(starts, sizes, strict=True))
    ]


def visible_new_clients(chunk: Chunk, as_of: dt.date) -> int:
    """How many of the chunk's new clients of the month have registered by ``as_of`` (cheap: the first
    draws of the new-business stream only), so parts can be cut before any chunk is generated."""
    new = draw_new_clients(
        chunk.n_clients, chunk.new_business_rng(), as_of.replace(day=1), chunk.first_new_client_id, chunk.ids
    )
    return int((new["registered_at"] <= as_of.isoformat()).sum())


def reference_frames() -> dict[str, pd.DataFrame]:
    """The catalogues of ``REFERENCE_ENTITIES``: the same for every chunk and part."""
    return {"products": generate_products(), "partner_services": generate_partner_services()}


def generate_source_system(n_clients: int, seed: int, as_of: dt.date) -> dict[str, pd.DataFrame]:
    """Every entity as a data frame; same arguments, same frames (see ``generate_source_system_and_truth``)."""
    return generate_source_system_and_truth(n_clients, seed, as_of)[0]


def generate_source_system_and_truth(
    n_clients: int, seed: int, as_of: dt.date
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The whole population as one chunk (see ``generate_chunk``): fine for tests and small populations."""
    return generate_chunk(
        Chunk(number=0, chunks=1, first_client_id=1, n_clients=n_clients, first_new_client_id=n_clients + 1,
              seed=seed),
        as_of,
    )  # fmt: skip


def generate_chunk(chunk: Chunk, as_of: dt.date) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Every entity of the chunk's clients as a data frame, and the station clients' true portraits (never
    exported with a part).

    The world is anchored to the first day of ``as_of``'s month and only what happened by ``as_of`` is
    visible, so the daily exports of one month describe the same clients and loans, each day showing a
    few more payments and the clients and loans that arrived that day - as a real source system's daily
    snapshots would. ``chunk.n_clients`` counts the clients at the start of the month; ids of every kind
    are numbered by ``chunk.ids``, so chunks never share one.
    """
    seed = chunk.seed
    rng = np.random.default_rng(seed)
    anchor = as_of.replace(day=1)
    clients = generate_clients(chunk.n_clients, rng, anchor, first_id=chunk.first_client_id)
    loans = generate_loans(clients, rng, anchor)
    payments = generate_payments(loans, rng, anchor, visible_until=as_of)
    # Station clients move their birth date to the age their portrait drew; before product usage, which
    # depends on age (loans and payments do not).
    stations = generate_station_system(
        clients, np.random.default_rng([seed, 105]), anchor, visit_ids=chunk.ids
    )
    clients = stations.clients
    # Own streams for the newer entities, so adding them left the older entities' data unchanged.
    product_usage = generate_product_usage(
        clients, loans, np.random.default_rng([seed, 101]), anchor, chunk.ids
    )
    retail = generate_retail_purchases(
        max(20, chunk.n_clients // 2), np.random.default_rng([seed, 102]), anchor, chunk.ids
    )
    reference = reference_frames()
    interactions = generate_service_interactions(
        clients, loans, product_usage, reference["partner_services"], seed, as_of, chunk.ids
    )
    # New clients and loans of this month up to as_of (own stream): each day's export shows a bigger book.
    new_clients, new_loans, new_payments = generate_new_business(
        clients, loans, chunk.new_business_rng(), anchor, as_of, chunk.first_new_client_id, chunk.ids
    )
    clients = pd.concat([clients, new_clients], ignore_index=True)
    loans = pd.concat([loans, new_loans], ignore_index=True)
    payments = pd.concat([payments, new_payments], ignore_index=True)
    openings = _loan_openings(new_loans, clients, anchor, len(product_usage), chunk.ids)
    product_usage = pd.concat([product_usage, openings])
    return {
        "clients": clients,
        "loans": loans,
        "payments": payments,
        "products": reference["products"],
        "product_usage": product_usage,
        "retail_purchases": retail,
        "partner_services": reference["partner_services"],
        "service_interactions": interactions,
        "station_clients": stations.station_clients,
        "station_visits": stations.station_visits,
    }, stations.ground_truth


def _loan_openings(
    loans: pd.DataFrame, clients: pd.DataFrame, anchor: dt.date, usage_so_far: int, ids: IdStride
) -> pd.DataFrame:
    """The product system's "open" event of each new loan, on its issue date (usage ids continue after
    the ``usage_so_far`` events already numbered)."""
    birth = pd.to_datetime(clients.set_index("client_id")["birth_date"]).reindex(loans["client_id"])
    age = ((pd.Timestamp(anchor) - birth).dt.days / 365.25).to_numpy()
    return pd.DataFrame(
        {
            "usage_id": ids.ids(1, len(loans), start=usage_so_far),
            "client_id": loans["client_id"].to_numpy(),
            "product_id": loan_product(loans["amount"].to_numpy(), loans["term_months"].to_numpy(), age),
            "used_at": loans["issue_date"].to_numpy(),
            "event": "open",
            "amount": None,
        }
    )


def part_ends(n_client_rows: int, parts: int) -> np.ndarray:
    """Where each part's run of client rows ends (exclusive), the rows cut as evenly as they go."""
    return np.cumsum([len(run) for run in np.array_split(np.arange(n_client_rows), parts)])


def parts_of_clients(clients: pd.DataFrame, first_row: int, ends: np.ndarray) -> pd.Series:
    """The part of each client, by client id: ``clients`` are the population's client rows from ``first_row``."""
    rows = first_row + np.arange(len(clients))
    return pd.Series(np.searchsorted(ends, rows, side="right"), index=clients["client_id"].to_numpy())


def parts_of_rows(name: str, frame: pd.DataFrame, frames: dict, part_of_client: pd.Series) -> np.ndarray:
    """The part of each row of entity ``name``: its client's (``EVERY_PART`` for the catalogues).

    Online-retail lines belong to no bank client: the lines generated with these clients are cut into
    contiguous runs, one per part the clients span.
    """
    if name in REFERENCE_ENTITIES:
        return np.full(len(frame), EVERY_PART)
    if name == "retail_purchases":
        first, last = int(part_of_client.iloc[0]), int(part_of_client.iloc[-1])
        runs = np.array_split(np.arange(len(frame)), last - first + 1)
        return np.repeat(np.arange(first, last + 1), [len(run) for run in runs])
    if "client_id" in frame.columns:
        return part_of_client.reindex(frame["client_id"]).to_numpy()
    if "loan_id" in frame.columns:
        loan_client = frames["loans"].set_index("loan_id")["client_id"]
        return part_of_client.reindex(loan_client.reindex(frame["loan_id"]).to_numpy()).to_numpy()
    raise ValueError(f"cannot tell which client owns rows of {name!r}")


class ClientVersions:
    """Every client landed so far at its latest version: each part after the first brings new versions of
    a few clients of earlier parts, as a CRM changes data over time."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.latest: pd.DataFrame | None = None
        self.part = np.array([], dtype=np.int64)

    def add(self, clients: pd.DataFrame, parts: np.ndarray) -> None:
        """More clients, in the population's order, with the part of each."""
        self.latest = clients if self.latest is None else pd.concat([self.latest, clients], ignore_index=True)
        self.part = np.concatenate([self.part, parts])

    def change_for_part(self, part: int) -> pd.DataFrame:
        """The new versions that part ``part`` brings (none in the first); ``latest`` takes them on."""
        rng = np.random.default_rng([self.seed, part])
        earlier = self.latest[self.part < part]
        changed = change_some_clients(earlier, CHANGED_CLIENTS_SHARE, rng) if part else earlier.iloc[:0]
        if changed.empty:  # nothing to take on: spare a copy of every client (a million at the largest)
            return changed
        latest = self.latest.set_index("client_id")
        latest.update(changed.set_index("client_id"))
        latest = latest.reset_index()
        latest["income"] = latest["income"].astype(int)
        self.latest = latest
        return changed

    def of_part(self, part: int, cumulative: bool, changed: pd.DataFrame) -> pd.DataFrame:
        """The clients part ``part`` lands: every client so far at its latest version (cumulative), or the
        part's own clients and the new versions it brings (delta)."""
        if cumulative:
            landed = self.part <= part
            return self.latest if landed.all() else self.latest[landed]
        return pd.concat([self.latest[self.part == part], changed], ignore_index=True)


def in_part(row_parts: np.ndarray, part: int, cumulative: bool) -> np.ndarray:
    """Which rows part ``part`` lands: every earlier part's too when cumulative, and the catalogues always."""
    return (row_parts <= part if cumulative else row_parts == part) | (row_parts == EVERY_PART)


def split_into_parts(
    frames: dict[str, pd.DataFrame], parts: int, seed: int, cumulative: bool
) -> list[dict[str, pd.DataFrame]]:
    """Cut the frames of one chunk (a whole population) into ``parts`` partitions, keyed by each row's
    client; ``land.generate_and_land`` does the same chunk by chunk, streaming."""
    clients = frames["clients"]
    part_of_client = parts_of_clients(clients, 0, part_ends(len(clients), parts))
    row_parts = {name: parts_of_rows(name, frame, frames, part_of_client) for name, frame in frames.items()}
    versions = ClientVersions(seed)
    versions.add(clients, row_parts["clients"])
    result = []
    for part in range(parts):
        changed = versions.change_for_part(part)
        out = {name: frame[in_part(row_parts[name], part, cumulative)] for name, frame in frames.items()}
        out["clients"] = versions.of_part(part, cumulative, changed)
        result.append(out)
    return result
