"""Fuel-station clients (a share of the bank's clients) and their visits, drawn around the portraits.

Each station client is a bank client (same ``client_id``) whose features are drawn from a portrait of
``include/portraits.json`` with noise, or, for a share of outliers, from no portrait at all
(``portraits.generate``). Only static attributes (home station, distance) and individual visits are
exported: the warehouse derives the behavioural features from the visits, as it would from a real
station system. The true portrait is returned separately as ground truth and never exported with a part.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from client_dwh.portraits.catalogue import PortraitCatalogue, load_portraits
from client_dwh.sources.synthetic.ids import WHOLE, IdStride
from client_dwh.sources.synthetic.station_population import generate_station_clients, generate_station_visits

STATION_CLIENT_SHARE = 0.6
OUTLIER_SHARE = 0.05
# Visits cover the month before the anchor date: one month keeps a 100 000-client export at ~0.5 M visits
# while the features derived from them still map with > 99 % accuracy (more months: more rows, ~same accuracy).
VISIT_MONTHS = 1
# The bank's client generator keeps ages in [18, 85]; station ages follow so both tables stay consistent.
MIN_AGE, MAX_AGE = 18, 85
# Visit ids are prefixed with the anchor month (yyyymm * 10^9 + n), so next month's visits do not
# overwrite this month's ones; stays below 2^53, exact in JSON.
VISIT_ID_MONTH_FACTOR = 10**9
STATION_VISIT_COLUMNS = (
    "visit_id",
    "client_id",
    "station_id",
    "visited_at",
    "amount",
    "fuel_grade",
    "bought_coffee",
    "paid_with_app",
)


@dataclass(frozen=True)
class StationSystem:
    clients: pd.DataFrame  # the bank's clients, birth dates of station clients matching their age
    station_clients: pd.DataFrame  # client_id, home_station_id, distance_km, card_issued_at
    station_visits: pd.DataFrame  # STATION_VISIT_COLUMNS
    ground_truth: pd.DataFrame  # client_id, true_portrait_id (a portrait id or "unassigned")


def generate_station_system(
    clients: pd.DataFrame,
    rng: np.random.Generator,
    anchor: dt.date,
    catalogue: PortraitCatalogue | None = None,
    visit_ids: IdStride = WHOLE,
) -> StationSystem:
    """Pick ~60 % of ``clients`` as station clients; visits fall in the month before ``anchor``."""
    catalogue = catalogue or load_portraits()
    is_station_client = rng.random(len(clients)) < STATION_CLIENT_SHARE
    client_ids = clients["client_id"].to_numpy(dtype=np.int64)[is_station_client]
    seeds = rng.integers(0, 2**31, size=2)
    features, truth = generate_station_clients(
        len(client_ids), int(seeds[0]), catalogue, outlier_share=OUTLIER_SHARE, client_ids=client_ids
    )
    features["age"] = np.clip(features["age"].to_numpy(), MIN_AGE, MAX_AGE)

    visits = generate_station_visits(features, int(seeds[1]), anchor, months=VISIT_MONTHS)
    month_prefix = (anchor.year * 100 + anchor.month) * VISIT_ID_MONTH_FACTOR
    visits["visit_id"] = month_prefix + visit_ids.ids(1, len(visits))
    if len(visits) and visits["visit_id"].iloc[-1] - month_prefix >= VISIT_ID_MONTH_FACTOR:
        raise ValueError("too many station visits in one month for the visit id scheme")
    visits = visits[list(STATION_VISIT_COLUMNS)]

    # The station a client visits most is their home station (ties: the lower id).
    per_station = visits.groupby(["client_id", "station_id"], sort=True).size().rename("n").reset_index()
    home = per_station.sort_values(["client_id", "n"], ascending=[True, False], kind="stable")
    home = home.drop_duplicates("client_id").set_index("client_id")["station_id"]
    card_issued = pd.Timestamp(anchor) - pd.to_timedelta(rng.integers(40, 365 * 5, len(client_ids)), unit="D")
    station_clients = pd.DataFrame(
        {
            "client_id": client_ids,
            "home_station_id": home.reindex(client_ids).to_numpy(dtype=np.int64),
            "distance_km": features["distance_km"].to_numpy(),
            "card_issued_at": card_issued.strftime("%Y-%m-%d"),
        }
    )

    # Birth dates consistent with the drawn age at the anchor: the birthday passed 15-350 days earlier, so
    # the age the warehouse computes at the end of the visit window (the anchor, or a few days before on
    # tiny data sets) is exactly the drawn age.
    ages = features["age"].to_numpy(dtype=np.int64)
    birthday_this_year = pd.to_datetime(
        pd.DataFrame({"year": anchor.year - ages, "month": anchor.month, "day": min(anchor.day, 28)})
    )
    birth_date = birthday_this_year - pd.to_timedelta(rng.integers(15, 350, len(ages)), unit="D")
    clients = clients.copy()
    clients.loc[is_station_client, "birth_date"] = birth_date.dt.strftime("%Y-%m-%d").to_numpy()
    return StationSystem(clients, station_clients, visits, truth)
