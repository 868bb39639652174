"""Partner services and the bank clients' interactions with them, for the synthetic source system.

The partner catalogue comes from the same text the partners send (parsed by the real parser), and
interactions are drawn from the recommender's latent-taste model with each bank client's own age,
income, products and loans, so what the warehouse learns from has a learnable structure.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from client_dwh.sources.synthetic.partner_activity import generate_interactions, generate_services

# How far back the interaction history goes from the export date.
HISTORY_DAYS = 540


def generate_partner_services() -> pd.DataFrame:
    """The synthetic catalogue (partner_name, partner_category, service_id, service_name, description)."""
    return generate_services()


def bank_client_profiles(
    clients: pd.DataFrame,
    loans: pd.DataFrame,
    product_usage: pd.DataFrame,
    rng: np.random.Generator,
    as_of: dt.date,
) -> pd.DataFrame:
    """Per client what drives their taste: age, income, products used, a loan, and a hidden portrait.

    The portrait (a fuel-station lifestyle) is never landed; it follows age and income loosely, so the
    warehouse's age/income segments carry part of the signal and behaviour the rest.
    """
    n = len(clients)
    age = ((pd.Timestamp(as_of) - pd.to_datetime(clients["birth_date"])).dt.days / 365.25).to_numpy()
    income = clients["income"].to_numpy(float)
    products = product_usage.groupby("client_id")["product_id"].nunique()
    products_count = products.reindex(clients["client_id"]).fillna(0).to_numpy() + 1
    has_loan = clients["client_id"].isin(loans["client_id"]).to_numpy()

    middle_aged = ("rational_driver", "taxi_driver", "family_traveller", "long_haul_trucker")
    portrait = np.asarray(middle_aged, dtype=object)[rng.choice(4, n, p=[0.35, 0.2, 0.3, 0.15])]
    portrait = np.where(age < 30, "young_urban", portrait)
    portrait = np.where(income >= 150_000, "premium_owner", portrait)
    portrait = np.where(age >= 60, "country_pensioner", portrait)
    # A fifth of clients do not fit their demographic stereotype.
    other = rng.random(n) < 0.2
    portrait = np.where(other, np.asarray(middle_aged, dtype=object)[rng.integers(0, 4, n)], portrait)
    return pd.DataFrame(
        {
            "client_id": clients["client_id"].to_numpy(),
            "portrait_id": portrait,
            "age": age.round().astype(int),
            "income": income,
            "products_count": products_count,
            "has_car_loan": has_loan & (rng.random(n) < 0.5),
            "prefers_coffee": rng.random(n) < np.where(age < 35, 0.5, 0.2),
        }
    )


def generate_service_interactions(
    clients: pd.DataFrame,
    loans: pd.DataFrame,
    product_usage: pd.DataFrame,
    services: pd.DataFrame,
    seed: int,
    as_of: dt.date,
) -> pd.DataFrame:
    """Events ``interaction_id, client_id, service_id, interacted_at, kind, weight`` up to ``as_of``."""
    profiles = bank_client_profiles(clients, loans, product_usage, np.random.default_rng([seed, 104]), as_of)
    start = pd.Timestamp(as_of) - pd.Timedelta(days=HISTORY_DAYS)
    events = generate_interactions(
        profiles, services, seed=seed, start=start.isoformat(), end=pd.Timestamp(as_of).isoformat()
    )
    events.insert(0, "interaction_id", np.arange(1, len(events) + 1))
    events["interacted_at"] = events["interacted_at"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    return events
