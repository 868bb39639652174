import math

import numpy as np
import pandas as pd
import pytest

from client_dwh.recommend.ab_test import assign_variants, compare_variants, simulate_responses
from client_dwh.recommend.evaluate import (
    average_precision_at_k,
    ndcg_at_k,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
    train_test_split_interactions,
)

RECOMMENDED = ["a", "b", "c", "d"]
RELEVANT = {"b", "d", "e"}


def test_single_list_metrics_match_hand_computation():
    assert precision_at_k(RECOMMENDED, RELEVANT, 4) == pytest.approx(2 / 4)
    assert precision_at_k(RECOMMENDED, RELEVANT, 2) == pytest.approx(1 / 2)
    assert recall_at_k(RECOMMENDED, RELEVANT, 4) == pytest.approx(2 / 3)
    # hits at positions 2 and 4: (1/2 + 2/4) / min(3, 4)
    assert average_precision_at_k(RECOMMENDED, RELEVANT, 4) == pytest.approx(1 / 3)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(RECOMMENDED, RELEVANT, 4) == pytest.approx(dcg / ideal)
    assert ndcg_at_k(["b", "d", "e"], RELEVANT, 3) == pytest.approx(1.0)
    assert precision_at_k(["x"], RELEVANT, 10) == 0.0
    assert average_precision_at_k(["b"], {"b"}, 10) == pytest.approx(1.0)


def test_vectorised_metrics_agree_with_single_list_helpers():
    rng = np.random.default_rng(0)
    catalogue = [f"s{i}" for i in range(30)]
    rec_rows, test_rows, expected = [], [], {"p": [], "r": [], "ap": [], "n": []}
    for user in range(50):
        recommended = list(rng.choice(catalogue, size=10, replace=False))
        relevant = set(rng.choice(catalogue, size=int(rng.integers(1, 6)), replace=False))
        rec_rows += [(f"u{user}", s, rank) for rank, s in enumerate(recommended, start=1)]
        test_rows += [(f"u{user}", s) for s in relevant]
        expected["p"].append(precision_at_k(recommended, relevant, 10))
        expected["r"].append(recall_at_k(recommended, relevant, 10))
        expected["ap"].append(average_precision_at_k(recommended, relevant, 10))
        expected["n"].append(ndcg_at_k(recommended, relevant, 10))
    recommendations = pd.DataFrame(rec_rows, columns=["client_id", "service_id", "rank"])
    test = pd.DataFrame(test_rows, columns=["client_id", "service_id"])
    metrics = ranking_metrics(recommendations, test, k=10, n_catalogue=30)
    assert metrics["precision@10"] == pytest.approx(np.mean(expected["p"]))
    assert metrics["recall@10"] == pytest.approx(np.mean(expected["r"]))
    assert metrics["map@10"] == pytest.approx(np.mean(expected["ap"]))
    assert metrics["ndcg@10"] == pytest.approx(np.mean(expected["n"]))
    assert metrics["n_users_evaluated"] == 50


def test_split_holds_out_share_of_each_clients_services():
    interactions = pd.DataFrame(
        {
            "client_id": ["a"] * 10 + ["b"] * 2 + ["c"],
            "service_id": [f"s{i}" for i in range(10)] + ["s1", "s1"] + ["s2"],
        }
    )
    train, test = train_test_split_interactions(interactions, test_share=0.2, seed=3)
    assert len(train) + len(test) == len(interactions)
    assert test.groupby("client_id")["service_id"].nunique().to_dict() == {"a": 2}  # b has 1 distinct service
    assert set(train["client_id"]) == {"a", "b", "c"}
    again = train_test_split_interactions(interactions, test_share=0.2, seed=3)[1]
    pd.testing.assert_frame_equal(test, again)


def test_ab_assignment_is_stable_and_balanced():
    ids = [f"c{i}" for i in range(20_000)]
    variants = assign_variants(ids, experiment="exp1")
    assert variants.equals(assign_variants(ids, experiment="exp1"))
    assert abs((variants == "B").mean() - 0.5) < 0.02
    assert (variants != assign_variants(ids, experiment="exp2")).mean() > 0.4


def test_compare_variants_against_hand_computed_z_test():
    responses = pd.DataFrame(
        {
            "variant": ["A"] * 1000 + ["B"] * 1000,
            "responded": [True] * 100 + [False] * 900 + [True] * 130 + [False] * 870,
        }
    )
    result = compare_variants(responses)
    assert result["rate_a"] == 0.10 and result["rate_b"] == 0.13
    assert result["uplift_abs"] == pytest.approx(0.03)
    pooled = 0.115
    z = 0.03 / math.sqrt(pooled * (1 - pooled) * (2 / 1000))
    assert result["z"] == pytest.approx(z)
    assert result["p_value"] == pytest.approx(math.erfc(z / math.sqrt(2)))
    half_width = 1.959964 * math.sqrt(0.1 * 0.9 / 1000 + 0.13 * 0.87 / 1000)
    assert result["ci_low"] == pytest.approx(0.03 - half_width, abs=1e-6)
    assert result["ci_high"] == pytest.approx(0.03 + half_width, abs=1e-6)
    assert result["significant"]


def test_better_recommendations_win_simulated_ab_test():
    clients = [f"c{i}" for i in range(4_000)]
    variants = assign_variants(clients, experiment="sim")
    liked = pd.DataFrame({"client_id": clients, "service_id": "good"})
    shown_service = np.where(variants.to_numpy() == "B", "good", "other")
    recommendations = pd.DataFrame(
        {"client_id": clients, "service_id": shown_service, "variant": variants.to_numpy()}
    )
    responses = simulate_responses(
        recommendations, liked, seed=1, base_rate=0.05, response_per_liked_item=0.1
    )
    assert list(responses.columns) == ["client_id", "variant", "responded"]
    result = compare_variants(responses)
    assert result["uplift_abs"] > 0 and result["p_value"] < 0.05
    pd.testing.assert_frame_equal(
        responses,
        simulate_responses(recommendations, liked, seed=1, base_rate=0.05, response_per_liked_item=0.1),
    )
