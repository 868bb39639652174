"""
### recommend_services — partner-service recommendations, evaluated offline, published for the API

Runs after every marts refresh (the `warehouse_marts` Asset that `dwh_pipeline` publishes) or on a
manual trigger with the Params below.

1. **build_interaction_matrix** — snapshots current clients (segment = age band / income band) and the
   summed view/purchase weights per client and partner service from `core` into
   `meta.recommender_training_*`, keyed by the run's model_run_id; later tasks read only that snapshot.
2. **train_and_evaluate** — per-client hold-out of `test_share` of each client's services (the test
   split); the rest is split again into a fit part and a validation part, on which the blend and the
   neighbours are tuned and the variant to serve is chosen (the hybrid only when it beats the best single
   component by more than a standard error). Then the hybrid (user-based collaborative filtering blended
   with TF-IDF content similarity), collaborative, content and popularity variants are scored at k on
   the test split; one row per variant goes to `mart.recommender_metrics` with its blend, neighbours,
   validation NDCG, whether it is served and why (precision@k = hits in the top k / k).
3. **publish_recommendations** — the variant chosen on validation (or the **Variant** Param) is fitted
   on everything and every client's top-k services they do not use yet replace `mart.recommendations`
   in one transaction (dashboards and `/api/clients/{id}/recommendations` read it).
4. **run_ab_test** — a stable hash split of clients: arm A sees popular services, arm B the published
   variant; simulated responses and a two-proportion z-test go to `mart.ab_test_results`.

Re-running the DAG or any task replaces that run's rows; nothing accumulates but the metrics history.
"""

from __future__ import annotations

from airflow.sdk import DAG, Param, chain, task

from client_dwh import config
from client_dwh.assets import PARTNER_RECOMMENDATIONS, WAREHOUSE_MARTS
from client_dwh.landing import BATCH_NAME
from client_dwh.recommend.variants import VARIANTS

with DAG(
    dag_id="recommend_services",
    dag_display_name="Recommend partner services",
    doc_md=__doc__,
    schedule=[WAREHOUSE_MARTS],
    **config.dag_defaults(),
    catchup=False,
    max_active_runs=1,  # runs replace the same mart; two at once would race
    tags=["client-analytics", "recommendations", "ml"],
    params={
        "k": Param(10, type="integer", minimum=1, maximum=50, title="Recommendations per client (k)"),
        "blend": Param(
            None,
            type=["null", "number"],
            minimum=0,
            maximum=1,
            title="Blend",
            description=(
                "Weight of collaborative filtering in the hybrid; the rest goes to content similarity. "
                "Empty: tuned on a validation split (never the test split)."
            ),
        ),
        "min_score": Param(
            0.0,
            type="number",
            minimum=0,
            title="Minimum score",
            description="Recommendations below are dropped.",
        ),
        "neighbours": Param(
            None,
            type=["null", "integer"],
            minimum=1,
            maximum=500,
            title="Neighbours (collaborative)",
            description="Empty: tuned on the validation split together with the blend.",
        ),
        "variant": Param(
            None,
            type=["null", "string"],
            enum=[None, *VARIANTS],
            title="Variant to publish",
            description="Empty: the variant chosen on the validation split (see the metrics mart's selection_reason).",
        ),
        "test_share": Param(
            0.2,
            type="number",
            minimum=0.05,
            maximum=0.5,
            title="Hold-out share",
            description="Share of each client's services held out for evaluation.",
        ),
        "seed": Param(0, type="integer", minimum=0, title="Random seed (split, neighbour pool, A/B)"),
        "experiment": Param(
            "partner_reco_v1",
            type="string",
            pattern=BATCH_NAME.pattern,
            title="A/B experiment name",
            description="Salt of the client split; a new name reshuffles the arms.",
        ),
    },
) as dag:

    @task(task_display_name="Ensure warehouse schema")
    def ensure_warehouse_schema() -> None:
        """Create or complete the warehouse's schemas and tables (idempotent DDL from include/sql/ddl)."""
        from client_dwh.warehouse.ddl import ensure_schema

        ensure_schema()

    @task(task_display_name="Build interaction matrix")
    def build_interaction_matrix(run_id=None) -> dict:
        """Snapshot core into meta.recommender_training_*; XCom: model_run_id and counts."""
        from airflow.sdk.exceptions import AirflowSkipException

        from client_dwh.recommend import warehouse

        try:
            return warehouse.build_interaction_matrix(model_run_id=run_id, dag_run_id=run_id)
        except warehouse.NoTrainingData as nothing:
            warehouse.note_nothing_to_train(run_id)
            raise AirflowSkipException(str(nothing)) from nothing

    @task(task_display_name="Train and evaluate variants")
    def train_and_evaluate(snapshot: dict, params=None) -> dict:
        """Offline metrics of all four variants into mart.recommender_metrics (precision@k = hits / k)."""
        from client_dwh.recommend import warehouse

        return warehouse.train_and_evaluate(
            snapshot["model_run_id"], warehouse.ModelParams.from_params(params)
        )

    @task(task_display_name="Publish recommendations", outlets=[PARTNER_RECOMMENDATIONS])
    def publish_recommendations(evaluation: dict, params=None, run_id=None) -> dict:
        """Best variant by NDCG@k (or the forced one) replaces mart.recommendations in one transaction."""
        from client_dwh.recommend import warehouse

        return warehouse.publish_recommendations(
            evaluation["model_run_id"],
            warehouse.ModelParams.from_params(params),
            variant=params["variant"],
            dag_run_id=run_id,
        )

    @task(task_display_name="Run A/B test")
    def run_ab_test(published: dict, params=None, run_id=None) -> dict:
        """Popularity (A) against the published variant (B) on simulated responses."""
        from client_dwh.recommend import warehouse

        return warehouse.run_ab_test(
            published["model_run_id"],
            warehouse.ModelParams.from_params(params),
            experiment=params["experiment"],
            dag_run_id=run_id,
        )

    snapshot = build_interaction_matrix()
    chain(ensure_warehouse_schema(), snapshot)
    run_ab_test(publish_recommendations(train_and_evaluate(snapshot)))
