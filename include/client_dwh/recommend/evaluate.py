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
    return ranking_metrics_of_chunks([recommendations], test, k, n_catalogue)


def ranking_metrics_of_chunks(
    chunks: Iterable[pd.DataFrame], test: pd.DataFrame, k: int, n_catalogue: int
) -> dict:
    """``ranking_metrics`` of recommendations that arrive in chunks (``HybridRecommender.recommend_in_chunks``):
    only a (users x k) hit matrix and the services seen are kept, never every user's list."""
    relevant = test[["client_id", "service_id"]].drop_duplicates()
    users = pd.Index(relevant["client_id"].unique())
    n_relevant = relevant.groupby("client_id").size().reindex(users).to_numpy(float)
    hits = np.zeros((len(users), k), dtype=bool)
    recommended_services: set = set()
    for recommendations in chunks:
        recs = recommendations[recommendations["rank"] <= k]
        recs = recs[recs["client_id"].isin(users)]
        recommended_services.update(recs["service_id"].unique())
        hits_frame = recs.merge(relevant.assign(_hit=True), on=["client_id", "service_id"], how="left")
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
        "coverage": len(recommended_services) / n_catalogue if n_catalogue else 0.0,
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
    variant_params: dict[str, dict] | None = None,
    **params,
) -> pd.DataFrame:
    """Split, fit once on train, score every variant for the test users; one row per variant.

    ``params`` go to ``HybridRecommender`` (e.g. ``k_neighbours``, ``blend``); ``variant_params`` override
    scoring-time ones per variant (e.g. ``{"collaborative": {"k_neighbours": 200}}``): no refit needed.
    """
    train, test = train_test_split_interactions(interactions, test_share=test_share, seed=seed)
    model = HybridRecommender(**params).fit(train, services, clients)
    test_users = test["client_id"].unique()
    rows = []
    defaults = {"k_neighbours": model.k_neighbours, "blend": model.blend}
    for variant in variants:
        for name, value in {**defaults, **(variant_params or {}).get(variant, {})}.items():
            setattr(model, name, value)
        recommendations = model.recommend_in_chunks(test_users, k=k, variant=variant)
        rows.append(
            {"variant": variant, **ranking_metrics_of_chunks(recommendations, test, k, len(services))}
        )
    return pd.DataFrame(rows)


BLEND_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
NEIGHBOURS_GRID = (10, 25, 50, 100, 200)
# Tuning scores every (neighbours, blend) pair: a sample of validation clients keeps it to seconds.
MAX_TUNING_USERS = 5_000
# The hybrid is served only when it beats the best single component on validation by more than this many
# standard errors of the per-client difference; otherwise the simpler component is served.
MIN_GAIN_STANDARD_ERRORS = 1.0


def ndcg_per_user(
    top_service_ids: np.ndarray, relevant: pd.DataFrame, user_ids: np.ndarray, k: int
) -> np.ndarray:
    """NDCG@k of each user's ranked list (rows of ``top_service_ids``) against ``relevant`` pairs."""
    relevant_pairs = set(
        zip(relevant["client_id"].astype(str), relevant["service_id"].astype(str), strict=True)
    )
    n_relevant = relevant.groupby(relevant["client_id"].astype(str))["service_id"].nunique()
    n_relevant = n_relevant.reindex(user_ids.astype(str)).fillna(0).to_numpy(int)
    hits = np.array(
        [
            [(user, service) in relevant_pairs for service in row]
            for user, row in zip(user_ids.astype(str), top_service_ids, strict=True)
        ],
        dtype=float,
    ).reshape(len(user_ids), -1)[:, :k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(discounts)[np.clip(np.minimum(n_relevant, k), 1, None) - 1]
    return np.where(n_relevant > 0, (hits * discounts[: hits.shape[1]]).sum(axis=1) / ideal, 0.0)


def tune_blend(
    train: pd.DataFrame,
    services: pd.DataFrame,
    clients: pd.DataFrame | None = None,
    k: int = 10,
    validation_share: float = 0.2,
    seed: int = 0,
    blends: Sequence[float] = BLEND_GRID,
    neighbours: Sequence[int] = NEIGHBOURS_GRID,
    max_users: int = MAX_TUNING_USERS,
    **params,
) -> dict:
    """Choose the blend, the neighbours and the variant to serve on a validation split of ``train`` only.

    ``train`` is split again (per client, like the test split, seed + 1) into a fit part and a validation
    part; one model is fitted and every (neighbours, blend) pair is scored on the validation clients. Blend
    1 is collaborative filtering alone and 0 content alone, so both components are always scored too. A
    single value in ``blends`` or ``neighbours`` fixes it (the DAG's Params). Returns the hybrid's best
    ``blend`` and ``neighbours``, collaborative filtering's best ``component_neighbours``, the ``variant``
    to serve (hybrid, collaborative, content or popularity), the validation NDCG@k of each variant, and
    ``reason`` (one sentence for the metrics mart).
    """
    fit_part, validation = train_test_split_interactions(train, test_share=validation_share, seed=seed + 1)
    model = HybridRecommender(**params).fit(fit_part, services, clients)
    users = np.sort(validation["client_id"].astype(str).unique())
    if len(users) > max_users:
        users = np.sort(np.random.default_rng(seed).choice(users, size=max_users, replace=False))
    if not len(users):
        raise ValueError("no validation clients: every client has a single service")
    # Only the sampled clients are scored: their held-out pairs are all the metrics look up.
    validation = validation[validation["client_id"].astype(str).isin(users)]
    # Blends 0 and 1 (the components alone) are always scored, to compare the hybrid with.
    scored_blends = sorted({float(b) for b in blends} | {0.0, 1.0})
    lists: dict[tuple[int, float], list[np.ndarray]] = {}
    for n, blend, _, top in model.blend_grid_top_k(users, neighbours, scored_blends, k):
        lists.setdefault((n, blend), []).append(model.service_ids_[top])
    per_user = {
        pair: ndcg_per_user(np.concatenate(parts), validation, users, k) for pair, parts in lists.items()
    }
    mean = {pair: float(values.mean()) for pair, values in per_user.items()}
    hybrid_pairs = [pair for pair in mean if pair[1] in {float(b) for b in blends}]
    best_pair = max(hybrid_pairs, key=lambda pair: (mean[pair], -abs(pair[1] - 0.5)))
    best_cf = max((pair for pair in mean if pair[1] == 1.0), key=mean.get)
    content_pair = max((pair for pair in mean if pair[1] == 0.0), key=mean.get)
    popularity = model.recommend(users, k=k, variant="popularity")
    popularity_ndcg = ranking_metrics(popularity, validation, k, len(services))[f"ndcg@{k}"]
    validation_ndcg = {
        "hybrid": mean[best_pair],
        "collaborative": mean[best_cf],
        "content": mean[content_pair],
        "popularity": popularity_ndcg,
    }
    component, component_pair = (
        ("collaborative", best_cf) if mean[best_cf] >= mean[content_pair] else ("content", content_pair)
    )
    difference = per_user[best_pair] - per_user[component_pair]
    standard_error = float(difference.std(ddof=1) / np.sqrt(len(difference))) if len(difference) > 1 else 0.0
    gain = mean[best_pair] - mean[component_pair]
    blend, n = best_pair[1], best_pair[0]
    where = f"on {len(users)} validation clients (NDCG@{k})"
    if best_pair[1] in (0.0, 1.0) or gain <= MIN_GAIN_STANDARD_ERRORS * standard_error:
        # Serving the component: the hybrid's row keeps the best blend found, for the record.
        variant = component
        reason = (
            (
                f"{component} with {component_pair[0]} neighbours: no blend beat it {where} (best found: blend "
                f"{best_pair[1]:g}, {best_pair[0]} neighbours, {mean[best_pair]:.4f})"
            )
            if best_pair[1] in (0.0, 1.0)
            else (
                f"{component} with {component_pair[0]} neighbours: the best blend ({best_pair[1]:g}, "
                f"{best_pair[0]} neighbours, {mean[best_pair]:.4f}) beats it by {gain:+.4f}, not more than "
                f"{MIN_GAIN_STANDARD_ERRORS:g} standard error ({standard_error:.4f}) {where}"
            )
        )
    else:
        variant = "hybrid"
        reason = (
            f"hybrid with blend {blend:g} and {n} neighbours: {mean[best_pair]:.4f} beats {component} "
            f"({mean[component_pair]:.4f}) by {gain:+.4f} > {MIN_GAIN_STANDARD_ERRORS:g} standard error "
            f"({standard_error:.4f}) {where}; {len(mean)} (neighbours, blend) pairs tried"
        )
    if popularity_ndcg > validation_ndcg[variant]:
        variant = "popularity"
        reason = f"popularity: {popularity_ndcg:.4f} beats every model variant {where}"
    return {
        "blend": float(blend),
        "neighbours": int(n),
        "component_neighbours": int(best_cf[0]),
        "variant": variant,
        "validation_ndcg": validation_ndcg,
        "validation_users": len(users),
        "reason": reason,
    }
