"""Every Airflow Asset of the project, defined once: DAGs that produce or consume data import them here."""

from __future__ import annotations

from airflow.sdk import Asset

# Published by dwh_pipeline's publish_marts; recommend_services runs after each refresh.
WAREHOUSE_MARTS = Asset(name="warehouse_marts", uri="client-dwh://warehouse/mart", group="warehouse")

# Published by recommend_services: mart.recommendations, mart.recommender_metrics, mart.ab_test_results.
PARTNER_RECOMMENDATIONS = Asset(
    name="partner_recommendations", uri="client-dwh://warehouse/mart/recommendations", group="warehouse"
)
