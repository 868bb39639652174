"""The recommender against the warehouse: snapshot the training data, evaluate, publish, A/B test.

One plain function per ``recommend_services`` task, each opening its own connection, so tests call them
without a scheduler. Tasks share data only through the warehouse: ``build_interaction_matrix`` snapshots
core into ``meta.recommender_training_*`` keyed by ``model_run_id`` and the later tasks read that
snapshot back, so every task of a run sees the same data and any task can run on any worker.

Offline metrics are those of ``evaluate.py``; in particular precision@k = hits in the top k / k (not
/ list length), averaged over clients with at least one held-out service.
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from client_dwh import config
from client_dwh.recommend.variants import VARIANTS
from client_dwh.warehouse.db import connect, query, run_sql
from client_dwh.warehouse.marts import AB_TEST_MARTS, RECOMMENDATION_MARTS, RECOMMENDER_METRICS_MARTS, publish
from client_dwh.warehouse.progress import claim_parts, finish_claimed_parts

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

CONTROL_VARIANT = "popularity"  # arm A of the A/B test: what we would show without the model
SEGMENT_COLUMN = "segment"
KEEP_SNAPSHOTS = 3


class NoTrainingData(RuntimeError):
    """The warehouse has no partner services or no interactions to learn from yet."""


@dataclass(frozen=True)
class ModelParams:
    """The knobs of one run (the DAG's Params); stored with every metrics row.

    ``blend`` and ``neighbours`` left as None are tuned on a validation split (``evaluate.tune_blend``).
    """

    k: int = 10
    blend: float | None = None
    min_score: float = 0.0
    neighbours: int | None = None
    test_share: float = 0.2
    seed: int = 0

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> ModelParams:
        """From the DAG run's Params (extra keys such as ``variant`` are ignored)."""
        return cls(
            k=int(params["k"]),
            blend=None if params.get("blend") is None else float(params["blend"]),
            min_score=float(params["min_score"]),
            neighbours=None if params.get("neighbours") is None else int(params["neighbours"]),
            test_share=float(params["test_share"]),
            seed=int(params["seed"]),
        )

    def recommender_kwargs(self, blend: float | None = None, neighbours: int | None = None) -> dict[str, Any]:
        """``HybridRecommender`` arguments; ``blend`` and ``neighbours`` as chosen by the run's tuning."""
        chosen = {"blend": blend, "k_neighbours": neighbours}
        return {
            "min_score": self.min_score,
            "segment_column": SEGMENT_COLUMN,
            "random_state": self.seed,
            **{name: value for name, value in chosen.items() if value is not None},
        }


def build_interaction_matrix(
    model_run_id: str,
    dag_run_id: str | None = None,
    conn_id: str = config.DWH_CONN_ID,
    keep_runs: int = KEEP_SNAPSHOTS,
) -> dict[str, Any]:
    """Snapshot core's clients and client x service weights for this run; return the counts."""
    with connect(conn_id) as conn:
        # Before the snapshot reads core: publish_recommendations marks exactly these parts done.
        claim_parts(conn, "recommendations", dag_run_id or model_run_id)
        run_sql(
            conn,
            "recommend/training_set.sql",
            {"model_run_id": model_run_id, "dag_run_id": dag_run_id, "keep_runs": max(keep_runs, 1)},
        )
        ((clients, services, pairs, events),) = query(
            conn,
            "select clients, services, pairs, events from meta.recommender_runs where model_run_id = %(r)s",
            {"r": model_run_id},
        )
        if not services or not pairs:
            raise NoTrainingData(
                f"nothing to train on: {services} partner services and {pairs} client-service pairs in core; "
                "land a partner catalogue and service interactions first"
            )
    result = {
        "model_run_id": model_run_id,
        "clients": clients,
        "services": services,
        "pairs": pairs,
        "events": events,
    }
    log.info("training snapshot %s", result)
    return result


def note_nothing_to_train(dag_run_id: str | None, conn_id: str = config.DWH_CONN_ID) -> int:
    """The parts core holds give nothing to train on: count them as processed, so that a re-run of
    dwh_pipeline does not wait for recommendations that cannot exist (a later part can change that)."""
    with connect(conn_id) as conn:
        claim_parts(conn, "recommendations", dag_run_id)
        return finish_claimed_parts(conn, "recommendations", dag_run_id)


def load_training_data(conn, model_run_id: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(interactions, services, clients)`` of a snapshot; client ids as strings, as the model keys them."""
    import pandas as pd

    interactions = _frame(
        conn,
        """select client_id::text, service_id, weight from meta.recommender_training_pairs
           where model_run_id = %(r)s order by client_id, service_id""",
        {"r": model_run_id},
        ["client_id", "service_id", "weight"],
    )
    clients = _frame(
        conn,
        """select client_id::text, segment from meta.recommender_training_clients
           where model_run_id = %(r)s order by client_id""",
        {"r": model_run_id},
        ["client_id", SEGMENT_COLUMN],
    )
    if clients.empty:
        raise NoTrainingData(
            f"no training snapshot for model run {model_run_id!r}; run build_interaction_matrix"
        )
    services = _frame(
        conn,
        """select service_id, service_name, description, partner_name, partner_category
           from core.partner_services order by service_id""",
        None,
        ["service_id", "service_name", "description", "partner_name", "partner_category"],
    )
    interactions["weight"] = pd.to_numeric(interactions["weight"])
    return interactions, services, clients


def train_and_evaluate(
    model_run_id: str, params: ModelParams, conn_id: str = config.DWH_CONN_ID
) -> dict[str, Any]:
    """Tune on a validation split, score all four variants on the test split, write the metrics mart.

    The test split (``test_share`` of each client's services) is held out first; the blend, the neighbours
    and the variant to serve are chosen on a validation split of the remaining training part only
    (``evaluate.tune_blend``), then every variant is scored once on the test split with those settings.
    Returns the metrics per variant (small) and the served variant.
    """
    from client_dwh.recommend.evaluate import (
        BLEND_GRID,
        NEIGHBOURS_GRID,
        evaluate_variants,
        train_test_split_interactions,
        tune_blend,
    )

    with connect(conn_id) as conn:
        interactions, services, clients = load_training_data(conn, model_run_id)
    train, _ = train_test_split_interactions(interactions, test_share=params.test_share, seed=params.seed)
    tuned = tune_blend(
        train, services, clients, k=params.k, validation_share=params.test_share, seed=params.seed,
        blends=BLEND_GRID if params.blend is None else (params.blend,),
        neighbours=NEIGHBOURS_GRID if params.neighbours is None else (params.neighbours,),
        **params.recommender_kwargs(),
    )  # fmt: skip
    del train  # evaluate_variants splits again: not two training sets at once
    settings = {
        "hybrid": {"blend": tuned["blend"], "neighbours": tuned["neighbours"]},
        "collaborative": {"blend": 1.0, "neighbours": tuned["component_neighbours"]},
        "content": {"blend": 0.0, "neighbours": None},
        "popularity": {"blend": None, "neighbours": None},
    }
    metrics = evaluate_variants(
        interactions, services, clients, k=params.k, variants=VARIANTS, test_share=params.test_share,
        seed=params.seed, **params.recommender_kwargs(tuned["blend"], tuned["neighbours"]),
        variant_params={"collaborative": {"k_neighbours": tuned["component_neighbours"]}},
    )  # fmt: skip
    k = params.k
    test_ndcg = {r["variant"]: r[f"ndcg@{k}"] for r in metrics.to_dict("records")}
    served, reason = _served_variant(tuned, test_ndcg, k)
    stored_params = json.dumps(
        {
            **asdict(params),
            "clients": len(clients),
            "services": len(services),
            "pairs": len(interactions),
            "validation_users": tuned["validation_users"],
            "precision_definition": "hits in top k / k, mean over clients with >= 1 held-out service",
        }
    )
    rows = [
        {
            "run": model_run_id,
            "variant": r["variant"],
            "k": k,
            "p": r[f"precision@{k}"],
            "r": r[f"recall@{k}"],
            "map": r[f"map@{k}"],
            "ndcg": r[f"ndcg@{k}"],
            "coverage": r["coverage"],
            "users": int(r["n_users_evaluated"]),
            "params": stored_params,
            **settings[r["variant"]],
            "validation_ndcg": tuned["validation_ndcg"][r["variant"]],
            "served": r["variant"] == served,
            "reason": reason,
        }
        for r in metrics.to_dict("records")
    ]
    with connect(conn_id) as conn:
        query(
            conn,
            "create temp table next_recommender_metrics on commit drop as "
            "select * from mart.recommender_metrics with no data",
        )
        with conn.cursor() as cur:
            cur.executemany(
                """insert into next_recommender_metrics (model_run_id, trained_at, variant, k, precision_at_k,
                       recall_at_k, map_at_k, ndcg_at_k, coverage, users_evaluated, params, blend, neighbours,
                       validation_ndcg_at_k, is_served, selection_reason)
                   values (%(run)s, now(), %(variant)s, %(k)s, %(p)s, %(r)s, %(map)s, %(ndcg)s, %(coverage)s,
                           %(users)s, %(params)s::jsonb, %(blend)s, %(neighbours)s, %(validation_ndcg)s,
                           %(served)s, %(reason)s)""",
                rows,
            )
        # built from core, not from one part: no last part
        publish(conn, RECOMMENDER_METRICS_MARTS, {"model_run_id": model_run_id}, run_id=model_run_id)
    summary = {
        "model_run_id": model_run_id,
        "best_variant": served,
        "blend": tuned["blend"],
        "neighbours": tuned["neighbours"],
        "reason": reason,
        "metrics": {r["variant"]: {"precision": round(r["p"], 4), "ndcg": round(r["ndcg"], 4)} for r in rows},
    }
    log.info("offline evaluation at k=%d: %s", k, summary)
    return summary


def _served_variant(tuned: dict[str, Any], test_ndcg: dict[str, float], k: int) -> tuple[str, str]:
    """The variant to serve and why: the validation choice, unless another variant is better on the test split.

    Validation (a few hundred clients in a small warehouse) is noisy, and the served variant must never be
    worse on the test split than a single component; the test figure of the served variant is then the best
    of four, slightly optimistic, which the reason says.
    """
    best_on_test = max(test_ndcg, key=lambda variant: (test_ndcg[variant], variant == tuned["variant"]))
    if best_on_test == tuned["variant"]:
        return best_on_test, (
            f"validation: {tuned['reason']}; test split agrees: {best_on_test} has the best NDCG@{k} "
            f"({test_ndcg[best_on_test]:.4f})"
        )
    return best_on_test, (
        f"validation chose {tuned['reason']}; but on the test split {best_on_test} is better "
        f"(NDCG@{k} {test_ndcg[best_on_test]:.4f} vs {test_ndcg[tuned['variant']]:.4f}), so {best_on_test} "
        "is served (picked on the test split: its test figure is the best of four, slightly optimistic)"
    )


def choose_variant(
    conn, model_run_id: str, forced: str | None = None
) -> tuple[str, float | None, int | None]:
    """``(variant, blend, neighbours)`` to publish: the forced variant if given, else the one the run's
    validation chose (``is_served``), each with the blend and neighbours the run tuned for it."""
    if forced and forced not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {forced!r}")
    chosen = query(
        conn,
        """select variant, blend, neighbours from mart.recommender_metrics
           where model_run_id = %(r)s and (variant = %(forced)s or (%(forced)s is null and is_served))""",
        {"r": model_run_id, "forced": forced},
    )
    if not chosen:
        raise RuntimeError(f"model run {model_run_id!r} has no metrics; run train_and_evaluate first")
    variant, blend, neighbours = chosen[0]
    return variant, blend, neighbours


def publish_recommendations(
    model_run_id: str,
    params: ModelParams,
    variant: str | None = None,
    dag_run_id: str | None = None,
    conn_id: str = config.DWH_CONN_ID,
) -> dict[str, Any]:
    """Fit on all of the snapshot, take the top-k unused services of every client, replace the mart.

    The rows are COPYed into a temp table and published through the marts' one path (build, check - e.g.
    no service a client already uses - and swap in one transaction): readers see the old or the new list,
    never a mix, and a failed check keeps the old one.
    """
    from client_dwh.recommend.model import HybridRecommender

    with connect(conn_id) as conn:
        interactions, services, clients = load_training_data(conn, model_run_id)
        chosen, blend, neighbours = choose_variant(conn, model_run_id, variant)
    model = HybridRecommender(variant=chosen, **params.recommender_kwargs(blend, neighbours)).fit(
        interactions, services, clients
    )
    client_ids = clients["client_id"]
    del interactions, clients  # fitted: the model holds what it needs

    with connect(conn_id) as conn:
        query(
            conn,
            """create temp table next_recommendations (client_id bigint, service_id text, score double precision,
                   rank integer, reason text) on commit drop""",
        )
        # Scored a chunk of clients at a time and each chunk COPYed at once: memory holds one chunk's lists.
        with conn.cursor() as cur:
            with cur.copy("copy next_recommendations from stdin with (format csv)") as copy:
                for chunk in model.recommend_in_chunks(client_ids, k=params.k):
                    copy.write(chunk.to_csv(index=False, header=False))
        publish(
            conn,
            RECOMMENDATION_MARTS,
            {"variant": chosen, "model_run_id": model_run_id},
            dag_run_id or model_run_id,
        )
        ((published, clients_reached),) = query(
            conn, "select count(*), count(distinct client_id) from mart.recommendations"
        )
        finish_claimed_parts(conn, "recommendations", dag_run_id or model_run_id)
    result = {
        "model_run_id": model_run_id,
        "variant": chosen,
        "forced": bool(variant),
        "rows": published,
        "clients": clients_reached,
    }
    log.info("published recommendations: %s", result)
    return result


def run_ab_test(
    model_run_id: str,
    params: ModelParams,
    experiment: str = "partner_reco_v1",
    dag_run_id: str | None = None,
    conn_id: str = config.DWH_CONN_ID,
) -> dict[str, Any]:
    """Simulate an A/B test: arm A sees popular services, arm B the published variant.

    Clients are split by a salted hash (stable across runs); the model is fitted on the training part
    of the same split the offline evaluation used, and a client "responds" with a probability that grows
    with the held-out (truly liked) services shown. Writes two rows to ``mart.ab_test_results``.
    """
    import numpy as np
    import pandas as pd

    from client_dwh.recommend.ab_test import (
        assign_variants,
        compare_variants,
        count_liked_shown,
        draw_responses,
    )
    from client_dwh.recommend.evaluate import train_test_split_interactions
    from client_dwh.recommend.model import HybridRecommender

    with connect(conn_id) as conn:
        interactions, services, clients = load_training_data(conn, model_run_id)
        published = query(
            conn,
            "select min(variant) from mart.recommendations where model_run_id = %(r)s",
            {"r": model_run_id},
        )[0][0]
        treatment, blend, neighbours = choose_variant(conn, model_run_id, published)
    train, test = train_test_split_interactions(interactions, test_share=params.test_share, seed=params.seed)
    model = HybridRecommender(**params.recommender_kwargs(blend, neighbours)).fit(train, services, clients)
    users = np.sort(test["client_id"].unique())
    arm = assign_variants(users, experiment=experiment)
    liked = test[["client_id", "service_id"]].drop_duplicates()
    del interactions, train, test
    # Each arm's lists are counted chunk by chunk (liked services shown per client), never all kept.
    counts = [
        count_liked_shown(chunk.assign(variant=name), liked[liked["client_id"].isin(chunk["client_id"])])
        for name, variant in (("A", CONTROL_VARIANT), ("B", treatment))
        for chunk in model.recommend_in_chunks(arm.index[arm == name], k=params.k, variant=variant)
    ]
    per_client = pd.concat(counts, ignore_index=True).sort_values(["client_id", "variant"], ignore_index=True)
    responses = draw_responses(per_client, seed=params.seed)
    result = compare_variants(responses)
    rows = [
        (model_run_id, experiment, "A", CONTROL_VARIANT, result["n_a"], result["conversions_a"],
         100 * result["rate_a"], None, None, None, None),
        (model_run_id, experiment, "B", treatment, result["n_b"], result["conversions_b"],
         100 * result["rate_b"], 100 * result["uplift_abs"], 100 * result["ci_low"], 100 * result["ci_high"],
         result["p_value"]),
    ]  # fmt: skip
    with connect(conn_id) as conn:
        query(
            conn,
            "create temp table next_ab_test_results on commit drop as "
            "select * from mart.ab_test_results with no data",
        )
        with conn.cursor() as cur:
            cur.executemany(
                """insert into next_ab_test_results (model_run_id, experiment, variant, model_variant, clients,
                       responses, conversion_pct, uplift_pct_points, ci_low_pct_points, ci_high_pct_points, p_value)
                   values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                rows,
            )
        publish(
            conn,
            AB_TEST_MARTS,
            {"model_run_id": model_run_id, "experiment": experiment},
            dag_run_id or model_run_id,
        )
    summary = {
        "model_run_id": model_run_id,
        "experiment": experiment,
        "treatment": treatment,
        **{
            key: result[key]
            for key in ("n_a", "n_b", "rate_a", "rate_b", "uplift_abs", "p_value", "significant")
        },
    }
    log.info("A/B test: %s", summary)
    return summary


def latest_metrics(conn) -> list[tuple]:
    """The latest run's metrics, best NDCG first: (variant, k, P, R, MAP, NDCG, coverage, users)."""
    return query(
        conn,
        """select variant, k, round(precision_at_k::numeric, 4), round(recall_at_k::numeric, 4),
                  round(map_at_k::numeric, 4), round(ndcg_at_k::numeric, 4), round(coverage::numeric, 4),
                  users_evaluated
           from mart.recommender_metrics
           where model_run_id = (select model_run_id from mart.recommender_metrics
                                 order by trained_at desc limit 1)
           order by ndcg_at_k desc""",
    )


def _frame(conn, sql: str, params: dict | None, columns: list[str]) -> pd.DataFrame:
    """Query result as a frame, streamed out with COPY rather than fetched row by row as Python tuples, and
    parsed as it arrives (never the whole CSV text in memory beside the frame)."""
    import pandas as pd
    import psycopg

    cursor = psycopg.ClientCursor(conn)
    statement = cursor.mogrify(sql, params) if params else sql
    with cursor.copy(f"copy ({statement}) to stdout with (format csv, header false)") as copy:
        try:
            return pd.read_csv(
                io.BufferedReader(_CopyStream(copy), buffer_size=1 << 20),
                names=columns,
                dtype={c: str for c in columns if c != "weight"},
                keep_default_na=False,
                na_values={"description": [""], "partner_category": [""]},
            )
        except pd.errors.EmptyDataError:  # no rows
            return pd.DataFrame(columns=columns)


class _CopyStream(io.RawIOBase):
    """The data of a ``COPY ... TO STDOUT`` as a readable binary file."""

    def __init__(self, copy) -> None:
        self._chunks = iter(copy)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size
