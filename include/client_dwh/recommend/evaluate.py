"""Offline evaluation of the recommender variants on a per-client hold-out.

Before a model goes to an A/B test we want cheap evidence that it beats the popularity baseline;
ranking metrics on held-out interactions give that evidence and are reproducible for a seed.

Definitions (``recommended`` = the model's top-k list, ``relevant`` = the client's held-out services):

* precision@k = |hits in top-k| / k (k, not the list length, so short lists are penalised);
  averaged over test users with at least one held-out service.
* recall@k = |hits in top-k| / |relevant|.
* AP@k = sum over hit positions i of precision@i, divided by min(|relevant|, k); MAP@k is its mean.
* NDCG@k = DCG@k / IDCG@k with binary gains, DCG = sum of 1 / log2(position + 1) over hits and
  IDCG the DCG of min(|relevant|, k) hits at the top.
* coverage = share of the catalogue recommended to at least one evaluated user.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from client_dwh.recommend.model import HybridRecommender
from client_dwh.recommend.variants import VARIANTS


def precision_at_k(recommended: Sequence, relevant: Iterable, k: int) -> float:
    relevant_set = set(relevant)
    return sum(item in relevant_set for item in list(recommended)[:k]) / k


def recall_at_k(recommended: Sequence, relevant: Iterable, k: int) -> float:
    relevant_set = set(relevant)
    if not relevant_set:
        return 0.0
    return sum(item in relevant_set for item in list(recommended)[:k]) / len(relevant_set)


def average_precision_at_k(recommended: Sequence, relevant: Iterable, k: int) -> float:
    relevant_set = set(relevant)
    if not relevant_set:
        return 0.0
    hits, total = 0, 0.0
    for position, item in enumerate(list(recommended)[:k], start=1):
        if item in relevant_set:
            hits += 1
            total += hits / position
    return total / min(len(relevant_set), k)


def ndcg_at_k(recommended: Sequence, relevant: Iterable, k: int) -> float:
    relevant_set = set(relevant)
    if not relevant_set:
        return 0.0
    dcg = sum(
        1.0 / np.log2(position + 1)
        for position, item in enumerate(list(recommended)[:k], start=1)
        if item in relevant_set
    )
    ideal = sum(1.0 / np.log2(position + 1) for position in range(1, min(len(relevant_set), k) + 1))
    return float(dcg / ideal)


def train_test_split_interactions(
    interactions: pd.DataFrame, test_share: float = 0.2, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out a share of each client's distinct services (all their events go to test).

    Only clients with at least 2 distinct services contribute test items; each keeps at least one
    service in train and gives at least one to test. Returns ``(train, test)`` event frames.
    """
    rng = np.random.default_rng(seed)
    pairs = interactions[["client_id", "service_id"]].drop_duplicates().reset_index(drop=True)
    # Sort first so the split does not depend on the order events arrived in.
    pairs = pairs.sort_values(["client_id", "service_id"], kind="stable").reset_index(drop=True)
    pairs["_key"] = rng.random(len(pairs))
    n_services = pairs.groupby("client_id")["service_id"].transform("size").to_numpy()
    position = pairs.groupby("client_id")["_key"].rank(method="first").to_numpy() - 1
    n_test = np.where(n_services >= 2, np.clip(np.round(test_share * n_services), 1, n_services - 1), 0)
    pairs["_is_test"] = position < n_test
    flagged = interactions.merge(
        pairs[["client_id", "service_id", "_is_test"]], on=["client_id", "service_id"]
    )
    is_test = flagged.pop("_is_test").to_numpy(bool)
    return flagged[~is_test].reset_index(drop=True), flagged[is_test].reset_index(drop=True)


def ranking_metrics(recommendations: pd.DataFrame, test: pd.DataFrame, k: int, n_catalogue: int) -> dict:
    """Vectorised precision/recall/MAP/NDCG@k over all test users (see module docstring)."""
    relevant = test[["client_id", "service_id"]].drop_duplicates()
    users = pd.Index(relevant["client_id"].unique())
    n_relevant = relevant.groupby("client_id").size().reindex(users).to_numpy(float)
    recs = recommendations[recommendations["rank"] <= k]
    recs = recs[recs["client_id"].isin(users)]
    hits_frame = recs.merge(relevant.assign(_hit=True), on=["client_id", "service_id"], how="left")
    hits = np.zeros((len(users), k), dtype=bool)
    hit_rows = hits_frame["_hit"].fillna(False).to_numpy(bool)
    hits[
        users.get_indexer(hits_frame.loc[hit_rows, "client_id"]),
        hits_frame.loc[hit_rows, "rank"].to_numpy(int) - 1,
    ] = True

    positions = np.arange(1, k + 1)
    n_hits = hits.sum(axis=1)
    precision_at_position = np.cumsum(hits, axis=1) / positions
    average_precision = (precision_at_position * hits).sum(axis=1) / np.minimum(n_relevant, k)
    discounts = 1.0 / np.log2(positions + 1)
    ideal = np.cumsum(discounts)[np.minimum(n_relevant, k).astype(int) - 1]
    return {
        f"precision@{k}": float(np.mean(n_hits / k)) if len(users) else 0.0,
        f"recall@{k}": float(np.mean(n_hits / n_relevant)) if len(users) else 0.0,
        f"map@{k}": float(np.mean(average_precision)) if len(users) else 0.0,
        f"ndcg@{k}": float(np.mean((hits * discounts).sum(axis=1) / ideal)) if len(users) else 0.0,
        "coverage": recs["service_id"].nunique() / n_catalogue if n_catalogue else 0.0,
        "n_users_evaluated": len(users),
    }


def evaluate_variants(
    interactions: pd.DataFrame,
    services: pd.DataFrame,
    clients: pd.DataFrame | None = None,
    k: int = 10,
    variants: Sequence[str] = VARIANTS,
    test_share: float = 0.2,
    seed: int = 0,
    **params,
) -> pd.DataFrame:
    """Split, fit once on train, score every variant for the test users; one row per variant.

    ``params`` go to ``HybridRecommender`` (e.g. ``k_neighbours``, ``blend``).
    """
    train, test = train_test_split_interactions(interactions, test_share=test_share, seed=seed)
    model = HybridRecommender(**params).fit(train, services, clients)
    test_users = test["client_id"].unique()
    rows = []
    for variant in variants:
        recommendations = model.recommend(test_users, k=k, variant=variant)
        rows.append({"variant": variant, **ranking_metrics(recommendations, test, k, len(services))})
    return pd.DataFrame(rows)
