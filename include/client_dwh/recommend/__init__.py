"""Partner-service recommendations: catalogue and CRM ingestion, synthetic data, the hybrid model,
offline evaluation and A/B analysis.

Kept free of Airflow imports so the same code runs in DAG tasks, notebooks and unit tests.
"""
