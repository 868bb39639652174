"""The portrait catalogue must reject hand-editing mistakes with a message naming the portrait and field."""

import copy
import json

import numpy as np
import pytest

from client_dwh.portraits.catalogue import PortraitSchemaError, default_catalogue_path, load_portraits


@pytest.fixture(scope="module")
def raw_catalogue():
    return json.loads(default_catalogue_path().read_text(encoding="utf-8"))


def write_catalogue(tmp_path, raw):
    path = tmp_path / "portraits.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return path


def test_default_catalogue_loads_with_consistent_arrays():
    catalogue = load_portraits()
    assert len(catalogue.ids) >= 6
    assert len(set(catalogue.ids)) == len(catalogue.ids)
    assert {"age", "avg_check", "visits_per_month", "distance_km", "uses_app", "prefers_coffee"} <= set(
        catalogue.features
    )
    assert catalogue.prototypes.shape == (len(catalogue.ids), len(catalogue.features))
    assert catalogue.weights.shape == catalogue.prototypes.shape
    assert (catalogue.weights > 0).all()
    assert all(portrait.name and portrait.desc and portrait.advice for portrait in catalogue.portraits)
    assert len(catalogue.sha256) == 64


def test_sha256_ignores_formatting_but_tracks_content(tmp_path, raw_catalogue):
    reference = load_portraits().sha256
    reformatted = tmp_path / "reformatted.json"
    reformatted.write_text(json.dumps(raw_catalogue, indent=None, ensure_ascii=True), encoding="utf-8")
    assert load_portraits(reformatted).sha256 == reference

    changed = copy.deepcopy(raw_catalogue)
    changed["portraits"][0]["prototype"]["avg_check"] += 1
    assert load_portraits(write_catalogue(tmp_path, changed)).sha256 != reference


def test_absent_weights_default_to_one(raw_catalogue):
    catalogue = load_portraits()
    young_urban = catalogue.ids.index("young_urban")
    assert "weights" not in raw_catalogue["portraits"][young_urban]
    np.testing.assert_array_equal(catalogue.weights[young_urban], 1.0)


def _remove_feature(portrait):
    del portrait["prototype"]["avg_check"]


def _set(field, value):
    def mutate(portrait):
        parent, _, key = field.rpartition(".")
        target = portrait[parent] if parent else portrait
        target[key] = value

    return mutate


@pytest.mark.parametrize(
    ("mutate", "expected_fragments"),
    [
        (_remove_feature, ["portrait 'rational_driver'", "prototype.avg_check", "missing"]),
        (_set("prototype.avg_check", "1900"), ["portrait 'rational_driver'", "prototype.avg_check"]),
        (_set("prototype.avg_check", -5), ["portrait 'rational_driver'", "prototype.avg_check"]),
        (_set("prototype.uses_app", True), ["portrait 'rational_driver'", "prototype.uses_app"]),
        (_set("prototype.colour", 1), ["portrait 'rational_driver'", "prototype.colour"]),
        (_set("name", "  "), ["portrait 'rational_driver'", "name"]),
        (_set("advice", None), ["portrait 'rational_driver'", "advice"]),
        (_set("weights", {"age": 0}), ["portrait 'rational_driver'", "weights.age", "> 0"]),
        (_set("weights", {"shoe_size": 2}), ["portrait 'rational_driver'", "weights.shoe_size"]),
        (_set("id", "Rational Driver"), ["portrait #0", "id"]),
        (_set("id", "unassigned"), ["portrait 'unassigned'", "reserved"]),
        (_set("advise", "typo"), ["portrait 'rational_driver'", "advise"]),
    ],
)
def test_schema_errors_name_portrait_and_field(tmp_path, raw_catalogue, mutate, expected_fragments):
    raw = copy.deepcopy(raw_catalogue)
    mutate(raw["portraits"][0])
    with pytest.raises(PortraitSchemaError) as raised:
        load_portraits(write_catalogue(tmp_path, raw))
    for fragment in expected_fragments:
        assert fragment in str(raised.value)


def test_duplicate_id_is_rejected(tmp_path, raw_catalogue):
    raw = copy.deepcopy(raw_catalogue)
    raw["portraits"][2]["id"] = raw["portraits"][0]["id"]
    with pytest.raises(
        PortraitSchemaError, match=r"portrait 'rational_driver' \(index 2\): id is a duplicate"
    ):
        load_portraits(write_catalogue(tmp_path, raw))


def test_feature_spec_errors_name_the_feature(tmp_path, raw_catalogue):
    raw = copy.deepcopy(raw_catalogue)
    raw["features"]["distance_km"]["min"] = 0
    with pytest.raises(PortraitSchemaError, match="feature 'distance_km'.*> 0 for a log-scale"):
        load_portraits(write_catalogue(tmp_path, raw))


def test_schema_error_is_a_value_error_and_reports_bad_json(tmp_path):
    path = tmp_path / "portraits.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_portraits(path)


def test_single_portrait_catalogue_is_rejected(tmp_path, raw_catalogue):
    raw = copy.deepcopy(raw_catalogue)
    raw["portraits"] = raw["portraits"][:1]
    with pytest.raises(PortraitSchemaError, match="at least 2 portraits"):
        load_portraits(write_catalogue(tmp_path, raw))
