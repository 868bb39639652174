"""The synthetic partner interactions speak of the portraits of include/portraits.json and no others."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from client_dwh.portraits.catalogue import load_portraits
from client_dwh.sources.synthetic.partners import bank_client_profiles, generate_partner_services
from client_dwh.sources.synthetic.service_tastes import (
    COFFEE_PRONE,
    CREDIT_PRONE,
    PORTRAIT_TASTES,
    THEMES,
    generate_portrait_clients,
)


def test_every_catalogue_portrait_has_one_taste_and_no_taste_is_of_an_unknown_portrait():
    ids = load_portraits().ids
    assert sorted(PORTRAIT_TASTES) == sorted(ids)
    assert set(CREDIT_PRONE) <= set(ids) and set(COFFEE_PRONE) <= set(ids)
    assert sum(taste.share for taste in PORTRAIT_TASTES.values()) == pytest.approx(1.0)


def test_tastes_name_only_real_categories_and_themes():
    categories = set(generate_partner_services()["partner_category"])
    for portrait, taste in PORTRAIT_TASTES.items():
        assert set(taste.categories) <= categories, portrait
        assert set(taste.themes) <= set(THEMES), portrait


def test_generated_clients_carry_catalogue_portraits_only():
    ids = set(load_portraits().ids)
    assert set(generate_portrait_clients(2_000, seed=1)["portrait_id"]) == ids
    clients = pd.DataFrame(
        {
            "client_id": [1, 2, 3, 4, 5, 6],
            "birth_date": [
                "2001-05-01",
                "1990-01-01",
                "1958-03-03",
                "1980-07-07",
                "1975-02-02",
                "1999-09-09",
            ],
            "income": [60_000, 90_000, 40_000, 300_000, 70_000, 50_000],
        }
    )
    loans = pd.DataFrame({"client_id": [2, 4]})
    usage = pd.DataFrame({"client_id": [1, 2, 2], "product_id": ["A", "A", "B"]})
    profiles = bank_client_profiles(clients, loans, usage, np.random.default_rng(0), dt.date(2026, 11, 20))
    assert set(profiles["portrait_id"]) <= ids
