"""Station clients for the portrait tests, drawn the way an analyst describes them, not as our generator does.

Deliberately independent of ``client_dwh.sources.synthetic`` (and of the mapper's model space): it reads
``portraits.json`` as plain JSON and applies noise in the units a user thinks in, so the mapping is never
tuned to the project's own generator.

* ``noise`` 0.2 means: every amount, count, distance and age is the prototype's value times
  ``1 + 0.2 * N(0, 1)`` (about +-20 %), and every share is the prototype's share plus ``0.2 * N(0, 1)``
  percentage points (+-20 p.p.), clipped to the declared range; integers are rounded.
* Outliers resemble no portrait: amounts, counts and distances log-uniform and shares uniform over the
  declared ranges, kept only when, for every portrait, at least ``FAR_FEATURES`` features are far from its
  prototype (a ratio beyond ``FAR_RATIO`` either way, or a share more than ``FAR_SHARE`` away).
* ``flags``: the named shares exported as 0/1 flags (the majority of visits), as the original Streamlit
  prototype did for the app and coffee.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

CATALOGUE_PATH = Path(__file__).resolve().parents[1] / "include" / "portraits.json"
FAR_FEATURES = 3
FAR_RATIO = 2.5
FAR_SHARE = 0.5
OUTLIER = "unassigned"
FLAG_FEATURES = ("uses_app", "prefers_coffee")


def read_catalogue(path: Path = CATALOGUE_PATH) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def draw_clients(
    n_clients: int,
    noise: float,
    seed: int,
    *,
    outlier_share: float = 0.05,
    portrait: str | None = None,
    flags: tuple[str, ...] = (),
    catalogue: dict | None = None,
) -> pd.DataFrame:
    """``client_id``, every feature, and ``true_portrait`` (``unassigned`` for the outliers).

    ``portrait`` draws every non-outlier client around that one portrait (a taxi fleet's export).
    """
    catalogue = catalogue or read_catalogue()
    specs = catalogue["features"]
    portraits = catalogue["portraits"]
    rng = np.random.default_rng(seed)
    n_outliers = round(outlier_share * n_clients)
    n_portrait = n_clients - n_outliers
    if portrait is None:
        chosen = rng.integers(0, len(portraits), size=n_portrait)
    else:
        chosen = np.full(n_portrait, [p["id"] for p in portraits].index(portrait))
    columns: dict[str, np.ndarray] = {}
    for name, spec in specs.items():
        centre = np.array([p["prototype"][name] for p in portraits], dtype=float)[chosen]
        if spec["kind"] == "share":
            values = centre + noise * rng.standard_normal(n_portrait)
        else:
            values = centre * (1 + noise * rng.standard_normal(n_portrait))
        columns[name] = np.clip(values, spec["min"], spec["max"])
    clients = pd.DataFrame(columns)
    clients["true_portrait"] = [portraits[i]["id"] for i in chosen]
    if n_outliers:
        outliers = _draw_outliers(n_outliers, rng, specs, portraits)
        outliers["true_portrait"] = OUTLIER
        clients = pd.concat([clients, outliers], ignore_index=True)
    clients = clients.iloc[rng.permutation(len(clients))].reset_index(drop=True)
    for name, spec in specs.items():
        if name in flags:
            clients[name] = (clients[name] >= 0.5).astype(int)
        elif spec["kind"] == "integer":
            clients[name] = clients[name].round().astype(int)
        else:
            clients[name] = clients[name].round(3)
    clients.insert(0, "client_id", [f"c{number:06d}" for number in range(1, len(clients) + 1)])
    return clients


def _draw_outliers(n_outliers: int, rng: np.random.Generator, specs: dict, portraits: list) -> pd.DataFrame:
    names = list(specs)
    is_share = np.array([specs[name]["kind"] == "share" for name in names])
    low = np.array([specs[name]["min"] for name in names], dtype=float)
    high = np.array([specs[name]["max"] for name in names], dtype=float)
    prototypes = np.array([[p["prototype"][name] for name in names] for p in portraits], dtype=float)
    accepted: list[np.ndarray] = []
    while sum(len(batch) for batch in accepted) < n_outliers:
        uniform = rng.uniform(size=(4 * n_outliers + 16, len(names)))
        log_low, log_high = np.log(np.maximum(low, 1e-9)), np.log(high)
        candidates = np.where(
            is_share, low + uniform * (high - low), np.exp(log_low + uniform * (log_high - log_low))
        )
        ratio = np.maximum(candidates[:, None, :], 1e-9) / np.maximum(prototypes[None, :, :], 1e-9)
        far = np.where(
            is_share,
            np.abs(candidates[:, None, :] - prototypes[None, :, :]) > FAR_SHARE,
            (ratio > FAR_RATIO) | (ratio < 1 / FAR_RATIO),
        )
        far_from_every_portrait = (far.sum(axis=2) >= FAR_FEATURES).all(axis=1)
        accepted.append(candidates[far_from_every_portrait])
    return pd.DataFrame(np.concatenate(accepted)[:n_outliers], columns=names)
