"""The dashboards app through HTTP, against the real test warehouse and Airflow's SimpleAuthManager.

The app is mounted at /client-analytics next to the auth manager's /auth routes, as the API server does,
so tokens come from the real ``POST /auth/token``.
"""

from __future__ import annotations

import csv
import io

import pytest
from conftest import AS_OF, IVANOV, PASSWORDS, configure_users

PREFIX = "/client-analytics"
PAGES = ["/", "/loans", "/segments", "/rfm", "/portraits", "/recommendations"]
MARTS = [
    "overdue_by_month", "portfolio_at_risk", "overdue_notifications", "client_segments", "segment_top_products",
    "rfm", "rfm_segments", "client_portraits", "portrait_distribution", "recommendations", "recommender_metrics",
    "ab_test_results",
]  # fmt: skip


@pytest.fixture(scope="module")
def client(marts):
    configure_users()
    from airflow.api_fastapi.app import init_auth_manager, purge_cached_app
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from client_dwh.dashboards.app import create_app

    purge_cached_app()
    root = FastAPI()
    init_auth_manager(root)
    root.mount(PREFIX, create_app())
    with TestClient(root) as test_client:
        yield test_client
    purge_cached_app()


def _token(client, user: str) -> str:
    response = client.post("/auth/token", json={"username": user, "password": PASSWORDS[user]})
    assert response.status_code in (200, 201), response.text
    return response.json()["access_token"]


@pytest.fixture(scope="module")
def viewer(client):
    return {"Authorization": f"Bearer {_token(client, 'viewer')}"}


@pytest.fixture(scope="module")
def admin(client):
    return {"Authorization": f"Bearer {_token(client, 'admin')}"}


def get(client, path: str, headers: dict, **params):
    return client.get(PREFIX + path, headers=headers, params=params)


@pytest.mark.parametrize(
    "path",
    [*PAGES, *(f"/api/{m}" for m in MARTS), "/api/overdue_notifications.csv", "/api/clients/1/recommendations",
     "/api/partner-services", "/api/refresh", "/api/openapi.json", "/static/plotly.min.js"],
)  # fmt: skip
def test_anonymous_and_forged_tokens_get_no_data(client, path):
    anonymous = client.get(PREFIX + path)
    assert anonymous.status_code == 401
    assert IVANOV[0] not in anonymous.text and "Иванов" not in anonymous.text
    forged = client.get(PREFIX + path, headers={"Authorization": "Bearer not-a-jwt"})
    assert forged.status_code in (401, 403)
    assert "Иванов" not in forged.text


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_charts_and_freshness_for_a_logged_in_user(client, viewer, path):
    response = get(client, path, viewer)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    html = response.text
    assert "Актуальность данных" in html  # Russian unless ?lang=en
    if path != "/":
        assert f'src="{PREFIX}/static/plotly.min.js"' in html  # links follow the mount point
        assert 'data-figure="fig-' in html
        assert "⬇ CSV" in html


def test_the_ui_cookie_is_accepted_like_a_bearer_token(client):
    client.cookies.set("_token", _token(client, "viewer"))
    try:
        assert client.get(PREFIX + "/api/portfolio_at_risk").status_code == 200
    finally:
        client.cookies.clear()


def test_plotly_js_is_served_from_the_installed_package(client, viewer):
    response = get(client, "/static/plotly.min.js", viewer)
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert len(response.content) > 1_000_000


def test_loans_page_shows_last_refresh_and_masked_notifications(client, viewer):
    html = get(client, "/loans", viewer).text
    assert "scheduled__2026-03-15" in html and "daily/4" in html
    assert "Иванов И. И." in html and "+7******4567" in html
    assert IVANOV[0] not in html and IVANOV[1] not in html
    assert "L-OLD" not in html  # only the latest day's list
    assert "строки 1–25 из 25" in html


def test_loans_page_accepts_the_forms_blank_options_and_pages(client, viewer):
    response = get(client, "/loans", viewer, amount_band="", date_from="", date_to="", page=2, page_size=10)
    assert response.status_code == 200
    assert "строки 11–20 из 25" in response.text and "page_size=10" in response.text


def test_admin_sees_personal_data_in_full(client, admin, viewer):
    for headers, name, phone in ((admin, IVANOV[0], IVANOV[1]), (viewer, "Иванов И. И.", "+7******4567")):
        body = get(client, "/api/overdue_notifications", headers, client_id=1).json()
        assert body["personal_data"] == ("full" if headers is admin else "masked")
        assert (body["items"][0]["client_name"], body["items"][0]["phone"]) == (name, phone)
        card = get(client, "/segments", headers, client_id=1).text
        assert name in card and "Кредитная карта" in card
        exported = get(client, "/api/overdue_notifications.csv", headers, client_id=1).text
        assert name in exported and phone in exported


def test_mart_api_pages_with_total(client, viewer):
    first = get(client, "/api/overdue_notifications", viewer, limit=10, offset=0).json()
    last = get(client, "/api/overdue_notifications", viewer, limit=10, offset=20).json()
    assert first["total"] == last["total"] == 25
    assert len(first["items"]) == 10 and len(last["items"]) == 5
    assert {r["as_of_date"] for r in first["items"] + last["items"]} == {AS_OF}
    assert first["items"][0]["loan_id"] == "L-001"  # priority 1 first
    assert first["refreshed"]["dag_run_id"] == "scheduled__2026-03-15"
    ids = [
        r["loan_id"] for r in get(client, "/api/overdue_notifications", viewer, limit=1000).json()["items"]
    ]
    assert len(ids) == len(set(ids)) == 25


def test_mart_api_filters(client, viewer):
    band = get(
        client, "/api/overdue_by_month", viewer, amount_band="до 50 000", date_from="2026-02-01"
    ).json()
    assert band["total"] == 2 and {r["amount_band"] for r in band["items"]} == {"до 50 000"}
    assert get(client, "/api/overdue_notifications", viewer, as_of_date="2026-03-14").json()["total"] == 1
    assert get(client, "/api/overdue_notifications", viewer, priority=1).json()["total"] == 1
    assert get(client, "/api/client_segments", viewer, segment="1 продукт").json()["total"] == 2
    assert get(client, "/api/rfm", viewer, source="online_retail", r_score=1).json()["total"] == 2
    assert get(client, "/api/rfm_segments", viewer, segment="Champions").json()["items"][0]["customers"] == 5
    assert get(client, "/api/client_portraits", viewer, min_confidence=0.9).json()["total"] == 3
    assert get(client, "/api/recommendations", viewer, client_id=2).json()["total"] == 3
    metrics = get(client, "/api/recommender_metrics", viewer, variant="B", sort="ndcg_at_k", direction="desc")
    assert [r["model_run_id"] for r in metrics.json()["items"]] == ["run-2", "run-1"]
    assert get(client, "/api/ab_test_results", viewer, experiment="partner-offers").json()["total"] == 2
    for mart in MARTS:
        assert get(client, f"/api/{mart}", viewer).json()["total"] > 0, mart


def test_client_recommendations_and_partner_services(client, viewer):
    found = get(client, "/api/clients/1/recommendations", viewer).json()
    assert [r["rank"] for r in found["items"]] == [1, 2, 3]
    assert get(client, "/api/clients/999/recommendations", viewer).status_code == 404
    services = get(client, "/api/partner-services", viewer, limit=2).json()
    assert services["total"] == 4 and len(services["items"]) == 2
    assert "Рекомендации клиенту" in get(client, "/recommendations", viewer, client_id=1).text


@pytest.mark.parametrize(
    "path, params",
    [
        ("/api/overdue_by_month", {"amount_band": "1; drop table mart.rfm"}),
        ("/api/overdue_by_month", {"date_from": "yesterday"}),
        ("/api/overdue_by_month", {"date_from": "2026-03-01", "date_to": "2026-01-01"}),
        ("/api/overdue_notifications", {"limit": 1001}),
        ("/api/overdue_notifications", {"limit": 0}),
        ("/api/overdue_notifications", {"offset": -1}),
        ("/api/overdue_notifications", {"sort": "client_name desc; drop table mart.rfm"}),
        ("/api/overdue_notifications", {"direction": "sideways"}),
        ("/api/client_segments", {"segment": "VIP"}),
        ("/api/rfm", {"r_score": 6}),
        ("/api/client_portraits", {"min_confidence": 1.5}),
        ("/api/clients/0/recommendations", {}),
        ("/loans", {"page_size": 5000}),
        ("/loans", {"amount_band": "все"}),
        ("/segments", {"client_id": "abc"}),
    ],
)
def test_invalid_parameters_are_refused_with_422(client, viewer, path, params):
    assert get(client, path, viewer, **params).status_code == 422


def test_csv_download_streams_every_selected_row(client, viewer, monkeypatch):
    from client_dwh.dashboards import queries

    monkeypatch.setattr(queries, "CSV_CHUNK_ROWS", 4)  # several chunks from the server-side cursor
    response = get(client, "/api/overdue_notifications.csv", viewer, sort="days_past_due", direction="desc")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="overdue_notifications.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 25
    assert rows[0]["loan_id"] == "L-001" and rows[0]["client_name"] == "Иванов И. И."
    assert all(IVANOV[1] not in r["phone"] for r in rows)
    segments = list(csv.DictReader(io.StringIO(get(client, "/api/client_segments.csv", viewer).text)))
    assert segments[1]["products"] == "Вклад; Ипотека"


def test_a_mart_not_created_yet_answers_404_with_a_reason(client, viewer, marts):
    marts.execute("alter table mart.recommendations rename to recommendations_pending")
    try:
        for path in ("/api/recommendations", "/api/recommendations.csv", "/api/partner-services",
                     "/api/clients/1/recommendations"):  # fmt: skip
            response = get(client, path, viewer)
            assert response.status_code == 404, path
            assert "mart.recommendations does not exist yet" in response.json()["detail"]
        page = get(client, "/recommendations", viewer, client_id=1)
        assert page.status_code == 200 and "Таблицы mart.recommendations в хранилище ещё нет" in page.text
    finally:
        marts.execute("alter table mart.recommendations_pending rename to recommendations")


def test_openapi_schema_is_behind_login_and_lists_every_mart(client, viewer):
    paths = get(client, "/api/openapi.json", viewer).json()["paths"]
    assert {f"/api/{m}" for m in MARTS} <= set(paths)
    assert "/api/partner-services" in paths


def test_plugin_registers_the_app_and_the_nav_entry():
    import importlib.util
    from pathlib import Path

    plugin_file = Path(__file__).resolve().parents[2] / "plugins" / "client_analytics_plugin.py"
    spec = importlib.util.spec_from_file_location("client_analytics_plugin", plugin_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    plugin = module.ClientAnalyticsPlugin
    assert plugin.fastapi_apps[0]["url_prefix"] == PREFIX
    (view,) = plugin.external_views
    assert view["href"] == f"{PREFIX}/" and view["url_route"] == "client-analytics"


def test_amount_bands_come_in_numeric_order_in_tables_and_csv(client, viewer):
    numeric_order = ["до 50 000", "50 000 – 100 000", "100 000 – 500 000", "500 000 и выше"]
    items = get(client, "/api/overdue_by_month", viewer, limit=1000).json()["items"]
    months = sorted({r["month"] for r in items})
    for month in months:
        assert [r["amount_band"] for r in items if r["month"] == month] == numeric_order
    by_band = get(client, "/api/overdue_by_month", viewer, sort="amount_band", direction="desc").json()[
        "items"
    ]
    assert [r["amount_band"] for r in by_band[:: len(months)]] == numeric_order[::-1]
    rows = list(csv.DictReader(io.StringIO(get(client, "/api/overdue_by_month.csv", viewer).text)))
    assert [r["amount_band"] for r in rows[:4]] == numeric_order


def _labels(lang: str) -> set[str]:
    """The dictionary's labels in one language that differ from the other's (long enough to be words)."""
    from client_dwh.dashboards.i18n import COLUMNS, LANGUAGES, TEXT

    index = LANGUAGES.index(lang)
    labels = set()
    for pair in [*TEXT.values(), *COLUMNS.values()]:
        if pair[0] != pair[1] and "{" not in pair[index] and "<" not in pair[index] and len(pair[index]) >= 6:
            labels.add(pair[index])
    return labels


@pytest.mark.parametrize("path", PAGES)
def test_each_page_is_in_one_language_russian_by_default_english_on_request(client, viewer, path):
    import re

    def visible(html: str) -> str:
        """The page's own words: text outside data cells and options, plus chart and axis titles."""
        import json

        titles = []
        for body in re.findall(r'<script type="application/json" id="[^"]+">(.*?)</script>', html, re.S):
            layout = json.loads(body)["layout"]
            titles += [layout.get(key, {}).get("title", {}).get("text", "") for key in ("xaxis", "yaxis")]
            titles.append(layout["title"]["text"])
        html = re.sub(r"<(script|style|td|option|dd)\b.*?</\1>", " ", html, flags=re.S)
        return re.sub(r"<[^>]+>", " ", html) + " ".join(titles)

    def found(labels: set[str], text: str) -> list[str]:  # as words, not inside paths or identifiers
        return [label for label in labels if re.search(rf"(?<![/_.\w]){re.escape(label)}(?![\w_])", text)]

    client.cookies.clear()
    russian = visible(get(client, path, viewer, client_id=1).text)
    english_response = get(client, path, viewer, client_id=1, lang="en")
    client.cookies.clear()
    english = visible(english_response.text)
    assert "Клиентская аналитика" in russian and "Client analytics" in english
    assert found(_labels("en"), russian) == []
    assert found(_labels("ru"), english) == []
    # The switch link keeps the page's parameters and the choice is remembered in a cookie.
    assert english_response.cookies.get("client_analytics_lang") == "en"
    assert "lang=ru" in english_response.text and "client_id=1" in english_response.text
    client.cookies.set("client_analytics_lang", "en")
    try:
        assert "Client analytics" in get(client, path, viewer).text
    finally:
        client.cookies.clear()


def test_csv_and_api_keep_column_identifiers_in_english_mode(client, viewer):
    exported = get(client, "/api/recommender_metrics.csv", viewer, lang="en").text
    assert exported.splitlines()[0].startswith("model_run_id,trained_at,variant,k,precision_at_k")
    items = get(client, "/api/recommender_metrics", viewer, lang="ru").json()["items"]
    assert {"ndcg_at_k", "is_served", "selection_reason"} <= set(items[0])


def test_recommendations_page_draws_variants_per_metric_and_the_trend_over_runs(client, viewer):
    import json
    import re

    html = get(client, "/recommendations", viewer).text
    figures = {
        figure_id: json.loads(body)
        for figure_id, body in re.findall(
            r'<script type="application/json" id="([^"]+)">(.*?)</script>', html
        )
    }
    latest = figures["fig-metrics"]
    assert latest["layout"]["barmode"] == "group"
    assert {trace["name"].rstrip(" ★") for trace in latest["data"]} == {"A", "B"}
    assert all(trace["x"] == ["Precision@k", "Recall@k", "MAP@k", "NDCG@k"] for trace in latest["data"])
    assert "run-2" in latest["layout"]["title"]["text"]
    trend = figures["fig-metrics-trend"]
    assert {trace["name"] for trace in trend["data"]} == {"A", "B"}
    assert all(len(trace["x"]) == 2 for trace in trend["data"])  # two training runs


def test_rfm_page_says_whether_duplicate_lines_count_and_how_many(client, viewer):
    page = get(client, "/rfm", viewer, lang="en").text
    assert "Exact-duplicate export lines" in page
    assert "as of 2026-03-15: 12." in page
    assert "Counted, as the RFM specification says" in page
    assert "Lines counted for RFM: 340." in page
    assert "rfm_exclude_duplicate_lines" in page
