"""Plotly figures for the pages, built from the small aggregates in ``queries``.

Each function returns the figure as JSON; the page hands it to the bundled plotly.js in the browser.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import plotly.graph_objects as go

from client_dwh.amount_bands import band_position
from client_dwh.dashboards.i18n import Labels
from client_dwh.dashboards.queries import HISTOGRAM_BINS, ROLL_BUCKETS

RUSSIAN = Labels("ru")

LAYOUT = {
    "margin": {"l": 60, "r": 20, "t": 40, "b": 50},
    "height": 360,
    "font": {"family": "system-ui, sans-serif", "size": 12},
    "paper_bgcolor": "#ffffff",
    "plot_bgcolor": "#ffffff",
    "legend": {"orientation": "h", "y": -0.2},
}


def _figure(traces: list, title: str, **layout: Any) -> str:
    figure = go.Figure(data=traces, layout={**LAYOUT, "title": {"text": title}, **layout})
    figure.update_xaxes(gridcolor="#eceff3")
    figure.update_yaxes(gridcolor="#eceff3")
    return figure.to_json()


def overdue_share(series: list[dict], t: Labels = RUSSIAN) -> str:
    by_band: dict[str, list[dict]] = defaultdict(list)
    for row in series:
        by_band[row["amount_band"]].append(row)
    traces = [
        go.Scatter(
            x=[r["month"] for r in points], y=[r["share"] for r in points], mode="lines+markers", name=band
        )
        for band, points in sorted(by_band.items(), key=lambda item: band_position(item[0]))
    ]
    return _figure(traces, t("chart.overdue_share"), yaxis={"ticksuffix": " %"})


def portfolio_at_risk(series: list[dict], t: Labels = RUSSIAN) -> str:
    months = [r["month"] for r in series]
    traces = [
        go.Scatter(x=months, y=[r["par30"] for r in series], mode="lines+markers", name="PAR30"),
        go.Scatter(x=months, y=[r["par90"] for r in series], mode="lines+markers", name="PAR90"),
    ]
    return _figure(traces, t("chart.par"), yaxis={"ticksuffix": " %"})


def roll_rates(cells: list[dict], t: Labels = RUSSIAN) -> str:
    """From-bucket (rows) x to-bucket (columns) heat map of balance shares, in percent."""
    share = {(c["from_bucket"], c["to_bucket"]): c["share"] for c in cells}
    rows_ = [b for b in ROLL_BUCKETS[:5] if any(k[0] == b for k in share)]
    z = [[share.get((f, to)) for to in ROLL_BUCKETS] for f in rows_]
    trace = go.Heatmap(
        z=z,
        x=list(ROLL_BUCKETS),
        y=rows_,
        colorscale="Reds",
        text=[[f"{v:.1f} %" if v is not None else "" for v in row] for row in z],
        texttemplate="%{text}",
        hovertemplate="%{y} → %{x}: %{z:.1f} %<extra></extra>",
    )
    return _figure(
        [trace],
        t("chart.roll_rates"),
        xaxis={"title": {"text": t("chart.roll_to")}},
        yaxis={"title": {"text": t("chart.roll_from")}, "autorange": "reversed"},
    )


def vintage_curves(series: list[dict], threshold: int = 30, t: Labels = RUSSIAN) -> str:
    """One line per issue month (the latest 12): cumulative share ever past ``threshold`` DPD by month on book."""
    by_vintage: dict[str, list[dict]] = defaultdict(list)
    for row in series:
        by_vintage[str(row["issue_month"])[:7]].append(row)
    key = "ever30" if threshold == 30 else "ever90"
    traces = [
        go.Scatter(
            x=[r["months_on_book"] for r in points], y=[r[key] for r in points], mode="lines", name=vintage
        )
        for vintage, points in sorted(by_vintage.items())[-12:]
    ]
    return _figure(
        traces,
        t("chart.vintages", threshold=threshold),
        xaxis={"title": {"text": t("chart.months_on_book")}},
        yaxis={"ticksuffix": " %"},
    )


def segment_pie(counts: list[dict], t: Labels = RUSSIAN) -> str:
    trace = go.Pie(
        labels=[r["client_segment"] for r in counts],
        values=[r["clients"] for r in counts],
        hole=0.35,
        sort=False,
    )
    return _figure([trace], t("chart.segments"))


def top_products(products: list[dict], segment: str, t: Labels = RUSSIAN) -> str:
    trace = go.Bar(
        x=[r["clients"] for r in products][::-1],
        y=[r["product_name"] for r in products][::-1],
        orientation="h",
        text=[f"{r['share_pct']:.1f} %" for r in products][::-1],
        marker_color="#4c78a8",
    )
    return _figure([trace], t("chart.top_products", segment=segment), margin={**LAYOUT["margin"], "l": 160})


def rfm_segments(summary: list[dict], t: Labels = RUSSIAN) -> str:
    trace = go.Bar(
        x=[r["segment"] for r in summary], y=[r["customers"] for r in summary], marker_color="#4c78a8"
    )
    return _figure([trace], t("chart.rfm_segments"))


def rf_heatmap(cells: list[dict], scores: range = range(1, 6), t: Labels = RUSSIAN) -> str:
    counts = {(r["r_score"], r["f_score"]): r["customers"] for r in cells}
    z = [[counts.get((r, f), 0) for f in scores] for r in scores]
    trace = go.Heatmap(
        z=z, x=[f"F{f}" for f in scores], y=[f"R{r}" for r in scores], colorscale="Blues", texttemplate="%{z}"
    )
    return _figure(
        [trace],
        t("chart.rf_heatmap"),
        xaxis={"title": {"text": t("chart.frequency_score")}},
        yaxis={"title": {"text": t("chart.recency_score")}},
    )


def portrait_bar(counts: list[dict], t: Labels = RUSSIAN) -> str:
    trace = go.Bar(
        x=[r["portrait_name"] for r in counts], y=[r["clients"] for r in counts], marker_color="#59a14f"
    )
    return _figure([trace], t("chart.portraits"))


def confidence_histogram(bins: list[dict], n_bins: int = HISTOGRAM_BINS, t: Labels = RUSSIAN) -> str:
    width = 1 / n_bins
    trace = go.Bar(
        x=[(r["bin"] - 0.5) * width for r in bins],
        y=[r["clients"] for r in bins],
        width=[width * 0.95] * len(bins),
        marker_color="#f28e2b",
    )
    return _figure([trace], t("chart.confidence"), xaxis={"range": [0, 1]}, bargap=0.02)


METRICS = (
    ("precision_at_k", "Precision@k"),
    ("recall_at_k", "Recall@k"),
    ("map_at_k", "MAP@k"),
    ("ndcg_at_k", "NDCG@k"),
)


def metrics_by_variant(latest: list[dict], t: Labels = RUSSIAN) -> str:
    """The latest training run: the variants side by side for each metric (grouped bars)."""
    traces = [
        go.Bar(
            x=[label for _, label in METRICS],
            y=[row[metric] for metric, _ in METRICS],
            name=row["variant"] + (" ★" if row.get("is_served") else ""),
            text=[f"{row[metric]:.3f}" for metric, _ in METRICS],
            textposition="outside",
        )
        for row in latest
    ]
    run = latest[0]["model_run_id"] if latest else "—"
    return _figure(traces, t("chart.metrics", run=run), barmode="group", yaxis={"rangemode": "tozero"})


def metrics_trend(history: list[dict], metric: str = "ndcg_at_k", t: Labels = RUSSIAN) -> str:
    """One line per variant over the training runs (drawn when there is more than one run)."""
    by_variant: dict[str, list[dict]] = defaultdict(list)
    for row in history:
        by_variant[row["variant"]].append(row)
    label = dict(METRICS)[metric]
    traces = [
        go.Scatter(
            x=[r["trained_at"] for r in points],
            y=[r[metric] for r in points],
            mode="lines+markers",
            name=variant,
            text=[r["model_run_id"] for r in points],
            hovertemplate="%{text}<br>%{y:.4f}",
        )
        for variant, points in by_variant.items()
    ]
    return _figure(traces, t("chart.metrics_trend", metric=label))
