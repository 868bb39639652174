"""Server-rendered pages: each function reads its aggregates in one short connection and renders HTML."""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from client_dwh.dashboards import charts, queries
from client_dwh.dashboards.i18n import DEFAULT_LANGUAGE, Labels
from client_dwh.dashboards.params import AmountBand, ClientSegment, Paging
from client_dwh.dashboards.privacy import mask_rows
from client_dwh.dashboards.queries import MARTS, Selection

NAV = ["/", "/loans", "/segments", "/rfm", "/portraits", "/recommendations"]  # labels: i18n "nav.<path>"


@dataclass(frozen=True)
class Viewer:
    name: str
    admin: bool
    lang: str = DEFAULT_LANGUAGE
    switch_language_url: str = "?lang=en"  # this page in the other language

    @property
    def t(self) -> Labels:
        return Labels(self.lang)


@functools.cache
def _templates():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _embed(figure_json: str) -> str:
    # Inside <script type="application/json">; "<" only occurs within JSON strings, where \u003c is the same.
    return figure_json.replace("<", "\\u003c")


def url(base: str, path: str, **params: Any) -> str:
    query = urlencode({k: str(v) for k, v in params.items() if v is not None and v != ""})
    return f"{base}{path}" + (f"?{query}" if query else "")


def render(template: str, *, base: str, viewer: Viewer, active: str, title: str, **context: Any) -> str:
    """``title`` is an i18n key; templates get ``t`` (labels in the viewer's language) and ``lang``."""
    context.setdefault("figures", {})
    context["figures"] = {k: _embed(v) for k, v in context["figures"].items()}
    context.setdefault("refresh", {})
    context.setdefault("missing", set())
    return (
        _templates()
        .get_template(template)
        .render(
            base=base,
            viewer=viewer,
            active=active,
            title=viewer.t(title),
            nav=NAV,
            t=viewer.t,
            lang=viewer.lang,
            **context,
        )  # fmt: skip
    )


def _pager(base: str, path: str, total: int, paging: Paging, **params: Any) -> dict[str, Any]:
    page = paging.offset // paging.limit + 1
    pages = max(1, math.ceil(total / paging.limit))
    link = functools.partial(url, base, path, page_size=paging.limit, **params)
    return {
        "total": total,
        "page": page,
        "pages": pages,
        "first": min(total, paging.offset + 1),
        "last": min(total, paging.offset + paging.limit),
        "prev": link(page=page - 1) if page > 1 else None,
        "next": link(page=page + 1) if page < pages else None,
    }


def index_page(conn, base: str, viewer: Viewer, api_paths: list[str]) -> str:
    return render(
        "index.html",
        base=base,
        viewer=viewer,
        active="/",
        title="title.index",
        api=api_paths,
        refresh=queries.refresh_info(conn, list(MARTS)),
    )


def loans_page(
    conn,
    base: str,
    viewer: Viewer,
    amount_band: str | None,
    date_from: dt.date | None,
    date_to: dt.date | None,
    paging: Paging,
) -> str:
    marts = ["overdue_by_month", "portfolio_at_risk", "overdue_notifications", "roll_rates", "vintage_curves"]
    missing = queries.missing_tables(conn, [f"mart.{m}" for m in marts])
    filters = {"amount_band": amount_band, "date_from": date_from, "date_to": date_to}
    figures, overdue_rows, notifications, total, as_of = {}, [], [], 0, None
    if "mart.overdue_by_month" not in missing:
        figures["fig-overdue-share"] = charts.overdue_share(
            queries.overdue_share_series(conn, amount_band, date_from, date_to), t=viewer.t
        )
        _, overdue_rows = queries.fetch_page(conn, Selection(MARTS["overdue_by_month"], filters), 1000, 0)
    if "mart.portfolio_at_risk" not in missing:
        figures["fig-par"] = charts.portfolio_at_risk(
            queries.par_series(conn, date_from, date_to), t=viewer.t
        )
    if "mart.roll_rates" not in missing:
        figures["fig-roll-rates"] = charts.roll_rates(
            queries.roll_rate_series(conn, date_from, date_to), t=viewer.t
        )
    if "mart.vintage_curves" not in missing:
        vintages = queries.vintage_series(conn, None, None)
        figures["fig-vintage-30"] = charts.vintage_curves(vintages, 30, t=viewer.t)
        figures["fig-vintage-90"] = charts.vintage_curves(vintages, 90, t=viewer.t)
    if "mart.overdue_notifications" not in missing:
        total, notifications = queries.fetch_page(
            conn, Selection(MARTS["overdue_notifications"]), paging.limit, paging.offset
        )
        notifications = mask_rows(notifications, MARTS["overdue_notifications"].personal, viewer.admin)
        as_of = notifications[0]["as_of_date"] if notifications else None
    return render(
        "loans.html",
        base=base,
        viewer=viewer,
        active="/loans",
        title="title.loans",
        bands=[b.value for b in AmountBand],
        filters=filters,
        figures=figures,
        missing=missing,
        refresh=queries.refresh_info(conn, marts),
        overdue_columns=MARTS["overdue_by_month"].columns,
        overdue_rows=overdue_rows,
        notification_columns=[c for c in MARTS["overdue_notifications"].columns if c != "as_of_date"],
        notifications=notifications,
        as_of=as_of,
        pager=_pager(base, "/loans", total, paging, **filters),
        csv=[
            (viewer.t("csv.notifications"), url(base, "/api/overdue_notifications.csv")),
            (viewer.t("csv.overdue_by_month"), url(base, "/api/overdue_by_month.csv", **filters)),
            (
                viewer.t("csv.par"),
                url(base, "/api/portfolio_at_risk.csv", date_from=date_from, date_to=date_to),
            ),
            (
                viewer.t("csv.roll_rates"),
                url(base, "/api/roll_rates.csv", date_from=date_from, date_to=date_to),
            ),
            (viewer.t("csv.vintages"), url(base, "/api/vintage_curves.csv")),
        ],
    )


def segments_page(conn, base: str, viewer: Viewer, segment: str | None, client_id: int | None) -> str:
    marts = ["client_segments", "segment_top_products"]
    missing = queries.missing_tables(conn, [f"mart.{m}" for m in marts])
    segment = segment or ClientSegment.one_product.value
    counts = [] if "mart.client_segments" in missing else queries.segment_counts(conn)
    products = [] if "mart.segment_top_products" in missing else queries.top_products(conn, segment)
    client = None
    if client_id and "mart.client_segments" not in missing:
        client = queries.client_card(conn, client_id)
        if client:
            (client,) = mask_rows([client], MARTS["client_segments"].personal, viewer.admin)
    return render(
        "segments.html",
        base=base,
        viewer=viewer,
        active="/segments",
        title="title.segments",
        segments=[s.value for s in ClientSegment],
        segment=segment,
        client_id=client_id,
        client=client,
        missing=missing,
        figures={
            "fig-segments": charts.segment_pie(counts, t=viewer.t),
            "fig-top-products": charts.top_products(products, segment, t=viewer.t),
        },
        refresh=queries.refresh_info(conn, marts),
        product_columns=["product_rank", "product_id", "product_name", "clients", "share_pct"],
        products=products,
        csv=[
            (
                viewer.t("csv.clients_in", segment=segment),
                url(base, "/api/client_segments.csv", segment=segment),
            ),
            (viewer.t("csv.top_products"), url(base, "/api/segment_top_products.csv")),
        ],
    )


def rfm_page(conn, base: str, viewer: Viewer, source: str | None) -> str:
    marts = ["rfm", "rfm_segments"]
    missing = queries.missing_tables(conn, [f"mart.{m}" for m in marts])
    sources = [] if "mart.rfm_segments" in missing else queries.rfm_sources(conn)
    source = source or (sources[0] if sources else None)
    summary = [] if "mart.rfm_segments" in missing else queries.rfm_segment_summary(conn, source)
    cells = [] if "mart.rfm" in missing else queries.rf_heatmap(conn, source)
    # A warehouse whose marts predate mart.rfm_settings simply shows no line about the choice.
    settings = (
        None if queries.missing_tables(conn, ["mart.rfm_settings"]) else queries.rfm_settings(conn, source)
    )
    return render(
        "rfm.html",
        settings=settings,
        base=base,
        viewer=viewer,
        active="/rfm",
        title="title.rfm",
        sources=sources,
        source=source,
        missing=missing,
        figures={
            "fig-rfm-segments": charts.rfm_segments(summary, t=viewer.t),
            "fig-rf-heatmap": charts.rf_heatmap(cells, t=viewer.t),
        },
        refresh=queries.refresh_info(conn, marts),
        summary_columns=[c for c in MARTS["rfm_segments"].columns if c != "source"],  # one source shown
        summary=summary,
        csv=[
            (viewer.t("csv.segment_summary"), url(base, "/api/rfm_segments.csv", source=source)),
            (viewer.t("csv.customers"), url(base, "/api/rfm.csv", source=source)),
        ],
    )


def portraits_page(conn, base: str, viewer: Viewer, portrait_id: str | None) -> str:
    marts = ["client_portraits", "portrait_distribution"]
    missing = queries.missing_tables(conn, [f"mart.{m}" for m in marts])
    portraits = [] if "mart.portrait_distribution" in missing else queries.portrait_counts(conn)
    bins = [] if "mart.client_portraits" in missing else queries.confidence_histogram(conn, portrait_id)
    return render(
        "portraits.html",
        base=base,
        viewer=viewer,
        active="/portraits",
        title="title.portraits",
        portraits=portraits,
        portrait_id=portrait_id,
        missing=missing,
        figures={
            "fig-portraits": charts.portrait_bar(portraits, t=viewer.t),
            "fig-confidence": charts.confidence_histogram(bins, t=viewer.t),
        },
        refresh=queries.refresh_info(conn, marts),
        portrait_columns=list(MARTS["portrait_distribution"].columns),
        csv=[
            (viewer.t("csv.distribution"), url(base, "/api/portrait_distribution.csv")),
            (viewer.t("csv.clients"), url(base, "/api/client_portraits.csv", portrait_id=portrait_id)),
        ],
    )


def recommendations_page(conn, base: str, viewer: Viewer, client_id: int | None) -> str:
    marts = ["recommendations", "recommender_metrics", "ab_test_results"]
    missing = queries.missing_tables(conn, [f"mart.{m}" for m in marts])
    history = [] if "mart.recommender_metrics" in missing else queries.metrics_history(conn)
    ab_rows = []
    if "mart.ab_test_results" not in missing:
        _, ab_rows = queries.fetch_page(conn, Selection(MARTS["ab_test_results"]), 50, 0)
    recommendations = []
    if client_id and "mart.recommendations" not in missing:
        recommendations = queries.client_recommendations(conn, client_id)
    figures = {}
    if history:
        latest_run = history[-1]["model_run_id"]
        latest = [row for row in history if row["model_run_id"] == latest_run]
        figures["fig-metrics"] = charts.metrics_by_variant(latest, t=viewer.t)
        if len({row["model_run_id"] for row in history}) > 1:
            figures["fig-metrics-trend"] = charts.metrics_trend(history, t=viewer.t)
    return render(
        "recommendations.html",
        base=base,
        viewer=viewer,
        active="/recommendations",
        title="title.recommendations",
        client_id=client_id,
        missing=missing,
        figures=figures,
        refresh=queries.refresh_info(conn, marts),
        metric_columns=[
            "model_run_id",
            "trained_at",
            "variant",
            "k",
            "precision_at_k",
            "recall_at_k",
            "map_at_k",
            "ndcg_at_k",
            "validation_ndcg_at_k",
            "blend",
            "neighbours",
            "is_served",
            "selection_reason",
        ],  # fmt: skip
        metrics=history[::-1],
        ab_columns=list(MARTS["ab_test_results"].columns),
        ab_rows=ab_rows,
        recommendation_columns=[
            "rank",
            "service_id",
            "partner_name",
            "service_name",
            "score",
            "reason",
            "variant",
        ],
        recommendations=recommendations,
        csv=[
            (viewer.t("csv.ab_results"), url(base, "/api/ab_test_results.csv")),
            (viewer.t("csv.metrics"), url(base, "/api/recommender_metrics.csv")),
            (viewer.t("csv.recommendations"), url(base, "/api/recommendations.csv", client_id=client_id)),
        ],
    )
