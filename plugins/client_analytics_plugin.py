"""Client-analytics dashboards and JSON API in the Airflow UI (nav entry "Client analytics").

Thin on purpose: the app and its logic live in ``include/client_dwh/dashboards``. The FastAPI app is
served by the API server at /client-analytics; the external view shows it inside the UI at
/plugin/client-analytics. Everything behind it requires an Airflow login.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from client_dwh.dashboards.app import create_app

URL_PREFIX = "/client-analytics"


class ClientAnalyticsPlugin(AirflowPlugin):
    name = "client_analytics"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Client analytics"}]
    external_views = [
        {
            "name": "Client analytics",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "url_route": "client-analytics",  # no category: a top-level entry in the nav bar
        }
    ]
