"""Measure portrait mapping against planted truth, and the cluster-then-label baseline to compare with.

Accuracy alone hides the two failure modes that matter for the business: outliers forced into a portrait
(they would get irrelevant offers) and good clients left ``unassigned`` (they would get none), so both are
reported separately, together with a confusion matrix and per-portrait precision and recall.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans

from client_dwh.portraits.catalogue import UNASSIGNED, PortraitCatalogue
from client_dwh.portraits.mapping import PortraitMapper

BASELINE_MODEL_VERSION = "portrait-kmeans-then-label-1.0"
BASELINE_N_INIT = 3


def _share(numerator: int, denominator: int) -> float | None:
    # None instead of NaN keeps the metrics JSON-serialisable and makes "not measurable" explicit.
    return numerator / denominator if denominator else None


def evaluate(assignments: pd.DataFrame, ground_truth: pd.DataFrame) -> dict[str, Any]:
    """Compare ``assignments`` (client_id, portrait_id) with ``ground_truth`` (client_id, true_portrait_id).

    Clients missing from ``assignments`` count as ``unassigned``.
    """
    merged = ground_truth[["client_id", "true_portrait_id"]].merge(
        assignments[["client_id", "portrait_id"]], on="client_id", how="left", validate="one_to_one"
    )
    true = merged["true_portrait_id"].astype(str).to_numpy()
    predicted = merged["portrait_id"].fillna(UNASSIGNED).astype(str).to_numpy()
    is_outlier = true == UNASSIGNED
    n_portrait_clients = int((~is_outlier).sum())
    n_outliers = int(is_outlier.sum())

    portrait_ids = sorted(set(true[~is_outlier]) | set(predicted[predicted != UNASSIGNED]))
    labels = [*portrait_ids, UNASSIGNED]
    crosstab = pd.crosstab(pd.Categorical(true, labels), pd.Categorical(predicted, labels), dropna=False)
    confusion = {
        true_label: {
            predicted_label: int(crosstab.loc[true_label, predicted_label]) for predicted_label in labels
        }
        for true_label in labels
    }

    per_portrait = {}
    for portrait_id in portrait_ids:
        true_positive = int(((true == portrait_id) & (predicted == portrait_id)).sum())
        per_portrait[portrait_id] = {
            "support": int((true == portrait_id).sum()),
            "predicted": int((predicted == portrait_id).sum()),
            "precision": _share(true_positive, int((predicted == portrait_id).sum())),
            "recall": _share(true_positive, int((true == portrait_id).sum())),
        }

    return {
        "n_clients": len(merged),
        "n_portrait_clients": n_portrait_clients,
        "n_outliers": n_outliers,
        "n_missing_assignments": int(merged["portrait_id"].isna().sum()),
        "accuracy": _share(int(((true == predicted) & ~is_outlier).sum()), n_portrait_clients),
        "outliers_caught_share": _share(int((predicted[is_outlier] == UNASSIGNED).sum()), n_outliers),
        "false_unassigned_share": _share(
            int((predicted[~is_outlier] == UNASSIGNED).sum()), n_portrait_clients
        ),
        "confusion": confusion,
        "per_portrait": per_portrait,
    }


def cluster_then_label_baseline(
    features_df: pd.DataFrame, catalogue: PortraitCatalogue, seed: int
) -> pd.DataFrame:
    """The seed project's method: KMeans with k = number of portraits on the scaled features, then each
    cluster gets the portrait whose prototype is nearest to the cluster centre. Never ``unassigned``, and
    two clusters may share a portrait while another portrait gets no cluster at all."""
    mapper = PortraitMapper(catalogue)
    scaled = mapper.scaled(features_df)
    kmeans = KMeans(n_clusters=len(catalogue.ids), n_init=BASELINE_N_INIT, random_state=seed).fit(scaled)
    centre_portrait = mapper.distances_in_model_space(kmeans.cluster_centers_).argmin(axis=1)
    client_portrait = centre_portrait[kmeans.labels_]
    client_distance = mapper.distances_in_model_space(scaled)[np.arange(len(scaled)), client_portrait]
    return pd.DataFrame(
        {
            "client_id": features_df["client_id"].to_numpy(),
            "portrait_id": np.asarray(catalogue.ids, dtype=object)[client_portrait],
            "cluster": kmeans.labels_.astype(np.int64),
            "distance": client_distance,
            "model_version": BASELINE_MODEL_VERSION,
        }
    )


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def format_report(metrics: dict[str, Any]) -> str:
    lines = [
        (
            f"clients: {metrics['n_clients']} ({metrics['n_portrait_clients']} portrait-drawn, "
            f"{metrics['n_outliers']} outliers)"
        ),
        f"accuracy on portrait-drawn clients: {_percent(metrics['accuracy'])}",
        f"outliers caught (unassigned): {_percent(metrics['outliers_caught_share'])}",
        f"portrait-drawn clients left unassigned: {_percent(metrics['false_unassigned_share'])}",
        "per portrait (precision / recall / support):",
    ]
    for portrait_id, scores in metrics["per_portrait"].items():
        lines.append(
            f"  {portrait_id:<24} {_percent(scores['precision']):>8} / {_percent(scores['recall']):>8} "
            f"/ {scores['support']}"
        )
    return "\n".join(lines)


def threshold_curve(
    assignments: pd.DataFrame, true_portrait: pd.Series | np.ndarray, thresholds: list[float]
) -> list[dict[str, float]]:
    """For each candidate threshold: accuracy on portrait-drawn clients and the share of outliers caught.

    ``assignments`` is ``PortraitMapper.assign`` output (any threshold: only ``nearest_portrait_id`` and
    ``distance`` are used); ``true_portrait`` is aligned with it, ``unassigned`` for the outliers.
    """
    true = np.asarray(true_portrait, dtype=object)
    nearest = assignments["nearest_portrait_id"].to_numpy()
    distance = assignments["distance"].to_numpy()
    is_outlier = true == UNASSIGNED
    return [
        {
            "threshold": float(threshold),
            "accuracy": float(((nearest == true) & (distance <= threshold))[~is_outlier].mean()),
            "outliers_caught_share": (
                float((distance[is_outlier] > threshold).mean()) if is_outlier.any() else None
            ),
        }
        for threshold in thresholds
    ]
