"""The FastAPI app behind /client-analytics: HTML pages, a JSON + CSV API per mart, all behind Airflow login.

Authentication is Airflow's own: the app-wide ``requires_authenticated()`` dependency accepts the UI's
``_token`` cookie or a Bearer token from ``POST /auth/token`` and answers 401 otherwise. Endpoints are
plain ``def`` so their blocking warehouse calls run in the threadpool.
"""

# No ``from __future__ import annotations``: the route factories below annotate with per-mart enums
# created at run time, which FastAPI must see as objects, not strings.
import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import plotly
import psycopg
from airflow.api_fastapi.core_api.security import GetUserDep, requires_authenticated
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, StreamingResponse

from client_dwh.dashboards import i18n, pages, queries
from client_dwh.dashboards.params import (
    AmountBand,
    ClientId,
    ClientSegment,
    Direction,
    DpdBucket,
    Identifier,
    Paging,
    RollFromBucket,
    RunId,
    Score,
    page_paging,
    paging,
)
from client_dwh.dashboards.privacy import is_admin, mask_rows
from client_dwh.dashboards.queries import MARTS, MartMissing, Selection, read_connection

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"

# Sort columns per mart: the enum's values are the mart's own column names, nothing else.
SORT_COLUMNS = {name: StrEnum(f"{name}_sort_column", {c: c for c in m.columns}) for name, m in MARTS.items()}

Blank = Literal[""]  # an HTML form's "any" option


def current_viewer(user: GetUserDep, request: Request) -> pages.Viewer:
    """Who is looking, and in which language (``?lang=ru|en``, else the remembered cookie, else Russian)."""
    lang = i18n.language(request.query_params.get("lang"), request.cookies.get(i18n.COOKIE))
    other = i18n.Labels(lang).other
    switch = request.url.include_query_params(lang=other)
    return pages.Viewer(
        name=user.get_name(),
        admin=is_admin(user),
        lang=lang,
        switch_language_url=f"{switch.path}?{switch.query}",
    )


ViewerDep = Annotated[pages.Viewer, Depends(current_viewer)]
PagingDep = Annotated[Paging, Depends(paging)]


def _blank_to_none(value: Any) -> Any:
    return None if value == "" else value


def _check_range(low: Any, high: Any, what: str) -> None:
    if low is not None and high is not None and low > high:
        raise HTTPException(422, f"{what}: the lower bound is above the upper bound")


# --- filters per mart (names match the filter names in queries.MARTS) ------------------------------


def overdue_by_month_filters(
    amount_band: AmountBand | None = None, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> dict:
    _check_range(date_from, date_to, "date_from/date_to")
    return {"amount_band": amount_band, "date_from": date_from, "date_to": date_to}


def portfolio_at_risk_filters(date_from: dt.date | None = None, date_to: dt.date | None = None) -> dict:
    _check_range(date_from, date_to, "date_from/date_to")
    return {"date_from": date_from, "date_to": date_to}


def roll_rates_filters(
    from_bucket: RollFromBucket | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> dict:
    _check_range(date_from, date_to, "date_from/date_to")
    return {"from_bucket": from_bucket, "date_from": date_from, "date_to": date_to}


def vintage_curves_filters(date_from: dt.date | None = None, date_to: dt.date | None = None) -> dict:
    _check_range(date_from, date_to, "date_from/date_to")
    return {"date_from": date_from, "date_to": date_to}


def overdue_notifications_filters(
    as_of_date: Annotated[dt.date | None, Query(description="Default: the latest day in the mart")] = None,
    priority: Annotated[int | None, Query(ge=1, le=3)] = None,
    dpd_bucket: DpdBucket | None = None,
    client_id: ClientId | None = None,
) -> dict:
    return {"as_of_date": as_of_date, "priority": priority, "dpd_bucket": dpd_bucket, "client_id": client_id}


def client_segments_filters(
    segment: ClientSegment | None = None,
    client_id: ClientId | None = None,
    suggested_product: Identifier | None = None,
) -> dict:
    return {"segment": segment, "client_id": client_id, "suggested_product": suggested_product}


def segment_top_products_filters(segment: ClientSegment | None = None) -> dict:
    return {"segment": segment}


def rfm_filters(
    source: Identifier | None = None,
    segment: Identifier | None = None,
    r_score: Score | None = None,
    f_score: Score | None = None,
    country: Identifier | None = None,
) -> dict:
    return {"source": source, "segment": segment, "r_score": r_score, "f_score": f_score, "country": country}


def rfm_segments_filters(source: Identifier | None = None, segment: Identifier | None = None) -> dict:
    return {"source": source, "segment": segment}


def client_portraits_filters(
    portrait_id: Identifier | None = None,
    client_id: ClientId | None = None,
    min_confidence: Annotated[float | None, Query(ge=0, le=1)] = None,
    max_confidence: Annotated[float | None, Query(ge=0, le=1)] = None,
) -> dict:
    _check_range(min_confidence, max_confidence, "min_confidence/max_confidence")
    return {
        "portrait_id": portrait_id,
        "client_id": client_id,
        "min_confidence": min_confidence,
        "max_confidence": max_confidence,
    }


def portrait_distribution_filters(portrait_id: Identifier | None = None) -> dict:
    return {"portrait_id": portrait_id}


def recommendations_filters(
    client_id: ClientId | None = None, variant: Identifier | None = None, service_id: Identifier | None = None
) -> dict:
    return {"client_id": client_id, "variant": variant, "service_id": service_id}


def recommender_metrics_filters(variant: Identifier | None = None, model_run_id: RunId | None = None) -> dict:
    return {"variant": variant, "model_run_id": model_run_id}


def ab_test_results_filters(model_run_id: RunId | None = None, experiment: Identifier | None = None) -> dict:
    return {"model_run_id": model_run_id, "experiment": experiment}


FILTERS = {
    "overdue_by_month": overdue_by_month_filters,
    "portfolio_at_risk": portfolio_at_risk_filters,
    "overdue_notifications": overdue_notifications_filters,
    "roll_rates": roll_rates_filters,
    "vintage_curves": vintage_curves_filters,
    "client_segments": client_segments_filters,
    "segment_top_products": segment_top_products_filters,
    "rfm": rfm_filters,
    "rfm_segments": rfm_segments_filters,
    "client_portraits": client_portraits_filters,
    "portrait_distribution": portrait_distribution_filters,
    "recommendations": recommendations_filters,
    "recommender_metrics": recommender_metrics_filters,
    "ab_test_results": ab_test_results_filters,
}


def _add_mart_routes(app: FastAPI, mart: queries.Mart) -> None:
    """GET /api/<mart> (a JSON page with total) and GET /api/<mart>.csv (all selected rows, streamed)."""
    sort_column = SORT_COLUMNS[mart.name]

    def selection(
        filters: Annotated[dict, Depends(FILTERS[mart.name])],
        sort: Annotated[sort_column | None, Query(description="Column to sort by")] = None,
        direction: Direction = Direction.asc,
    ) -> Selection:
        return Selection(mart, filters, sort.value if sort else None, direction.value)

    def read_page(
        selected: Annotated[Selection, Depends(selection)], page: PagingDep, viewer: ViewerDep
    ) -> dict:
        with read_connection() as conn:
            total, found = queries.fetch_page(conn, selected, page.limit, page.offset)
            refreshed = queries.refresh_info(conn, [mart.name])[mart.name]
        return {
            "mart": mart.table,
            "total": total,
            "limit": page.limit,
            "offset": page.offset,
            "personal_data": "full" if viewer.admin or not mart.personal else "masked",
            "refreshed": refreshed,
            "items": mask_rows(found, mart.personal, viewer.admin),
        }

    def download_csv(
        selected: Annotated[Selection, Depends(selection)], viewer: ViewerDep
    ) -> StreamingResponse:
        with read_connection() as conn:
            queries.require_tables(conn, mart.table)  # a 404 must come before the stream starts
        return StreamingResponse(
            queries.stream_csv(selected, viewer.admin),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{mart.name}.csv"'},
        )

    app.add_api_route(f"/api/{mart.name}", read_page, methods=["GET"], summary=mart.title, tags=["marts"])
    app.add_api_route(
        f"/api/{mart.name}.csv", download_csv, methods=["GET"], summary=f"{mart.title} (CSV)", tags=["csv"]
    )


def create_app() -> FastAPI:
    app = FastAPI(
        title="Client analytics",
        description=__doc__,
        dependencies=[Depends(requires_authenticated())],
        # Schema only behind login, like everything else (see /api/openapi.json).
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    @app.exception_handler(MartMissing)
    def mart_missing(request: Request, exc: MartMissing) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(psycopg.OperationalError)
    def warehouse_unavailable(request: Request, exc: psycopg.OperationalError) -> JSONResponse:
        return JSONResponse({"detail": "the warehouse is not reachable right now"}, status_code=503)

    @app.middleware("http")
    async def no_store(request: Request, call_next):
        response = await call_next(request)
        if not request.url.path.endswith("/static/plotly.min.js"):
            # Pages and answers may carry personal data: keep them out of shared caches.
            response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        if request.query_params.get("lang") in i18n.LANGUAGES:  # remembered for the next pages
            response.set_cookie(
                i18n.COOKIE, request.query_params["lang"], max_age=365 * 24 * 3600, samesite="lax"
            )
        return response

    def base(request: Request) -> str:
        return request.scope.get("root_path", "").rstrip("/")

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(
            PLOTLY_JS,
            media_type="application/javascript",
            headers={"Cache-Control": "private, max-age=86400"},
        )

    @app.get("/api/openapi.json", include_in_schema=False)
    def openapi() -> dict:
        return app.openapi()

    @app.get("/", response_class=HTMLResponse, summary="Overview")
    def index_page(request: Request, viewer: ViewerDep) -> str:
        api_paths = [r.path for r in app.routes if getattr(r, "path", "").startswith("/api/")]
        with read_connection() as conn:
            return pages.index_page(conn, base(request), viewer, [p for p in api_paths if "openapi" not in p])

    @app.get("/loans", response_class=HTMLResponse, summary="Overdue share, PAR and today's notifications")
    def loans_page(
        request: Request,
        viewer: ViewerDep,
        page: Annotated[Paging, Depends(page_paging)],
        amount_band: AmountBand | Blank | None = None,
        date_from: dt.date | Blank | None = None,
        date_to: dt.date | Blank | None = None,
    ) -> str:
        date_from, date_to = _blank_to_none(date_from), _blank_to_none(date_to)
        _check_range(date_from, date_to, "date_from/date_to")
        with read_connection() as conn:
            return pages.loans_page(
                conn, base(request), viewer, _blank_to_none(amount_band), date_from, date_to, page
            )

    @app.get("/segments", response_class=HTMLResponse, summary="Segments, top products and a client card")
    def segments_page(
        request: Request,
        viewer: ViewerDep,
        segment: ClientSegment | None = None,
        client_id: ClientId | Blank | None = None,
    ) -> str:
        with read_connection() as conn:
            return pages.segments_page(conn, base(request), viewer, segment, _blank_to_none(client_id))

    @app.get("/rfm", response_class=HTMLResponse, summary="RFM segments and the R x F heat map")
    def rfm_page(request: Request, viewer: ViewerDep, source: Identifier | None = None) -> str:
        with read_connection() as conn:
            return pages.rfm_page(conn, base(request), viewer, source)

    @app.get("/portraits", response_class=HTMLResponse, summary="Clients per portrait and confidence")
    def portraits_page(
        request: Request, viewer: ViewerDep, portrait_id: Identifier | Blank | None = None
    ) -> str:
        with read_connection() as conn:
            return pages.portraits_page(conn, base(request), viewer, _blank_to_none(portrait_id))

    @app.get(
        "/recommendations", response_class=HTMLResponse, summary="Recommender metrics, A/B test, per client"
    )
    def recommendations_page(
        request: Request, viewer: ViewerDep, client_id: ClientId | Blank | None = None
    ) -> str:
        with read_connection() as conn:
            return pages.recommendations_page(conn, base(request), viewer, _blank_to_none(client_id))

    for mart in MARTS.values():
        _add_mart_routes(app, mart)

    @app.get("/api/clients/{client_id}/recommendations", tags=["marts"], summary="A client's recommendations")
    def client_recommendations(client_id: Annotated[int, PathParam(ge=1, le=2**63 - 1)]) -> dict:
        with read_connection() as conn:
            found = queries.client_recommendations(conn, client_id)
        if not found:
            raise HTTPException(404, f"no recommendations for client {client_id}")
        return {"client_id": client_id, "total": len(found), "items": found}

    @app.get("/api/partner-services", tags=["marts"], summary="Partner services that are recommended")
    def partner_services(page: PagingDep) -> dict:
        with read_connection() as conn:
            total, found = queries.partner_services(conn, page.limit, page.offset)
        return {"total": total, "limit": page.limit, "offset": page.offset, "items": found}

    @app.get("/api/refresh", tags=["marts"], summary="When each mart was last published")
    def refresh() -> dict:
        with read_connection() as conn:
            return {"marts": queries.refresh_info(conn, list(MARTS))}

    return app
