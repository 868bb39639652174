"""Integration tests run against a real PostgreSQL warehouse and a migrated Airflow metadata DB, set up
here, before the test modules of this folder import anything (see ``tests/_warehouse.py``)."""

import _warehouse

_warehouse.set_up()
