"""Hybrid recommender of partner services for clients.

Two complementary signals are blended because neither is enough alone: user-based collaborative
filtering captures "clients like you also use X" (including tastes no description reveals), while
content similarity (TF-IDF of service texts) still works for clients whose neighbours are
uninformative and for services few people have used yet. Clients without any history get what is
popular in their segment. Everything is computed in batches with sparse/dense matrix products so
100k clients score in seconds, with no clients x clients matrix ever materialised.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from client_dwh.recommend.variants import VARIANTS

REASON_SIMILAR_CLIENTS = "похожие клиенты выбирают"
REASON_SIMILAR_SERVICE = "похоже на ваши услуги: {service}"
REASON_SEGMENT_POPULAR = "популярно в вашем сегменте"
REASON_GLOBAL_POPULAR = "популярно у клиентов"

# Popularity only breaks ties between otherwise equal model scores; it must never outrank signal.
_TIE_BREAK_WEIGHT = 1e-3
# recommend_in_chunks yields this many scoring batches per thread at a time (2 threads: ~33k clients).
CHUNK_BATCHES = 8
RECOMMENDATION_COLUMNS = ("client_id", "service_id", "score", "rank", "reason")
# Segment shares are shrunk towards the global share so small segments do not produce noisy tops.
_SEGMENT_SMOOTHING_CLIENTS = 20.0


def _min_max_rows(scores: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """Scale each row to [0, 1] over its candidate services; rows without spread become 0."""
    low = np.where(candidate, scores, np.inf).min(axis=1, keepdims=True)
    high = np.where(candidate, scores, -np.inf).max(axis=1, keepdims=True)
    spread = high - low
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.where(spread > 0, (scores - low) / spread, 0.0)
    return np.where(candidate, scaled, 0.0)


class HybridRecommender:
    """User-based CF + TF-IDF content model with a popular-in-segment fallback.

    Parameters
    ----------
    k_neighbours: neighbours per client for collaborative filtering (cosine similarity).
    blend: weight of the collaborative score in the hybrid; ``1 - blend`` goes to content.
    min_score: recommendations scoring below this are dropped.
    variant: default scoring for ``recommend``: 'hybrid', 'collaborative', 'content', 'popularity'.
    segment_column: client attribute used for the popularity fallback and, with
        ``segment_weight``, as an extra feature when searching neighbours (clients of the same
        segment are a little more similar; 0 disables this).
    neighbour_pool_size: neighbours are searched among at most this many clients with history
        (a seeded random sample). Exact kNN when fewer clients have history; above it, top-k over
        all clients costs O(n^2) and a large random pool gives nearly the same neighbourhoods.
    batch_size, n_jobs: scoring batch size and number of threads scoring batches in parallel.
    random_state: seed for the neighbour pool sample.
    """

    def __init__(
        self,
        k_neighbours: int = 50,
        blend: float = 0.6,
        min_score: float = 0.0,
        variant: str = "hybrid",
        segment_column: str = "portrait_id",
        segment_weight: float = 0.5,
        neighbour_pool_size: int = 10_000,
        batch_size: int = 2_048,
        n_jobs: int = 2,
        random_state: int = 0,
    ) -> None:
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        if not 0.0 <= blend <= 1.0:
            raise ValueError("blend must be within [0, 1]")
        self.k_neighbours = k_neighbours
        self.blend = blend
        self.min_score = min_score
        self.variant = variant
        self.segment_column = segment_column
        self.segment_weight = segment_weight
        self.neighbour_pool_size = neighbour_pool_size
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def fit(
        self, interactions: pd.DataFrame, services: pd.DataFrame, clients: pd.DataFrame | None = None
    ) -> HybridRecommender:
        """Learn from ``interactions[client_id, service_id, weight?]``.

        ``services`` needs ``service_id, service_name`` and optionally ``description``,
        ``partner_name``, ``partner_category``. ``clients`` (optional) adds clients without history
        and the segment column for the fallback. Interactions with unknown services are ignored.
        """
        self.service_ids_ = services["service_id"].astype(str).to_numpy()
        if len(pd.unique(self.service_ids_)) != len(self.service_ids_):
            raise ValueError("services.service_id must be unique")
        self.service_names_ = services["service_name"].astype(str).to_numpy()
        service_position = pd.Index(self.service_ids_)

        client_ids = interactions["client_id"].astype(str)
        known_clients = (
            pd.Index(clients["client_id"].astype(str)).append(pd.Index(client_ids))
            if clients is not None
            else pd.Index(client_ids)
        )
        self.client_index_ = pd.Index(pd.unique(known_clients.to_numpy()))
        service_col = service_position.get_indexer(interactions["service_id"].astype(str))
        client_row = self.client_index_.get_indexer(client_ids)
        known = service_col >= 0
        self.n_unknown_service_interactions_ = int((~known).sum())
        weights = (
            interactions["weight"].to_numpy(float) if "weight" in interactions else np.ones(len(interactions))
        )
        n_clients, n_services = len(self.client_index_), len(self.service_ids_)
        summed = sp.csr_matrix(
            (weights[known], (client_row[known], service_col[known])), shape=(n_clients, n_services)
        )
        summed.sum_duplicates()
        # log1p damps heavy repeat users so one client with 50 views does not dominate a neighbourhood.
        summed.data = np.log1p(np.clip(summed.data, 0, None)).astype(np.float32)
        summed.eliminate_zeros()
        self.history_ = summed.astype(np.float32)
        self.has_history_ = np.diff(self.history_.indptr) > 0

        self._fit_popularity(clients)
        self._fit_content(services)
        self._fit_neighbour_pool()
        return self

    def _fit_popularity(self, clients: pd.DataFrame | None) -> None:
        used = self.history_.copy()
        used.data[:] = 1.0
        users_per_service = np.asarray(used.sum(axis=0)).ravel()
        n_active = max(int(self.has_history_.sum()), 1)
        self.global_share_ = (users_per_service / n_active).astype(np.float32)

        segment_of_client = np.full(len(self.client_index_), -1, dtype=np.int64)
        self.segment_names_ = np.asarray([], dtype=object)
        if clients is not None and self.segment_column in clients:
            segment = clients[self.segment_column].astype("string")
            codes, self.segment_names_ = pd.factorize(segment, use_na_sentinel=True)
            rows = self.client_index_.get_indexer(clients["client_id"].astype(str))
            segment_of_client[rows] = codes
        self.segment_of_client_ = segment_of_client
        n_segments = len(self.segment_names_)
        in_segment = segment_of_client >= 0
        membership = sp.csr_matrix(
            (
                np.ones(int(in_segment.sum()), dtype=np.float32),
                (segment_of_client[in_segment], np.flatnonzero(in_segment)),
            ),
            shape=(n_segments, len(self.client_index_)),
        )
        segment_counts = np.asarray((membership @ used).todense())
        active_per_segment = membership @ self.has_history_.astype(np.float32)
        shrink = _SEGMENT_SMOOTHING_CLIENTS
        self.segment_share_ = (
            (segment_counts + shrink * self.global_share_[None, :]) / (active_per_segment[:, None] + shrink)
        ).astype(np.float32)

    def _fit_neighbour_pool(self) -> None:
        active = np.flatnonzero(self.has_history_)
        if len(active) > self.neighbour_pool_size:
            rng = np.random.default_rng(self.random_state)
            active = np.sort(rng.choice(active, size=self.neighbour_pool_size, replace=False))
        self.pool_clients_ = active
        self.pool_history_ = self.history_[active]
        # Dense, row-normalised pool profiles: similarities become one BLAS matrix product per batch.
        self.pool_unit_t_ = np.ascontiguousarray(self._neighbour_features(active, self.pool_history_).T)
        self.pool_position_ = np.full(len(self.client_index_), -1, dtype=np.int64)
        self.pool_position_[active] = np.arange(len(active))

    def _fit_content(self, services: pd.DataFrame) -> None:
        def column(name: str) -> pd.Series:
            if name in services:
                return services[name].fillna("").astype(str)
            return pd.Series("", index=services.index)

        text = (
            column("service_name")
            + " "
            + column("description")
            + " "
            + column("partner_name")
            + " "
            + column("partner_category").str.replace("_", " ")
        )
        # Character n-grams within words tolerate Russian inflection ("семья"/"семей"/"семейный")
        # without a stemmer dependency.
        self.vectorizer_ = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=1
        )
        tfidf = self.vectorizer_.fit_transform(text.str.lower())
        self.service_similarity_ = (tfidf @ tfidf.T).toarray().astype(np.float32)
        self.content_reasons_ = np.asarray(
            [REASON_SIMILAR_SERVICE.format(service=name) for name in self.service_names_], dtype=object
        )

    # ------------------------------------------------------------------ scoring
    def _neighbour_features(self, rows: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        """Unit-length [history profile, weighted segment one-hot] vectors for cosine similarity."""
        profile = normalize(history).toarray().astype(np.float32)
        n_segments = len(self.segment_names_)
        if self.segment_weight > 0 and n_segments:
            segment = self.segment_of_client_[rows]
            one_hot = np.zeros((len(rows), n_segments), dtype=np.float32)
            one_hot[np.flatnonzero(segment >= 0), segment[segment >= 0]] = self.segment_weight
            profile = normalize(np.hstack([profile, one_hot]))
        return profile.astype(np.float32)

    def _similarity_to_pool(self, rows: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        """Cosine similarity of each client to every pool client (itself excluded), shape (rows, pool)."""
        similarity = self._neighbour_features(rows, history) @ self.pool_unit_t_
        own_position = self.pool_position_[rows]
        in_pool = own_position >= 0
        similarity[np.flatnonzero(in_pool), own_position[in_pool]] = -np.inf
        return similarity

    def _collaborative_from_similarity(self, similarity: np.ndarray, k_neighbours: int) -> np.ndarray:
        k = min(k_neighbours, similarity.shape[1] - 1)
        if k <= 0:
            return np.zeros((len(similarity), len(self.service_ids_)), dtype=np.float32)
        neighbours = np.argpartition(similarity, -k, axis=1)[:, -k:]
        weights = np.take_along_axis(similarity, neighbours, axis=1)
        weights = np.where(np.isfinite(weights) & (weights > 0), weights, 0.0)
        neighbour_matrix = sp.csr_matrix(
            (weights.ravel(), neighbours.ravel(), np.arange(0, weights.size + 1, k)),
            shape=(len(similarity), similarity.shape[1]),
        )
        return (neighbour_matrix @ self.pool_history_).toarray()

    def _collaborative_scores(self, rows: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        return self._collaborative_from_similarity(self._similarity_to_pool(rows, history), self.k_neighbours)

    def _content_scores(self, history_dense: np.ndarray) -> np.ndarray:
        # Cosine between the weighted-mean TF-IDF profile and each service, via the service-service
        # Gram matrix: <sum_j w_j t_j, t_s> = (w @ G)_s and ||sum_j w_j t_j||^2 = w @ G @ w.
        affinity = history_dense @ self.service_similarity_
        profile_norm = np.sqrt(np.maximum((affinity * history_dense).sum(axis=1, keepdims=True), 1e-12))
        return affinity / profile_norm

    def _popularity(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Segment (else global) service shares per client row (-1: unknown client), and who has a segment."""
        segment = np.where(rows >= 0, self.segment_of_client_[np.maximum(rows, 0)], -1)
        has_segment = segment >= 0
        popularity = np.where(
            has_segment[:, None],
            self.segment_share_[np.maximum(segment, 0)] if len(self.segment_names_) else 0.0,
            self.global_share_[None, :],
        )
        return popularity, has_segment

    def _score_batch(self, rows: np.ndarray, variant: str, k: int):
        n_services = len(self.service_ids_)
        known = rows >= 0
        safe_rows = np.where(known, rows, 0)
        history = self.history_[safe_rows]
        history = sp.diags(known.astype(np.float32)) @ history
        history_dense = history.toarray()
        used = history_dense > 0
        candidate = ~used
        has_history = used.any(axis=1)

        popularity, has_segment = self._popularity(np.where(known, rows, -1))
        popularity_reason = np.where(has_segment, REASON_SEGMENT_POPULAR, REASON_GLOBAL_POPULAR)

        reason_kind = np.zeros((len(rows), n_services), dtype=np.int8)  # 0 popular, 1 CF, 2 content
        if variant == "popularity":
            scores = popularity.astype(np.float64)
        else:
            cf = np.zeros_like(history_dense)
            content = np.zeros_like(history_dense)
            if variant in ("hybrid", "collaborative"):
                cf = _min_max_rows(self._collaborative_scores(safe_rows, history), candidate)
            if variant in ("hybrid", "content"):
                content = _min_max_rows(self._content_scores(history_dense), candidate)
            cf_weight = {"hybrid": self.blend, "collaborative": 1.0, "content": 0.0}[variant]
            cf_part, content_part = cf_weight * cf, (1.0 - cf_weight) * content
            tie_break = _TIE_BREAK_WEIGHT * _min_max_rows(popularity, candidate)
            model_scores = cf_part + content_part + tie_break
            reason_kind = np.where(cf_part >= content_part, 1, 2).astype(np.int8)
            # Cold-start clients have no model signal: fall back to segment popularity.
            scores = np.where(has_history[:, None], model_scores, popularity)
            reason_kind[~has_history] = 0

        scores = np.where(candidate, scores, -np.inf)
        k_eff = min(k, n_services)
        if k_eff < n_services:
            top = np.argpartition(-scores, k_eff - 1, axis=1)[:, :k_eff]
        else:
            top = np.tile(np.arange(n_services), (len(rows), 1))
        top_scores = np.take_along_axis(scores, top, axis=1)
        order = np.argsort(-top_scores, axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        top_scores = np.take_along_axis(top_scores, order, axis=1)
        top_reason_kind = np.take_along_axis(reason_kind, top, axis=1)

        # The history service most similar to each recommendation explains content-driven picks.
        contribution = history_dense[:, :, None] * self.service_similarity_[:, top].transpose(1, 0, 2)
        explaining_service = contribution.argmax(axis=1)

        reasons = np.where(
            top_reason_kind == 1,
            REASON_SIMILAR_CLIENTS,
            np.where(
                top_reason_kind == 2,
                self.content_reasons_[explaining_service],
                popularity_reason[:, None],
            ),
        )
        keep = np.isfinite(top_scores) & (top_scores >= self.min_score)
        return top, top_scores, reasons, keep

    def blend_grid_top_k(
        self, client_ids, neighbours: Sequence[int], blends: Sequence[float], k: int
    ) -> Iterator[tuple[int, float, np.ndarray, np.ndarray]]:
        """Top-``k`` service positions of the hybrid for every (neighbours, blend) pair, without refitting.

        Yields ``(neighbours, blend, client_ids of the batch, top)`` per batch, ``top`` of shape
        (clients, k) indexing ``service_ids_``. The scores are exactly those of ``recommend(variant=
        'hybrid')`` with ``k_neighbours`` and ``blend`` set, for clients with history seen in ``fit``
        (the others get popularity whatever the blend). Used to tune both on a validation split.
        """
        ids = pd.Index(pd.Series(client_ids).astype(str)).to_numpy()
        rows = self.client_index_.get_indexer(ids)
        if (rows < 0).any():
            raise ValueError("blend_grid_top_k scores clients seen in fit only")
        n_services = len(self.service_ids_)
        k_eff = min(k, n_services)
        for start in range(0, len(ids), self.batch_size):
            batch = rows[start : start + self.batch_size]
            history = self.history_[batch]
            candidate = history.toarray() <= 0
            content = _min_max_rows(self._content_scores(history.toarray()), candidate)
            tie_break = _TIE_BREAK_WEIGHT * _min_max_rows(self._popularity(batch)[0], candidate)
            similarity = self._similarity_to_pool(batch, history)
            for k_neighbours in neighbours:
                cf = _min_max_rows(self._collaborative_from_similarity(similarity, k_neighbours), candidate)
                for blend in blends:
                    scores = np.where(candidate, blend * cf + (1.0 - blend) * content + tie_break, -np.inf)
                    top = np.argpartition(-scores, k_eff - 1, axis=1)[:, :k_eff]
                    order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
                    yield (
                        k_neighbours,
                        blend,
                        ids[start : start + len(batch)],
                        np.take_along_axis(top, order, 1),
                    )

    def recommend(self, client_ids=None, k: int = 10, variant: str | None = None) -> pd.DataFrame:
        """Top-``k`` unused services per client: ``client_id, service_id, score, rank, reason``.

        ``client_ids=None`` means every client seen in ``fit``; unknown ids get overall popularity.
        ``variant`` overrides the instance default (handy for evaluating all variants on one fit).
        """
        frames = list(self.recommend_in_chunks(client_ids, k, variant))
        if not frames:
            return pd.DataFrame(columns=list(RECOMMENDATION_COLUMNS))
        return pd.concat(frames, ignore_index=True)

    def recommend_in_chunks(
        self, client_ids=None, k: int = 10, variant: str | None = None
    ) -> Iterator[pd.DataFrame]:
        """``recommend``'s rows a chunk of clients at a time (``CHUNK_BATCHES`` batches per thread), in the
        same order and scored in the same batches: a caller that writes each chunk away holds one chunk,
        not a million clients' lists."""
        variant = variant or self.variant
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        ids = (
            self.client_index_.to_numpy()
            if client_ids is None
            else pd.Index(pd.Series(client_ids).astype(str)).to_numpy()
        )
        rows = self.client_index_.get_indexer(ids)
        batches = [
            np.arange(start, min(start + self.batch_size, len(ids)))
            for start in range(0, len(ids), self.batch_size)
        ]

        def score(batch: np.ndarray):
            return self._score_batch(rows[batch], variant, k)

        per_chunk = CHUNK_BATCHES * max(self.n_jobs, 1)
        with ThreadPoolExecutor(max_workers=max(self.n_jobs, 1)) as executor:
            for first in range(0, len(batches), per_chunk):
                chunk = batches[first : first + per_chunk]
                if self.n_jobs > 1 and len(batches) > 1:
                    # numpy releases the GIL in the heavy kernels, so threads overlap partitioning and BLAS.
                    results = list(executor.map(score, chunk))
                else:
                    results = [score(batch) for batch in chunk]
                frames = []
                for batch, (top, top_scores, reasons, keep) in zip(chunk, results, strict=True):
                    rank = np.broadcast_to(np.arange(1, top.shape[1] + 1), top.shape)
                    client = np.broadcast_to(ids[batch][:, None], top.shape)
                    frames.append(
                        pd.DataFrame(
                            {
                                "client_id": client[keep],
                                "service_id": self.service_ids_[top[keep]],
                                "score": top_scores[keep].astype(float),
                                "rank": rank[keep].astype(np.int64),
                                "reason": reasons[keep],
                            }
                        )
                    )
                yield pd.concat(frames, ignore_index=True)[list(RECOMMENDATION_COLUMNS)]
