"""Fuel-station client portraits: catalogue, synthetic clients, nearest-prototype mapping and its quality.

Kept free of Airflow and database imports so the DAG tasks, the CSV upload and the unit tests share one core.
"""
