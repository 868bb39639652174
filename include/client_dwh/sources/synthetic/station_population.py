"""Synthetic fuel-station clients with known portraits, and visit logs consistent with them.

Real client portraits are unknown, so the mapping can only be measured on data whose truth we planted:
clients are drawn around a randomly chosen prototype, plus a share of "outliers" that resemble no portrait
and should end up ``unassigned``. The visit generator turns client features into individual visits so the
warehouse can derive the behavioural features in SQL and be checked against ``features_from_visits``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from client_dwh.portraits.catalogue import UNASSIGNED, PortraitCatalogue

DEFAULT_NOISE = 0.15
# Outliers must be at least this many reference noise standard deviations (Euclidean, in model space) away
# from every prototype; portrait-drawn clients are closer than ~4.5 such units 99.9 % of the time.
OUTLIER_MIN_NOISE_DISTANCE = 6.0
MAX_OUTLIER_DRAW_ROUNDS = 50

DECIMALS_BY_KIND = {"share": 3, "number": 2}

# Visit model constants: the assumptions behind the synthetic visit log.
NIGHT_HOURS = np.array([22, 23, 0, 1, 2, 3, 4, 5])
DAY_HOURS = np.arange(6, 22)
HOME_STATION_SHARE = 0.8
AMOUNT_LOG_SD = 0.35
COFFEE_PRICE_RUB = 250.0
PREMIUM_FUEL_GRADE = "AI-100"
REGULAR_FUEL_GRADES = np.array(["AI-92", "AI-95"])
PRICE_PER_LITRE_RUB = {"AI-92": 57.0, "AI-95": 62.0, "AI-100": 78.0}
DAYS_PER_MONTH = 30.4375
BEHAVIOURAL_FEATURES = (
    "avg_check",
    "visits_per_month",
    "uses_app",
    "prefers_coffee",
    "night_share",
    "premium_fuel_share",
)


def noise_sd_in_model_space(catalogue: PortraitCatalogue, noise: float) -> np.ndarray:
    """Per-feature standard deviation of the generator noise in model space.

    Log-scale features get relative noise (sd ``noise`` of the logarithm); linear features get absolute
    noise ``noise * spread`` (e.g. 0.15 * 40 years = 6 years of age).
    """
    return np.array(
        [noise if spec.scale == "log" else noise * spec.spread for spec in catalogue.feature_specs]
    )


def generate_station_clients(
    n_clients: int,
    seed: int,
    catalogue: PortraitCatalogue,
    *,
    noise: float = DEFAULT_NOISE,
    outlier_share: float = 0.05,
    client_ids: np.ndarray | None = None,
    portrait_shares: Sequence[float] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(features, truth)``: one row per client with every catalogue feature, and its true portrait.

    A share ``outlier_share`` of clients is drawn uniformly over the plausible feature ranges (log-uniform
    for log-scale features) and kept only if it is far from every prototype; their truth is ``unassigned``.
    ``portrait_shares`` (in catalogue order, normalised to sum 1) skews the mix; by default it is uniform.
    """
    if n_clients < 0:
        raise ValueError("n_clients must be >= 0")
    if noise < 0:
        raise ValueError("noise must be >= 0")
    if not 0 <= outlier_share <= 1:
        raise ValueError("outlier_share must be within [0, 1]")
    if client_ids is None:
        ids = np.arange(1, n_clients + 1, dtype=np.int64)
    else:
        ids = np.asarray(client_ids, dtype=np.int64)
        if ids.shape != (n_clients,):
            raise ValueError(f"client_ids must have exactly n_clients={n_clients} elements")
        if len(np.unique(ids)) != n_clients:
            raise ValueError("client_ids must be unique")

    rng = np.random.default_rng(seed)
    n_outliers = round(outlier_share * n_clients)
    is_outlier = np.zeros(n_clients, dtype=bool)
    is_outlier[rng.permutation(n_clients)[:n_outliers]] = True

    prototype_points = catalogue.to_model_space(catalogue.prototypes)
    portrait_index = rng.choice(
        len(catalogue.ids), size=n_clients, p=_portrait_probabilities(catalogue, portrait_shares)
    )
    noise_sd = noise_sd_in_model_space(catalogue, noise)
    model_values = (
        prototype_points[portrait_index]
        + rng.standard_normal((n_clients, len(catalogue.features))) * noise_sd
    )
    model_values[is_outlier] = _draw_outliers(n_outliers, rng, catalogue, prototype_points)

    features = _to_plausible_values(catalogue.from_model_space(model_values), catalogue)
    true_portrait = np.asarray(catalogue.ids, dtype=object)[portrait_index]
    true_portrait[is_outlier] = UNASSIGNED
    truth = pd.DataFrame({"client_id": ids, "true_portrait_id": true_portrait})
    return pd.DataFrame({"client_id": ids, **features}), truth


def _portrait_probabilities(
    catalogue: PortraitCatalogue, portrait_shares: Sequence[float] | None
) -> np.ndarray:
    if portrait_shares is None:
        return np.full(len(catalogue.ids), 1 / len(catalogue.ids))
    shares = np.asarray(portrait_shares, dtype=float)
    if shares.shape != (len(catalogue.ids),) or (shares < 0).any() or shares.sum() <= 0:
        raise ValueError(
            f"portrait_shares must be {len(catalogue.ids)} non-negative numbers with a positive sum"
        )
    return shares / shares.sum()


def _draw_outliers(
    n_outliers: int, rng: np.random.Generator, catalogue: PortraitCatalogue, prototype_points: np.ndarray
) -> np.ndarray:
    if n_outliers == 0:
        return np.empty((0, len(catalogue.features)))
    low = catalogue.to_model_space(np.array([[spec.min for spec in catalogue.feature_specs]]))[0]
    high = catalogue.to_model_space(np.array([[spec.max for spec in catalogue.feature_specs]]))[0]
    # Distance is measured in reference-noise units, independent of the requested noise, so "far from
    # every portrait" means the same thing whatever noise level a test asks for.
    reference_sd = noise_sd_in_model_space(catalogue, DEFAULT_NOISE)
    accepted: list[np.ndarray] = []
    n_accepted = 0
    for _ in range(MAX_OUTLIER_DRAW_ROUNDS):
        batch = rng.uniform(low, high, size=(2 * (n_outliers - n_accepted) + 16, len(low)))
        squared = (((batch[:, None, :] - prototype_points[None, :, :]) / reference_sd) ** 2).sum(axis=2)
        far_enough = batch[squared.min(axis=1) >= OUTLIER_MIN_NOISE_DISTANCE**2]
        accepted.append(far_enough)
        n_accepted += len(far_enough)
        if n_accepted >= n_outliers:
            return np.concatenate(accepted)[:n_outliers]
    raise RuntimeError("could not draw enough outliers far from every portrait; are the feature ranges tiny?")


def _to_plausible_values(values: np.ndarray, catalogue: PortraitCatalogue) -> dict[str, np.ndarray]:
    columns: dict[str, np.ndarray] = {}
    for column, spec in enumerate(catalogue.feature_specs):
        clipped = np.clip(values[:, column], spec.min, spec.max)
        if spec.kind == "integer":
            # Rounding may step just outside a fractional bound, hence the integer-valued clip afterwards.
            columns[spec.name] = np.clip(np.rint(clipped), np.ceil(spec.min), np.floor(spec.max)).astype(
                np.int64
            )
        else:
            columns[spec.name] = np.clip(np.round(clipped, DECIMALS_BY_KIND[spec.kind]), spec.min, spec.max)
    return columns


def _random_rank_within_client(visit_client: np.ndarray, visit_counts: np.ndarray, rng) -> np.ndarray:
    """A random permutation 0..count-1 of each client's visits (visits are grouped by client)."""
    order = np.lexsort((rng.random(len(visit_client)), visit_client))
    group_start = np.cumsum(visit_counts) - visit_counts
    rank = np.empty(len(visit_client), dtype=np.int64)
    rank[order] = np.arange(len(visit_client)) - group_start[visit_client[order]]
    return rank


def generate_station_visits(
    clients_features: pd.DataFrame,
    seed: int,
    as_of: dt.date,
    months: int = 3,
    *,
    n_stations: int = 40,
) -> pd.DataFrame:
    """Individual visits in the ``months`` before ``as_of`` (exclusive), consistent with client features.

    Each client gets exactly ``visits_per_month * months`` visits whose mean amount equals ``avg_check``
    (to the kopeck) and in which the share of app payments, coffee purchases, night visits and premium fuel
    equals the feature rounded to whole visits. Most visits are at the client's home station.
    """
    if months < 1:
        raise ValueError("months must be >= 1")
    rng = np.random.default_rng(seed)
    client_ids = clients_features["client_id"].to_numpy(dtype=np.int64)
    n_clients = len(client_ids)
    visit_counts = np.rint(clients_features["visits_per_month"].to_numpy(dtype=float) * months)
    visit_counts = np.maximum(visit_counts, 0).astype(np.int64)
    visit_client = np.repeat(np.arange(n_clients), visit_counts)
    n_visits = len(visit_client)
    counts_per_visit = visit_counts[visit_client]

    # One random permutation per client; each flag takes a cyclic window of it at an independent random
    # offset, which gives exact per-client shares without a costly sort per flag.
    rank = _random_rank_within_client(visit_client, visit_counts, rng)

    def flag_visits(share_column: str) -> np.ndarray:
        share = (
            clients_features[share_column].to_numpy(dtype=float) if share_column in clients_features else 0
        )
        flagged_per_client = np.rint(np.asarray(share) * visit_counts).astype(np.int64)
        offset = rng.integers(0, np.maximum(visit_counts, 1))
        return (rank + offset[visit_client]) % np.maximum(counts_per_visit, 1) < flagged_per_client[
            visit_client
        ]

    paid_with_app = flag_visits("uses_app")
    bought_coffee = flag_visits("prefers_coffee")
    at_night = flag_visits("night_share")
    premium_fuel = flag_visits("premium_fuel_share")

    amount_factor = rng.lognormal(0.0, AMOUNT_LOG_SD, n_visits)
    mean_factor = np.bincount(visit_client, weights=amount_factor, minlength=n_clients) / np.maximum(
        visit_counts, 1
    )
    avg_check = clients_features["avg_check"].to_numpy(dtype=float)
    amount = np.round(avg_check[visit_client] * amount_factor / mean_factor[visit_client], 2)

    fuel_grade = np.where(
        premium_fuel, PREMIUM_FUEL_GRADE, REGULAR_FUEL_GRADES[rng.integers(0, 2, size=n_visits)]
    )
    price_per_litre = np.select(
        [fuel_grade == grade for grade in PRICE_PER_LITRE_RUB], list(PRICE_PER_LITRE_RUB.values())
    )
    fuel_money = np.maximum(amount - COFFEE_PRICE_RUB * bought_coffee, 0.0)
    fuel_litres = np.round(fuel_money / price_per_litre, 2)

    home_station = rng.integers(1, n_stations + 1, size=n_clients)
    station_id = np.where(
        rng.random(n_visits) < HOME_STATION_SHARE,
        home_station[visit_client],
        rng.integers(1, n_stations + 1, size=n_visits),
    )

    window_days = round(months * DAYS_PER_MONTH)
    first_day = np.datetime64(as_of, "D") - np.timedelta64(window_days, "D")
    day = first_day + rng.integers(0, window_days, size=n_visits).astype("timedelta64[D]")
    hour = np.where(
        at_night,
        NIGHT_HOURS[rng.integers(0, len(NIGHT_HOURS), size=n_visits)],
        DAY_HOURS[rng.integers(0, len(DAY_HOURS), size=n_visits)],
    )
    seconds_into_hour = rng.integers(0, 3600, size=n_visits)
    visited_at = day.astype("datetime64[s]") + (hour * 3600 + seconds_into_hour).astype("timedelta64[s]")
    # Chronological order per client reads naturally and makes visit_id increase with time.
    order = np.lexsort((visited_at, visit_client))
    return pd.DataFrame(
        {
            "visit_id": np.arange(1, n_visits + 1, dtype=np.int64),
            "client_id": client_ids[visit_client[order]],
            "station_id": station_id[order].astype(np.int64),
            "visited_at": np.datetime_as_string(visited_at[order], unit="s"),
            "amount": amount[order],
            "fuel_grade": fuel_grade[order],
            "fuel_litres": fuel_litres[order],
            "bought_coffee": bought_coffee[order],
            "paid_with_app": paid_with_app[order],
        }
    )


def features_from_visits(
    visits_df: pd.DataFrame, clients_df_with_age_and_distance: pd.DataFrame, *, months: int = 3
) -> pd.DataFrame:
    """Recompute client features from visits; age and distance are not observable in visits, so they come
    from the client table. Clients without visits get zero behaviour (mapping raises zeros to the minimum).

    The same definitions belong in the warehouse SQL: night is 22:00-05:59, premium is ``AI-100``.
    """
    visited_at = visits_df["visited_at"]
    if not pd.api.types.is_datetime64_any_dtype(visited_at):
        visited_at = pd.to_datetime(visited_at, format="ISO8601")
    hour = visited_at.dt.hour
    per_visit = pd.DataFrame(
        {
            "client_id": visits_df["client_id"].to_numpy(),
            "amount": visits_df["amount"].to_numpy(dtype=float),
            "paid_with_app": visits_df["paid_with_app"].to_numpy(dtype=float),
            "bought_coffee": visits_df["bought_coffee"].to_numpy(dtype=float),
            "at_night": ((hour >= 22) | (hour < 6)).to_numpy(dtype=float),
            "premium_fuel": (visits_df["fuel_grade"] == PREMIUM_FUEL_GRADE).to_numpy(dtype=float),
        }
    )
    aggregated = per_visit.groupby("client_id", sort=False).agg(
        n_visits=("amount", "size"),
        avg_check=("amount", "mean"),
        uses_app=("paid_with_app", "mean"),
        prefers_coffee=("bought_coffee", "mean"),
        night_share=("at_night", "mean"),
        premium_fuel_share=("premium_fuel", "mean"),
    )
    aggregated["visits_per_month"] = aggregated.pop("n_visits") / months
    clients = clients_df_with_age_and_distance[["client_id", "age", "distance_km"]]
    result = clients.merge(aggregated, left_on="client_id", right_index=True, how="left")
    result[list(BEHAVIOURAL_FEATURES)] = result[list(BEHAVIOURAL_FEATURES)].fillna(0.0)
    result["avg_check"] = result["avg_check"].round(2)
    for share in ("uses_app", "prefers_coffee", "night_share", "premium_fuel_share"):
        result[share] = result[share].round(3)
    return result[
        [
            "client_id",
            "age",
            "avg_check",
            "visits_per_month",
            "distance_km",
            "uses_app",
            "prefers_coffee",
            "night_share",
            "premium_fuel_share",
        ]
    ].reset_index(drop=True)
