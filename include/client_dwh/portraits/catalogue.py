"""Load and strictly validate the portrait catalogue (``include/portraits.json``).

The catalogue is edited by hand by business people, so every mistake must be reported with the portrait and
the field it concerns instead of surfacing later as a cryptic numpy error. The SHA-256 of its canonical
content lets the pipeline re-map clients only when the catalogue actually changed.

File layout::

    {
      "schema_version": 1,
      "features": {"<feature>": {"desc", "kind": integer|number|share, "scale": linear|log,
                                 "min", "max", "spread"}},
      "portraits": [{"id", "name", "desc", "prototype": {<feature>: value}, "weights"?: {<feature>: w},
                     "advice"}]
    }

``spread`` is a feature's typical variation among clients of one portrait: in the feature's own units for a
linear feature (required), and as the standard deviation of its natural logarithm for a log feature
(optional, default ``DEFAULT_LOG_SPREAD``: 0.5 is roughly "half as much to 1.65 times as much"). Distances
are measured in these units, so they mean the same whoever else is in the population being mapped.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

UNASSIGNED = "unassigned"
SUPPORTED_SCHEMA_VERSION = 1
FEATURE_KINDS = ("integer", "number", "share")
FEATURE_SCALES = ("linear", "log")
IDENTIFIER_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
PORTRAIT_KEYS = {"id", "name", "desc", "prototype", "weights", "advice"}
REQUIRED_PORTRAIT_TEXT_FIELDS = ("name", "desc", "advice")
FEATURE_SPEC_KEYS = {"desc", "kind", "scale", "min", "max", "spread"}
DEFAULT_LOG_SPREAD = 0.5


class PortraitSchemaError(ValueError):
    """The portrait catalogue violates the schema; the message names the portrait (or feature) and field."""


def default_catalogue_path() -> Path:
    return Path(__file__).resolve().parents[2] / "portraits.json"


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    desc: str
    kind: str
    scale: str
    min: float
    max: float
    # Typical variation within one portrait: absolute for a linear feature, of the logarithm for a log one.
    spread: float


@dataclass(frozen=True)
class Portrait:
    id: str
    name: str
    desc: str
    advice: str
    prototype: dict[str, float]
    weights: dict[str, float]


@dataclass(frozen=True)
class PortraitCatalogue:
    feature_specs: tuple[FeatureSpec, ...]
    portraits: tuple[Portrait, ...]
    sha256: str
    source_path: Path | None = None
    _prototype_matrix: np.ndarray = field(init=False, repr=False, compare=False)
    _weight_matrix: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        prototypes = np.array([[p.prototype[f] for f in self.features] for p in self.portraits], dtype=float)
        weights = np.array(
            [[p.weights.get(f, 1.0) for f in self.features] for p in self.portraits], dtype=float
        )
        # Read-only so a caller cannot silently corrupt the shared catalogue.
        prototypes.setflags(write=False)
        weights.setflags(write=False)
        object.__setattr__(self, "_prototype_matrix", prototypes)
        object.__setattr__(self, "_weight_matrix", weights)

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.feature_specs)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.portraits)

    @property
    def prototypes(self) -> np.ndarray:
        """Prototype values, shape (portraits, features), in the order of ``ids`` and ``features``."""
        return self._prototype_matrix

    @property
    def weights(self) -> np.ndarray:
        """Per-portrait feature weights, shape (portraits, features); absent weights are 1."""
        return self._weight_matrix

    @property
    def names(self) -> dict[str, str]:
        return {p.id: p.name for p in self.portraits}

    @property
    def reference_scale(self) -> np.ndarray:
        """Each feature's declared ``spread`` in model space: the fixed unit of the mapping distance."""
        return np.array([spec.spread for spec in self.feature_specs], dtype=float)

    @property
    def log_feature_mask(self) -> np.ndarray:
        return np.array([spec.scale == "log" for spec in self.feature_specs])

    def to_model_space(self, values: np.ndarray) -> np.ndarray:
        """Log-transform log-scale features (columns in ``features`` order).

        Cheques, visit counts and distances vary multiplicatively (1 000 vs 1 500 RUB matters as much as
        10 000 vs 15 000), so distances are measured on their logarithm. Values below the feature minimum
        are raised to it first so a zero (e.g. a client with no visits) cannot produce -inf.
        """
        model_values = np.array(values, dtype=float, copy=True)
        for column, spec in enumerate(self.feature_specs):
            if spec.scale == "log":
                model_values[:, column] = np.log(np.maximum(model_values[:, column], spec.min))
        return model_values

    def from_model_space(self, model_values: np.ndarray) -> np.ndarray:
        values = np.array(model_values, dtype=float, copy=True)
        for column, spec in enumerate(self.feature_specs):
            if spec.scale == "log":
                values[:, column] = np.exp(values[:, column])
        return values

    def spec(self, feature: str) -> FeatureSpec:
        for spec in self.feature_specs:
            if spec.name == feature:
                return spec
        raise KeyError(feature)

    def portrait(self, portrait_id: str) -> Portrait:
        for portrait in self.portraits:
            if portrait.id == portrait_id:
                return portrait
        raise KeyError(portrait_id)


def canonical_sha256(raw: Any) -> str:
    """Hash of the parsed content, so re-indenting the file does not trigger a re-mapping."""
    canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def load_portraits(path: str | Path | None = None) -> PortraitCatalogue:
    """Read and validate the catalogue; every problem is one ``PortraitSchemaError`` line naming the file.

    The file must be UTF-8 (JSON's encoding); a missing file, another encoding or invalid JSON is named
    with the place and what to fix, and so is every schema problem.
    """
    source_path = Path(path) if path is not None else default_catalogue_path()
    try:
        data = source_path.read_bytes()
    except FileNotFoundError:
        raise PortraitSchemaError(
            f"{source_path}: no such file; set PORTRAITS_FILE to the portrait catalogue "
            f"(default {default_catalogue_path()})"
        ) from None
    except OSError as error:
        raise PortraitSchemaError(
            f"{source_path}: cannot be read ({error.strerror}); check PORTRAITS_FILE"
        ) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise PortraitSchemaError(
            f"{source_path}: line {line}: byte 0x{data[error.start]:02x} is not UTF-8 "
            f"(saved as Windows-1251?); save the catalogue as UTF-8"
        ) from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise PortraitSchemaError(f"{source_path}: not valid JSON: {error}; fix it there") from None
    try:
        return parse_portraits(raw, source_path=source_path)
    except PortraitSchemaError as error:
        raise PortraitSchemaError(f"{source_path}: {error}") from None


def parse_portraits(raw: Any, *, source_path: Path | None = None) -> PortraitCatalogue:
    """Validate already-parsed catalogue content (also handy for tests that build catalogues in memory)."""
    if not isinstance(raw, dict):
        raise PortraitSchemaError("catalogue must be a JSON object with 'features' and 'portraits'")
    unknown = set(raw) - {"schema_version", "features", "portraits"}
    if unknown:
        raise PortraitSchemaError(f"catalogue: unknown top-level field(s) {sorted(unknown)}")
    version = raw.get("schema_version", SUPPORTED_SCHEMA_VERSION)
    if version != SUPPORTED_SCHEMA_VERSION:
        raise PortraitSchemaError(
            f"catalogue: schema_version must be {SUPPORTED_SCHEMA_VERSION}, got {version!r}"
        )
    feature_specs = _parse_feature_specs(raw.get("features"))
    raw_portraits = raw.get("portraits")
    if not isinstance(raw_portraits, list) or len(raw_portraits) < 2:
        # A single portrait would make every confidence meaningless (no second-nearest prototype).
        raise PortraitSchemaError("catalogue: 'portraits' must be a list of at least 2 portraits")

    portraits: list[Portrait] = []
    first_index_by_id: dict[str, int] = {}
    for index, raw_portrait in enumerate(raw_portraits):
        portrait = _parse_portrait(raw_portrait, index, feature_specs)
        if portrait.id in first_index_by_id:
            raise PortraitSchemaError(
                f"portrait '{portrait.id}' (index {index}): id is a duplicate of portrait "
                f"index {first_index_by_id[portrait.id]}"
            )
        first_index_by_id[portrait.id] = index
        portraits.append(portrait)
    return PortraitCatalogue(
        feature_specs=feature_specs,
        portraits=tuple(portraits),
        sha256=canonical_sha256(raw),
        source_path=source_path,
    )


def _is_number(value: Any) -> bool:
    # bool is an int subclass in Python, but `true` in a prototype is always a typo.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _parse_feature_specs(raw_features: Any) -> tuple[FeatureSpec, ...]:
    if not isinstance(raw_features, dict) or not raw_features:
        raise PortraitSchemaError("catalogue: 'features' must be a non-empty object of feature specs")
    specs = []
    for name, raw_spec in raw_features.items():
        where = f"feature '{name}'"
        if not IDENTIFIER_PATTERN.match(name):
            raise PortraitSchemaError(f"{where}: name must be snake_case")
        if name in ("client_id", "id"):
            raise PortraitSchemaError(f"{where}: name is reserved for the client identifier")
        if not isinstance(raw_spec, dict):
            raise PortraitSchemaError(f"{where}: spec must be an object")
        unknown = set(raw_spec) - FEATURE_SPEC_KEYS
        if unknown:
            raise PortraitSchemaError(f"{where}: unknown field(s) {sorted(unknown)}")
        kind = raw_spec.get("kind")
        if kind not in FEATURE_KINDS:
            raise PortraitSchemaError(f"{where}: kind must be one of {list(FEATURE_KINDS)}, got {kind!r}")
        scale = raw_spec.get("scale", "linear")
        if scale not in FEATURE_SCALES:
            raise PortraitSchemaError(f"{where}: scale must be one of {list(FEATURE_SCALES)}, got {scale!r}")
        low, high = raw_spec.get("min"), raw_spec.get("max")
        if not _is_number(low) or not _is_number(high) or not low < high:
            raise PortraitSchemaError(f"{where}: min and max must be numbers with min < max")
        if kind == "share" and (low < 0 or high > 1):
            raise PortraitSchemaError(f"{where}: a share must have 0 <= min < max <= 1")
        if scale == "log" and low <= 0:
            raise PortraitSchemaError(f"{where}: min must be > 0 for a log-scale feature")
        spread = raw_spec.get("spread", DEFAULT_LOG_SPREAD if scale == "log" else None)
        if not _is_number(spread) or spread <= 0:
            raise PortraitSchemaError(
                f"{where}: spread must be a number > 0 (a linear feature's typical variation in its units, "
                "a log feature's as the standard deviation of its logarithm)"
            )
        desc = raw_spec.get("desc", "")
        if not isinstance(desc, str):
            raise PortraitSchemaError(f"{where}: desc must be a string")
        specs.append(
            FeatureSpec(
                name=name,
                desc=desc,
                kind=kind,
                scale=scale,
                min=float(low),
                max=float(high),
                spread=float(spread),
            )
        )
    return tuple(specs)


def _parse_portrait(raw: Any, index: int, feature_specs: tuple[FeatureSpec, ...]) -> Portrait:
    if not isinstance(raw, dict):
        raise PortraitSchemaError(f"portrait #{index}: must be an object")
    portrait_id = raw.get("id")
    if not isinstance(portrait_id, str) or not IDENTIFIER_PATTERN.match(portrait_id):
        raise PortraitSchemaError(f"portrait #{index}: id must be a non-empty snake_case string")
    where = f"portrait '{portrait_id}'"
    if portrait_id == UNASSIGNED:
        raise PortraitSchemaError(
            f"{where}: id '{UNASSIGNED}' is reserved for clients far from every portrait"
        )
    unknown = set(raw) - PORTRAIT_KEYS
    if unknown:
        raise PortraitSchemaError(f"{where}: unknown field(s) {sorted(unknown)}")
    for text_field in REQUIRED_PORTRAIT_TEXT_FIELDS:
        value = raw.get(text_field)
        if not isinstance(value, str) or not value.strip():
            raise PortraitSchemaError(f"{where}: {text_field} must be a non-empty string")

    raw_prototype = raw.get("prototype")
    if not isinstance(raw_prototype, dict):
        raise PortraitSchemaError(f"{where}: prototype must be an object of feature values")
    feature_names = [spec.name for spec in feature_specs]
    undeclared = [name for name in raw_prototype if name not in feature_names]
    if undeclared:
        raise PortraitSchemaError(
            f"{where}: prototype.{undeclared[0]} is not a declared feature "
            "(every portrait must have the same feature set as 'features')"
        )
    prototype: dict[str, float] = {}
    for spec in feature_specs:
        if spec.name not in raw_prototype:
            raise PortraitSchemaError(
                f"{where}: prototype.{spec.name} is missing (every portrait must define every feature)"
            )
        value = raw_prototype[spec.name]
        if not _is_number(value) or not spec.min <= value <= spec.max:
            raise PortraitSchemaError(
                f"{where}: prototype.{spec.name} must be a number in [{spec.min:g}, {spec.max:g}], "
                f"got {value!r}"
            )
        prototype[spec.name] = float(value)

    raw_weights = raw.get("weights", {})
    if not isinstance(raw_weights, dict):
        raise PortraitSchemaError(f"{where}: weights must be an object of feature weights")
    weights: dict[str, float] = {}
    for name, weight in raw_weights.items():
        if name not in feature_names:
            raise PortraitSchemaError(f"{where}: weights.{name} is not a declared feature")
        if not _is_number(weight) or weight <= 0:
            raise PortraitSchemaError(f"{where}: weights.{name} must be a number > 0, got {weight!r}")
        weights[name] = float(weight)

    return Portrait(
        id=portrait_id,
        name=raw["name"].strip(),
        desc=raw["desc"].strip(),
        advice=raw["advice"].strip(),
        prototype=prototype,
        weights=weights,
    )
