"""The latent-taste model that drives the synthetic partner-service interactions.

Real interaction data is not available outside production, yet the recommender, its evaluation and
the pipeline all need data with a learnable structure. Interactions are therefore driven by a
latent-taste model: each client portrait (fuel-station segment) has affinities to service
categories and themes, client attributes (income, car loan, coffee habit) shift them, and every
client additionally has an individual taste and a favourite partner. Popularity skew and noise are
layered on top, and some clients have no history at all (cold start).

The portraits themselves are those of ``include/portraits.json``; this module only says how each one's
clients behave (a unit test keeps the two in step).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Themes are detected in the service text by word stems, so any catalogue (not just ours) gets
# latent features and the content model has real words to pick up.
THEME_STEMS = {
    "premium": ("преми", "керамик", "бизнес-зал"),
    "budget": ("эконом", "недорог", "лайт", "кешбэк"),
    "truck": ("груз", "фур", "дальнобой", "трасс"),
    "taxi": ("такси", "самозанят", "автопарк"),
    "family": ("сем", "дет"),
    "urban": ("город", "центр", "с собой", "подписк"),
    "country": ("дач", "пенси", "природ", "загород"),
    "travel": ("путешеств", "поездк", "аэропорт", "дорог"),
    "credit": ("кредит",),
}
THEMES = tuple(THEME_STEMS)


@dataclass(frozen=True)
class PortraitTaste:
    """How the clients of one portrait behave: affinities (log-odds, 0 = neutral) and typical attributes."""

    categories: dict[str, float]
    themes: dict[str, float]
    age: tuple[float, float]  # mean, standard deviation
    median_income: float  # RUB per month
    share: float  # of the clients generate_portrait_clients draws


PORTRAIT_TASTES = {
    "rational_driver": PortraitTaste(
        categories={"fuel": 1.0, "insurance": 0.6, "tyre_service": 0.8, "car_service": 0.6, "bank": 0.3},
        themes={"budget": 1.2, "premium": -1.0, "truck": -1.0},
        age=(42, 10), median_income=80_000, share=0.22,
    ),
    "taxi_driver": PortraitTaste(
        categories={"fuel": 1.0, "car_wash": 0.8, "coffee": 0.8, "car_service": 0.8, "bank": 0.4},
        themes={"taxi": 2.0, "urban": 0.5, "budget": 0.5, "truck": -1.0},
        age=(38, 9), median_income=70_000, share=0.12,
    ),
    "premium_owner": PortraitTaste(
        categories={"car_wash": 1.0, "insurance": 0.8, "bank": 0.6, "parking": 0.6, "car_service": 0.6},
        themes={"premium": 2.0, "budget": -1.0, "truck": -1.5, "urban": 0.5},
        age=(45, 9), median_income=250_000, share=0.08,
    ),
    "young_urban": PortraitTaste(
        categories={"coffee": 1.2, "parking": 0.8, "roadside_assistance": 0.5, "car_wash": 0.4},
        themes={"urban": 1.8, "country": -1.0, "truck": -1.5},
        age=(27, 4), median_income=90_000, share=0.16,
    ),
    "country_pensioner": PortraitTaste(
        categories={"retail": 1.2, "bank": 0.6, "tyre_service": 0.6, "fuel": 0.4, "travel": 0.3},
        themes={"country": 2.0, "budget": 0.8, "premium": -1.0, "truck": -1.0},
        age=(66, 5), median_income=35_000, share=0.14,
    ),
    "family_traveller": PortraitTaste(
        categories={"travel": 1.2, "retail": 0.8, "insurance": 0.6, "roadside_assistance": 0.6},
        themes={"family": 2.0, "travel": 1.2, "truck": -1.0},
        age=(38, 6), median_income=110_000, share=0.16,
    ),
    "long_haul_trucker": PortraitTaste(
        categories={"fuel": 1.2, "travel": 0.8, "tyre_service": 0.8, "coffee": 0.5, "car_wash": 0.5},
        themes={"truck": 2.5, "urban": -1.0, "family": -1.0},
        age=(45, 8), median_income=85_000, share=0.12,
    ),
}  # fmt: skip
PORTRAITS = tuple(PORTRAIT_TASTES)
# Portraits whose clients are more likely to have a car loan / to buy coffee.
CREDIT_PRONE = ("taxi_driver", "family_traveller", "rational_driver")
COFFEE_PRONE = ("young_urban", "taxi_driver")


def _string_seed(value: str) -> int:
    return int.from_bytes(hashlib.sha256(value.encode("utf-8")).digest()[:8], "little")


def generate_portrait_clients(n_clients: int, seed: int = 0) -> pd.DataFrame:
    """Clients with a portrait and attributes consistent with it (for the recommender's benchmark and tests;
    the source system's bank clients get theirs from ``partners.bank_client_profiles``)."""
    rng = np.random.default_rng(seed)
    tastes = [PORTRAIT_TASTES[p] for p in PORTRAITS]
    portrait_codes = rng.choice(len(PORTRAITS), size=n_clients, p=np.asarray([t.share for t in tastes]))
    profile = np.asarray([(*t.age, t.median_income) for t in tastes], dtype=float)
    age = np.clip(rng.normal(profile[portrait_codes, 0], profile[portrait_codes, 1]), 18, 90).round()
    income = np.exp(np.log(profile[portrait_codes, 2]) + rng.normal(0, 0.35, n_clients)).round(-3)
    portraits = np.asarray(PORTRAITS, dtype=object)[portrait_codes]
    credit_prone = np.isin(portraits, CREDIT_PRONE)
    coffee_prone = np.isin(portraits, COFFEE_PRONE)
    return pd.DataFrame(
        {
            "client_id": [f"c{i:07d}" for i in range(n_clients)],
            "portrait_id": portraits,
            "age": age.astype(int),
            "income": income,
            "products_count": rng.poisson(1.5, n_clients) + 1,
            "has_car_loan": rng.random(n_clients) < np.where(credit_prone, 0.35, 0.12),
            "prefers_coffee": rng.random(n_clients) < np.where(coffee_prone, 0.6, 0.2),
        }
    )


def _service_features(services: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Category one-hot, theme indicators and partner codes for any services table."""
    text = (
        services["service_name"].fillna("").astype(str) + " " + services["description"].fillna("").astype(str)
    ).str.lower()
    themes = np.column_stack(
        [text.str.contains("|".join(stems), regex=True).to_numpy() for stems in THEME_STEMS.values()]
    ).astype(float)
    category = (
        services["partner_category"].fillna("other").astype(str)
        if "partner_category" in services.columns
        else pd.Series("other", index=services.index)
    )
    category_codes, category_names = pd.factorize(category)
    categories = np.zeros((len(services), len(category_names)))
    categories[np.arange(len(services)), category_codes] = 1.0
    partner_codes, _ = pd.factorize(services["partner_name"])
    return categories, themes, partner_codes, list(category_names)


def _portrait_affinity(portrait: str, category_names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Category and theme affinities; unknown portraits get a deterministic pseudo-random taste."""
    if portrait in PORTRAIT_TASTES:
        taste = PORTRAIT_TASTES[portrait]
        return (
            np.asarray([taste.categories.get(c, 0.0) for c in category_names]),
            np.asarray([taste.themes.get(t, 0.0) for t in THEMES]),
        )
    rng = np.random.default_rng(_string_seed(portrait))
    return rng.normal(0, 0.8, len(category_names)), rng.normal(0, 1.0, len(THEMES))


def client_service_utility(
    clients: pd.DataFrame,
    services: pd.DataFrame,
    seed: int = 0,
    segment_strength: float = 0.7,
    taste_strength: float = 2.0,
) -> np.ndarray:
    """Dense clients x services latent utility (log-odds of choosing the service).

    ``segment_strength`` scales the portrait affinities, ``taste_strength`` the individual taste
    (latent factors and favourite partner). Exposed so simulations (e.g. A/B responses) can use
    the same "true" taste as the interactions.
    """
    rng = np.random.default_rng([seed, 1])
    n_clients, n_services = len(clients), len(services)
    categories, themes, partner_codes, category_names = _service_features(services)
    portrait = clients["portrait_id"].fillna("unknown").astype(str) if "portrait_id" in clients else None
    portrait = portrait if portrait is not None else pd.Series("unknown", index=clients.index)
    portrait_codes, portrait_names = pd.factorize(portrait)
    affinities = [_portrait_affinity(name, category_names) for name in portrait_names]
    portrait_utility = np.stack([categories @ cat + themes @ theme for cat, theme in affinities])

    utility = segment_strength * portrait_utility[portrait_codes].astype(np.float32)
    # Popularity skew: a few services are hits for everyone.
    utility += rng.normal(0, 0.7, n_services).astype(np.float32)
    # Individual taste: a low-rank random factor model shared by all clients, so that clients
    # with similar histories also like similar unseen services (what collaborative filtering learns).
    n_factors = 3
    client_factors = rng.normal(0, 0.8, (n_clients, n_factors)).astype(np.float32)
    service_factors = rng.normal(0, 0.8, (n_factors, n_services)).astype(np.float32)
    utility += taste_strength * (client_factors @ service_factors)
    # Favourite partner: loyalty to one brand (what content similarity via partner name picks up).
    n_partners = int(partner_codes.max()) + 1
    favourite_partner = rng.integers(0, n_partners, n_clients)
    has_favourite = rng.random(n_clients) < 0.6
    utility += (
        taste_strength
        * 1.2
        * (has_favourite[:, None] & (partner_codes[None, :] == favourite_partner[:, None]))
    ).astype(np.float32)

    theme_index = {t: i for i, t in enumerate(THEMES)}
    if "income" in clients:
        log_income = np.log(clients["income"].fillna(80_000).clip(lower=10_000).to_numpy(float))
        rich = np.clip((log_income - np.log(100_000)) / 1.0, -1.5, 1.5).astype(np.float32)
        utility += np.outer(rich, themes[:, theme_index["premium"]] - 0.5 * themes[:, theme_index["budget"]])
    if "age" in clients:
        senior = (clients["age"].fillna(40).to_numpy(float) >= 60).astype(np.float32)
        utility += np.outer(senior, themes[:, theme_index["country"]] - 0.5 * themes[:, theme_index["urban"]])
    if "has_car_loan" in clients:
        loan = clients["has_car_loan"].fillna(False).to_numpy(bool).astype(np.float32)
        insurance_or_credit = themes[:, theme_index["credit"]]
        if "insurance" in category_names:
            insurance_or_credit = insurance_or_credit + categories[:, category_names.index("insurance")]
        utility += 1.2 * np.outer(loan, insurance_or_credit)
    if "prefers_coffee" in clients and "coffee" in category_names:
        coffee = clients["prefers_coffee"].fillna(False).to_numpy(bool).astype(np.float32)
        utility += 1.5 * np.outer(coffee, categories[:, category_names.index("coffee")])
    utility += rng.normal(0, 0.5, utility.shape).astype(np.float32)
    return utility


def generate_interactions(
    clients: pd.DataFrame,
    services: pd.DataFrame,
    seed: int = 0,
    mean_services_per_client: float = 5.0,
    cold_start_share: float = 0.08,
    start: str = "2024-01-01",
    end: str = "2025-06-30",
) -> pd.DataFrame:
    """Interaction events ``client_id, service_id, interacted_at, kind ('view'|'purchase'), weight``.

    Each client picks a number of distinct services (more for clients with more products) without
    replacement with probability proportional to exp(utility) (Gumbel top-k trick, vectorised),
    then generates 1+ events per chosen service; purchases are likelier for high-utility services.
    A ``cold_start_share`` of clients has no events at all. Weights: view = 1, purchase = 3.
    """
    rng = np.random.default_rng([seed, 2])
    utility = client_service_utility(clients, services, seed=seed)
    n_clients, n_services = utility.shape
    products = clients["products_count"].fillna(1).to_numpy(float) if "products_count" in clients else 1.0
    activity = np.asarray(products / np.mean(products) if np.ndim(products) else np.ones(n_clients))
    n_chosen = rng.poisson(mean_services_per_client * (0.5 + 0.5 * activity))
    n_chosen = np.clip(n_chosen, 1, n_services)
    n_chosen[rng.random(n_clients) < cold_start_share] = 0

    gumbel_keys = utility + rng.gumbel(size=utility.shape).astype(np.float32)
    order = np.argsort(-gumbel_keys, axis=1)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(n_services)[None, :], axis=1)
    client_idx, service_idx = np.nonzero(ranks < n_chosen[:, None])

    pair_utility = utility[client_idx, service_idx]
    n_events = 1 + rng.poisson(0.6, len(client_idx))
    event_client = np.repeat(client_idx, n_events)
    event_service = np.repeat(service_idx, n_events)
    purchase_probability = 1.0 / (1.0 + np.exp(-(np.repeat(pair_utility, n_events) - 1.0)))
    is_purchase = rng.random(len(event_client)) < purchase_probability

    start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
    span_seconds = int((end_ts - start_ts).total_seconds())
    offsets = rng.integers(0, span_seconds, len(event_client))
    interactions = pd.DataFrame(
        {
            "client_id": clients["client_id"].to_numpy()[event_client],
            "service_id": services["service_id"].to_numpy()[event_service],
            "interacted_at": start_ts + pd.to_timedelta(offsets, unit="s"),
            "kind": np.where(is_purchase, "purchase", "view"),
            "weight": np.where(is_purchase, 3.0, 1.0),
        }
    )
    return interactions.sort_values(["interacted_at", "client_id"], kind="stable").reset_index(drop=True)
