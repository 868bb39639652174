"""Timing and quality benchmark of the recommender at production scale.

Run manually (``python -m client_dwh.devtools.bench.recommend``) after model changes to check the 100k-client
pipeline still fits the one-minute budget and that the hybrid still beats the baselines.
"""

from __future__ import annotations

import time

from client_dwh.recommend.evaluate import evaluate_variants, train_test_split_interactions, tune_blend
from client_dwh.recommend.model import HybridRecommender
from client_dwh.sources.synthetic.partners import generate_partner_services
from client_dwh.sources.synthetic.service_tastes import generate_interactions, generate_portrait_clients


def bench_recommend(
    n_clients: int = 100_000, seed: int = 1, n_eval_clients: int = 20_000, k: int = 10
) -> dict:
    """Seconds for generate -> fit -> recommend(k) for all clients, plus metrics of all variants."""
    timings = {}
    started = time.perf_counter()
    services = generate_partner_services()
    clients = generate_portrait_clients(n_clients, seed=seed)
    interactions = generate_interactions(clients, services, seed=seed)
    timings["generate_s"] = time.perf_counter() - started

    started = time.perf_counter()
    model = HybridRecommender().fit(interactions, services, clients)
    timings["fit_s"] = time.perf_counter() - started

    started = time.perf_counter()
    recommendations = model.recommend(k=k)
    timings["recommend_s"] = time.perf_counter() - started
    timings["total_s"] = timings["generate_s"] + timings["fit_s"] + timings["recommend_s"]

    eval_clients = generate_portrait_clients(n_eval_clients, seed=seed + 1)
    eval_interactions = generate_interactions(eval_clients, services, seed=seed + 1)
    started = time.perf_counter()
    train, _ = train_test_split_interactions(eval_interactions, test_share=0.2, seed=seed)
    tuned = tune_blend(train, services, eval_clients, k=k, seed=seed)  # on validation, as the DAG does
    timings["tune_s"] = time.perf_counter() - started
    started = time.perf_counter()
    metrics = evaluate_variants(
        eval_interactions, services, eval_clients, k=k, seed=seed, blend=tuned["blend"],
        k_neighbours=tuned["neighbours"],
        variant_params={"collaborative": {"k_neighbours": tuned["component_neighbours"]}},
    )  # fmt: skip
    metrics["served"] = metrics["variant"] == tuned["variant"]
    timings["evaluate_s"] = time.perf_counter() - started
    return {
        "n_clients": n_clients,
        "n_services": len(services),
        "n_interactions": len(interactions),
        "n_recommendations": len(recommendations),
        **{name: round(value, 2) for name, value in timings.items()},
        "tuned": {key: tuned[key] for key in ("blend", "neighbours", "variant", "reason")},
        "metrics": metrics,
    }


if __name__ == "__main__":
    import pandas as pd

    result = bench_recommend()
    metrics = result.pop("metrics")
    print(result)
    with pd.option_context("display.width", 160, "display.precision", 4):
        print(metrics.to_string(index=False))
