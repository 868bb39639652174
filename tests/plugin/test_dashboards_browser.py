"""End to end: `airflow api-server` with the plugin, every page in headless Chromium, behind Airflow login.

Chromium is Debian's (/usr/bin/chromium, installed here with apt-get when missing); the test skips with
the reason only when it cannot be installed. No browser download, no network: plotly.js comes from the app.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from _waiting import wait_for
from conftest import PASSWORDS, configure_users

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
SCREENSHOT = Path("/tmp/loans_page.png")
# page -> number of Plotly charts it draws
PAGES = {
    "/client-analytics/": 0,
    "/client-analytics/loans": 5,  # overdue share, PAR, roll rates, vintages 30+ and 90+
    "/client-analytics/segments?client_id=1": 2,
    "/client-analytics/rfm": 2,
    "/client-analytics/portraits": 2,
    "/client-analytics/recommendations?client_id=1": 2,  # variants per metric, and NDCG over two runs
    "/client-analytics/recommendations?client_id=1&lang=en": 2,
}


def _ensure_chromium() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    install = ["apt-get", "install", "-y", "-q", "chromium"]
    if shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
            subprocess.run(install, env=env, capture_output=True)
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing and `apt-get install -y chromium` could not install it")
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    """One headless Debian Chromium for the module (each test opens its own context)."""
    executable = _ensure_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def api_server(marts, tmp_path_factory):
    """`airflow api-server` on a free port, with this project's plugins folder and the test warehouse."""
    configure_users()
    port = _free_port()
    log = tmp_path_factory.mktemp("api-server") / "api-server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "airflow",
                "api-server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "-w",
                "1",
            ],
            env=os.environ.copy(),  # AIRFLOW_HOME, AIRFLOW__CORE__PLUGINS_FOLDER, AIRFLOW_CONN_DWH, PYTHONPATH
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:

        def healthy() -> bool:
            if process.poll() is not None:
                pytest.fail(f"api-server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                return httpx.get(f"{base}/api/v2/monitor/health", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(healthy, "the api-server to start", 90, every=0.5, details=lambda: log.read_text()[-3000:])
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _token(base: str, user: str) -> str:
    response = httpx.post(
        f"{base}/auth/token", json={"username": user, "password": PASSWORDS[user]}, timeout=10
    )
    assert response.status_code in (200, 201), response.text
    return response.json()["access_token"]


def test_the_plugin_is_listed_with_its_nav_entry(api_server):
    assert httpx.get(f"{api_server}/api/v2/plugins", timeout=10).status_code == 401
    token = _token(api_server, "admin")
    plugins = httpx.get(
        f"{api_server}/api/v2/plugins", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert plugins.status_code == 200
    (plugin,) = [p for p in plugins.json()["plugins"] if p["name"] == "client_analytics"]
    (view,) = plugin["external_views"]
    assert (view["href"], view["url_route"], view["destination"]) == (
        "/client-analytics/",
        "client-analytics",
        "nav",
    )
    assert plugin["fastapi_apps"][0]["url_prefix"] == "/client-analytics"


def test_anonymous_visitors_get_401_without_data(api_server, browser):
    for path in [*PAGES, "/client-analytics/api/overdue_notifications", "/client-analytics/api/rfm.csv"]:
        response = httpx.get(api_server + path, timeout=10)
        assert response.status_code == 401, path
        assert "Иванов" not in response.text
    context = browser.new_context()
    try:
        page = context.new_page()
        response = page.goto(f"{api_server}/client-analytics/loans")
        assert response.status == 401
        assert "Иванов" not in page.content()
    finally:
        context.close()


def _watch_errors(page) -> list[str]:
    """Uncaught exceptions, console errors and failed requests of a page."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.on("requestfailed", lambda request: errors.append(f"request failed: {request.url}"))
    return errors


def test_every_page_draws_its_charts_without_javascript_errors(api_server, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_cookies([{"name": "_token", "value": _token(api_server, "viewer"), "url": api_server}])
    try:
        for path, n_charts in PAGES.items():
            page = context.new_page()
            errors = _watch_errors(page)
            response = page.goto(api_server + path, wait_until="load")
            assert response.status == 200, path
            if n_charts:
                page.wait_for_function(
                    "n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n", arg=n_charts
                )
                assert page.locator(".js-plotly-plot").count() == n_charts, path
            assert ("Data freshness" if "lang=en" in path else "Актуальность данных") in page.content()
            if path == "/client-analytics/loans":
                page.wait_for_timeout(300)  # let Plotly finish drawing before the screenshot
                page.screenshot(path=str(SCREENSHOT), full_page=True)
                assert page.get_by_text("Иванов И. И.").count() == 1  # masked for the viewer
                assert page.get_by_text("+7******4567").count() == 1
            assert errors == [], f"{path}: {errors}"
            page.close()
    finally:
        context.close()
    assert SCREENSHOT.stat().st_size > 20_000


def test_the_airflow_nav_bar_leads_to_the_dashboards(api_server, browser):
    context = browser.new_context()
    context.add_cookies([{"name": "_token", "value": _token(api_server, "admin"), "url": api_server}])
    try:
        page = context.new_page()
        page.goto(f"{api_server}/")
        # a top-level entry of the UI's nav bar, next to Dags and Assets; following it opens the dashboards
        entry = page.get_by_role("link", name="Client analytics")
        entry.wait_for(timeout=30_000)
        assert entry.get_attribute("href") == "/plugin/client-analytics"
        entry.click()
        page.wait_for_url("**/plugin/client-analytics")
        frame = page.frame_locator("iframe[src*='/client-analytics/']")
        frame.get_by_role("heading", name="Клиентская аналитика").wait_for(timeout=30_000)
        # the nav entry's iframe carries the UI's cookie, and an admin sees personal data in full
        assert "персональные данные полностью (администратор)" in frame.locator("header").inner_text()
    finally:
        context.close()
