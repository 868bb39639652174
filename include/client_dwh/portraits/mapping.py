"""Map clients to the nearest portrait prototype, or to ``unassigned`` when no portrait fits.

Clustering first and naming clusters afterwards (the seed project's approach, see ``quality``) cannot say
"this client is like nobody" and drifts when the client mix changes; comparing each client directly with
the hand-written prototypes keeps the portraits stable and explainable.

Model space: log-scale features are log-transformed (see ``PortraitCatalogue.to_model_space``) and every
feature is divided by its declared ``spread`` (``PortraitCatalogue.reference_scale``), the typical variation
within one portrait. That unit is fixed by the catalogue and saved with the model, never fitted on the
clients being mapped, so a client's portrait does not depend on who else is in the file or the warehouse (a
file of one taxi fleet, or of five rows, is mapped exactly like a mixed population). The distance from a
client ``z`` to portrait ``p`` is the weighted root-mean-square difference
``sqrt(sum_f w_pf * (z_f - p_f) ** 2 / sum_f w_pf)`` with the portrait's own feature weights, in those
units: 1.0 means "one typical spread away on an average feature" (see ``threshold``).

``confidence`` is the relative margin between the nearest and the second-nearest portrait,
``1 - d_nearest / d_second`` in [0, 1]: 1 for a client exactly on a prototype, 0 for a client equally far
from two portraits. Unassigned clients get confidence 0 because no portrait was asserted.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from client_dwh.portraits.catalogue import UNASSIGNED, PortraitCatalogue
from client_dwh.portraits.threshold import DEFAULT_THRESHOLD

# Bump when the transform, distance or confidence definition changes: stored assignments and stored scaler
# parameters of another version must not be mixed with this one.
MODEL_VERSION = "portrait-nearest-prototype-2.0"
SCALE_FROM_CATALOGUE_SPREAD = "catalogue_spread"
ASSIGNMENT_COLUMNS = (
    "client_id",
    "portrait_id",
    "distance",
    "confidence",
    "nearest_portrait_id",
    "second_portrait_id",
    "model_version",
    "catalogue_sha256",
)


class PortraitMapper:
    """Nearest-prototype mapper, ready to ``assign`` as built (or restored with ``from_dict``)."""

    def __init__(
        self,
        catalogue: PortraitCatalogue,
        threshold: float = DEFAULT_THRESHOLD,
        *,
        scale: np.ndarray | None = None,
    ) -> None:
        if not threshold > 0:
            raise ValueError("threshold must be > 0")
        self.catalogue = catalogue
        self.threshold = float(threshold)
        self.scale = catalogue.reference_scale if scale is None else np.asarray(scale, dtype=float)
        if self.scale.shape != (len(catalogue.features),) or not (self.scale > 0).all():
            raise ValueError(f"scale must be {len(catalogue.features)} positive numbers, one per feature")
        self.scale_reference = SCALE_FROM_CATALOGUE_SPREAD

    def feature_matrix(self, features_df: pd.DataFrame) -> np.ndarray:
        missing = [name for name in self.catalogue.features if name not in features_df.columns]
        if missing:
            raise ValueError(f"features frame lacks column(s) {missing}")
        values = features_df[list(self.catalogue.features)].to_numpy(dtype=float)
        if not np.isfinite(values).all():
            bad_rows = int((~np.isfinite(values)).any(axis=1).sum())
            raise ValueError(f"{bad_rows} client(s) have missing or non-finite feature values")
        return values

    def scaled(self, features_df: pd.DataFrame) -> np.ndarray:
        """Clients in model space, shape (clients, features)."""
        return self.catalogue.to_model_space(self.feature_matrix(features_df)) / self.scale

    def scaled_prototypes(self) -> np.ndarray:
        return self.catalogue.to_model_space(self.catalogue.prototypes) / self.scale

    def distances_in_model_space(self, scaled_points: np.ndarray) -> np.ndarray:
        """Weighted distances of model-space points to every prototype, shape (points, portraits)."""
        prototypes = self.scaled_prototypes()
        weights = self.catalogue.weights
        squared = np.empty((len(scaled_points), len(prototypes)))
        # One pass per portrait keeps memory at (clients x features), not (clients x portraits x features).
        # A row-wise sum, not a BLAS product: BLAS rounds a row differently with the number of rows, and a
        # client's distance must not depend on who else is mapped with it (the warehouse maps in batches).
        for portrait, (prototype, portrait_weights) in enumerate(zip(prototypes, weights, strict=True)):
            squared[:, portrait] = (
                ((scaled_points - prototype) ** 2) * (portrait_weights / portrait_weights.sum())
            ).sum(axis=1)
        return np.sqrt(squared)

    def assign(self, features_df: pd.DataFrame) -> pd.DataFrame:
        """One row per client with the columns in ``ASSIGNMENT_COLUMNS`` (see module docstring)."""
        if "client_id" not in features_df.columns:
            raise ValueError("features frame lacks column 'client_id'")
        distances = self.distances_in_model_space(self.scaled(features_df))
        rows = np.arange(len(distances))
        two_nearest = np.argpartition(distances, 1, axis=1)[:, :2]
        swap = distances[rows, two_nearest[:, 0]] > distances[rows, two_nearest[:, 1]]
        nearest = np.where(swap, two_nearest[:, 1], two_nearest[:, 0])
        second = np.where(swap, two_nearest[:, 0], two_nearest[:, 1])
        nearest_distance = distances[rows, nearest]
        second_distance = distances[rows, second]

        with np.errstate(divide="ignore", invalid="ignore"):
            margin = np.where(second_distance > 0, 1.0 - nearest_distance / second_distance, 0.0)
        is_assigned = nearest_distance <= self.threshold
        ids = np.asarray(self.catalogue.ids, dtype=object)
        portrait_id = np.where(is_assigned, ids[nearest], UNASSIGNED)
        return pd.DataFrame(
            {
                "client_id": features_df["client_id"].to_numpy(),
                "portrait_id": portrait_id,
                "distance": nearest_distance,
                "confidence": np.clip(np.where(is_assigned, margin, 0.0), 0.0, 1.0),
                "nearest_portrait_id": ids[nearest],
                "second_portrait_id": ids[second],
                "model_version": MODEL_VERSION,
                "catalogue_sha256": self.catalogue.sha256,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable parameters (no pickles: safe to store in XCom or a table)."""
        return {
            "model_version": MODEL_VERSION,
            "catalogue_sha256": self.catalogue.sha256,
            "features": list(self.catalogue.features),
            "log_features": [spec.name for spec in self.catalogue.feature_specs if spec.scale == "log"],
            "threshold": self.threshold,
            "scaler": {"type": self.scale_reference, "scale": self.scale.tolist()},
        }

    @classmethod
    def from_dict(cls, params: dict[str, Any], catalogue: PortraitCatalogue) -> PortraitMapper:
        """Rebuild a stored mapper with its saved scale. Raises ValueError if the parameters belong to another
        model version or feature set. A changed prototype or weight (different ``catalogue_sha256``) is
        allowed: the saved scale still defines the units."""
        if params.get("model_version") != MODEL_VERSION:
            raise ValueError(
                f"stored mapper is version {params.get('model_version')!r}, this code is {MODEL_VERSION!r}"
            )
        log_features = [spec.name for spec in catalogue.feature_specs if spec.scale == "log"]
        if (
            list(params["features"]) != list(catalogue.features)
            or list(params["log_features"]) != log_features
        ):
            raise ValueError("stored mapper was fitted on a different feature set; refit it")
        scaler_params = params["scaler"]
        if scaler_params.get("type") != SCALE_FROM_CATALOGUE_SPREAD:
            raise ValueError(f"unsupported scaler type {scaler_params.get('type')!r}")
        return cls(catalogue, threshold=params["threshold"], scale=np.asarray(scaler_params["scale"]))
