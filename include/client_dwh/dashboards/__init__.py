"""Client-analytics dashboards and JSON API: a FastAPI app that the Airflow plugin mounts in the UI.

``app.create_app()`` builds it; ``queries`` holds the SQL (bind parameters only), ``pages`` the HTML.
"""
