"""Nearest-prototype mapping, its quality on planted truth, the baseline and the synthetic generators."""

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from client_dwh.portraits.catalogue import UNASSIGNED, load_portraits
from client_dwh.portraits.mapping import DEFAULT_THRESHOLD, MODEL_VERSION, PortraitMapper
from client_dwh.portraits.quality import cluster_then_label_baseline, evaluate, format_report
from client_dwh.sources.synthetic.station_population import (
    features_from_visits,
    generate_station_clients,
    generate_station_visits,
)


@pytest.fixture(scope="module")
def catalogue():
    return load_portraits()


@pytest.fixture(scope="module")
def population(catalogue):
    features, _ = generate_station_clients(5_000, 3, catalogue)
    return features


@pytest.fixture(scope="module")
def fitted_mapper(catalogue):
    return PortraitMapper(catalogue)


def clients_frame(catalogue, rows):
    return pd.DataFrame(np.asarray(rows, dtype=float), columns=list(catalogue.features)).assign(
        client_id=np.arange(1, len(rows) + 1)
    )


def test_client_at_a_prototype_maps_to_it_with_full_confidence(catalogue, fitted_mapper):
    assignments = fitted_mapper.assign(clients_frame(catalogue, catalogue.prototypes))
    assert list(assignments["portrait_id"]) == list(catalogue.ids)
    np.testing.assert_allclose(assignments["distance"], 0.0, atol=1e-9)
    np.testing.assert_allclose(assignments["confidence"], 1.0)
    assert (assignments["second_portrait_id"] != assignments["portrait_id"]).all()
    assert (assignments["model_version"] == MODEL_VERSION).all()
    assert (assignments["catalogue_sha256"] == catalogue.sha256).all()


def test_client_far_from_every_portrait_is_unassigned(catalogue, fitted_mapper):
    far_away = {"age": 89, "avg_check": 49_000, "visits_per_month": 1, "distance_km": 900}
    row = [far_away.get(feature, 1.0) for feature in catalogue.features]
    assignment = fitted_mapper.assign(clients_frame(catalogue, [row])).iloc[0]
    assert assignment["portrait_id"] == UNASSIGNED
    assert assignment["distance"] > DEFAULT_THRESHOLD
    assert assignment["confidence"] == 0.0
    assert assignment["nearest_portrait_id"] in catalogue.ids


def test_threshold_moves_the_unassigned_boundary(catalogue, population, fitted_mapper):
    # Halfway between two prototypes: confidence near 0, distance well above zero.
    between = (catalogue.prototypes[0] + catalogue.prototypes[3]) / 2
    distance = fitted_mapper.assign(clients_frame(catalogue, [between]))["distance"].iloc[0]
    strict = PortraitMapper(catalogue, threshold=distance * 0.99)
    lenient = PortraitMapper(catalogue, threshold=distance * 1.01)
    assert strict.assign(clients_frame(catalogue, [between]))["portrait_id"].iloc[0] == UNASSIGNED
    assert lenient.assign(clients_frame(catalogue, [between]))["portrait_id"].iloc[0] in catalogue.ids


def test_confidence_is_a_share_and_falls_between_portraits(catalogue, population, fitted_mapper):
    assignments = fitted_mapper.assign(population)
    assert assignments["confidence"].between(0, 1).all()
    halfway = clients_frame(catalogue, [(catalogue.prototypes[0] + catalogue.prototypes[3]) / 2])
    assert PortraitMapper(catalogue, threshold=100).assign(halfway)["confidence"].iloc[0] < 0.5


def test_generation_is_deterministic_for_a_seed(catalogue):
    first_features, first_truth = generate_station_clients(2_000, 11, catalogue)
    second_features, second_truth = generate_station_clients(2_000, 11, catalogue)
    other_features, _ = generate_station_clients(2_000, 12, catalogue)
    pd.testing.assert_frame_equal(first_features, second_features)
    pd.testing.assert_frame_equal(first_truth, second_truth)
    assert not first_features.equals(other_features)


def test_generated_features_are_plausible(catalogue):
    features, truth = generate_station_clients(3_000, 5, catalogue, client_ids=np.arange(101, 3_101))
    assert features["client_id"].tolist() == list(range(101, 3_101))
    assert (truth["true_portrait_id"] == UNASSIGNED).sum() == 150
    assert features["age"].dtype == np.int64 and features["visits_per_month"].dtype == np.int64
    for spec in catalogue.feature_specs:
        assert features[spec.name].between(spec.min, spec.max).all(), spec.name
    assert features["uses_app"].between(0, 1).all()


def test_accuracy_and_outlier_catch_at_default_noise(catalogue):
    features, truth = generate_station_clients(20_000, 2024, catalogue)
    metrics = evaluate(PortraitMapper(catalogue).assign(features), truth)
    assert metrics["accuracy"] >= 0.95
    assert metrics["outliers_caught_share"] >= 0.8
    assert metrics["n_clients"] == 20_000
    assert sum(sum(row.values()) for row in metrics["confusion"].values()) == 20_000
    assert "accuracy" in format_report(metrics)


def test_baseline_runs_and_never_leaves_clients_unassigned(catalogue):
    features, truth = generate_station_clients(5_000, 8, catalogue)
    assignments = cluster_then_label_baseline(features, catalogue, seed=8)
    assert set(assignments["portrait_id"]) <= set(catalogue.ids)
    metrics = evaluate(assignments, truth)
    assert 0.0 <= metrics["accuracy"] <= 1.0
    assert metrics["outliers_caught_share"] == 0.0


def test_evaluate_on_a_hand_made_example():
    truth = pd.DataFrame({"client_id": [1, 2, 3, 4], "true_portrait_id": ["a", "a", "b", UNASSIGNED]})
    assignments = pd.DataFrame({"client_id": [1, 2, 3, 4], "portrait_id": ["a", UNASSIGNED, "a", UNASSIGNED]})
    metrics = evaluate(assignments, truth)
    assert metrics["accuracy"] == pytest.approx(1 / 3)
    assert metrics["outliers_caught_share"] == 1.0
    assert metrics["false_unassigned_share"] == pytest.approx(1 / 3)
    assert metrics["confusion"]["b"]["a"] == 1
    assert metrics["per_portrait"]["a"] == {"support": 2, "predicted": 2, "precision": 0.5, "recall": 0.5}
    assert metrics["per_portrait"]["b"]["precision"] is None


def test_fitted_parameters_round_trip_through_json(catalogue, population, fitted_mapper):
    params = json.loads(json.dumps(fitted_mapper.to_dict()))
    restored = PortraitMapper.from_dict(params, catalogue)
    pd.testing.assert_frame_equal(restored.assign(population), fitted_mapper.assign(population))
    with pytest.raises(ValueError, match="version"):
        PortraitMapper.from_dict({**params, "model_version": "other"}, catalogue)
    with pytest.raises(ValueError, match="feature set"):
        PortraitMapper.from_dict({**params, "features": params["features"][::-1]}, catalogue)
    # The saved scale, not the catalogue's current spread, defines the units of a stored model.
    doubled = {**params, "scaler": {**params["scaler"], "scale": [2 * v for v in params["scaler"]["scale"]]}}
    halved = PortraitMapper.from_dict(doubled, catalogue).assign(population)["distance"]
    np.testing.assert_allclose(halved, fitted_mapper.assign(population)["distance"] / 2)


def test_missing_values_and_a_bad_stored_scale_are_refused(catalogue, population):
    broken = population.head(3).assign(age=[40, np.nan, 30])
    with pytest.raises(ValueError, match="1 client"):
        PortraitMapper(catalogue).assign(broken)
    with pytest.raises(ValueError, match="positive numbers"):
        PortraitMapper(catalogue, scale=np.zeros(len(catalogue.features)))


def test_visits_reproduce_client_features(catalogue):
    clients, _ = generate_station_clients(300, 21, catalogue, outlier_share=0.0)
    visits = generate_station_visits(clients, seed=21, as_of=dt.date(2025, 7, 1), months=3)
    assert len(visits) == (clients["visits_per_month"] * 3).sum()
    assert visits["visit_id"].is_unique
    visited_at = pd.to_datetime(visits["visited_at"])
    assert visited_at.min() >= pd.Timestamp("2025-03-31") and visited_at.max() < pd.Timestamp("2025-07-01")

    derived = features_from_visits(visits, clients, months=3).set_index("client_id")
    expected = clients.set_index("client_id")
    visit_counts = expected["visits_per_month"] * 3
    np.testing.assert_allclose(derived["visits_per_month"], expected["visits_per_month"])
    np.testing.assert_allclose(derived["avg_check"], expected["avg_check"], atol=0.02)
    for share in ("uses_app", "prefers_coffee", "night_share", "premium_fuel_share"):
        # Shares are realised in whole visits, so they match to half a visit (plus rounding).
        assert ((derived[share] - expected[share]).abs() <= 0.5 / visit_counts + 0.001).all(), share
    assert visits.equals(generate_station_visits(clients, seed=21, as_of=dt.date(2025, 7, 1), months=3))
