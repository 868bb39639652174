"""Throughput and accuracy benchmark of portrait mapping, and threshold calibration (run by hand, not in CI).

The warehouse maps every client on each run, so fit+assign must stay in the seconds range at a million
clients; the accuracy comparison keeps the cluster-then-label baseline honest on the same data.
"""

from __future__ import annotations

import time
from typing import Any

from client_dwh.portraits.catalogue import UNASSIGNED, PortraitCatalogue, load_portraits
from client_dwh.portraits.generate import generate_station_clients
from client_dwh.portraits.mapping import PortraitMapper
from client_dwh.portraits.quality import cluster_then_label_baseline, evaluate


def bench_mapping(
    n_clients: int = 1_000_000,
    seed: int = 1,
    *,
    accuracy_clients: int = 100_000,
    catalogue: PortraitCatalogue | None = None,
) -> dict[str, Any]:
    catalogue = catalogue or load_portraits()
    started = time.perf_counter()
    features, _ = generate_station_clients(n_clients, seed, catalogue)
    generate_seconds = time.perf_counter() - started

    started = time.perf_counter()
    mapper = PortraitMapper(catalogue).fit(features)
    mapper.assign(features)
    map_seconds = time.perf_counter() - started

    sample, truth = generate_station_clients(accuracy_clients, seed + 1, catalogue)
    mapper_metrics = evaluate(PortraitMapper(catalogue).fit(sample).assign(sample), truth)
    started = time.perf_counter()
    baseline_metrics = evaluate(cluster_then_label_baseline(sample, catalogue, seed), truth)
    baseline_seconds = time.perf_counter() - started
    return {
        "n_clients": n_clients,
        "generate_seconds": round(generate_seconds, 3),
        "fit_assign_seconds": round(map_seconds, 3),
        "clients_per_second": round(n_clients / map_seconds),
        "accuracy_clients": accuracy_clients,
        "mapper_accuracy": mapper_metrics["accuracy"],
        "mapper_outliers_caught_share": mapper_metrics["outliers_caught_share"],
        "mapper_false_unassigned_share": mapper_metrics["false_unassigned_share"],
        "baseline_accuracy": baseline_metrics["accuracy"],
        "baseline_seconds": round(baseline_seconds, 3),
    }


def calibrate_threshold(
    n_clients: int = 200_000,
    seed: int = 7,
    thresholds: tuple[float, ...] = (1.2, 1.4, 1.6, 1.8, 2.0, 2.5),
    catalogue: PortraitCatalogue | None = None,
) -> list[dict[str, float]]:
    """Accuracy and outlier catch share for candidate thresholds at the default generator noise."""
    catalogue = catalogue or load_portraits()
    features, truth = generate_station_clients(n_clients, seed, catalogue)
    assignments = PortraitMapper(catalogue).fit(features).assign(features)
    true = truth["true_portrait_id"].to_numpy()
    nearest = assignments["nearest_portrait_id"].to_numpy()
    distance = assignments["distance"].to_numpy()
    is_outlier = true == UNASSIGNED
    return [
        {
            "threshold": threshold,
            "accuracy": float(((nearest == true) & (distance <= threshold))[~is_outlier].mean()),
            "outliers_caught_share": float((distance[is_outlier] > threshold).mean()),
        }
        for threshold in thresholds
    ]


if __name__ == "__main__":
    print(calibrate_threshold())
    print(bench_mapping())
