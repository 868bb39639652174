"""Bank clients with gender-consistent Russian names (Faker ru_RU pools sampled with numpy)."""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import pandas as pd

REGIONS = (
    "Москва", "Санкт-Петербург", "Московская область", "Краснодарский край", "Свердловская область",
    "Республика Татарстан", "Новосибирская область", "Нижегородская область", "Самарская область",
    "Ростовская область", "Челябинская область", "Пермский край", "Красноярский край", "Воронежская область",
)  # fmt: skip
REGION_WEIGHTS = np.array([18, 9, 8, 6, 5, 5, 4, 4, 4, 4, 4, 3, 3, 3], dtype=float)
EDUCATION = ("среднее", "среднее специальное", "неоконченное высшее", "высшее", "учёная степень")
EDUCATION_WEIGHTS = np.array([0.12, 0.33, 0.08, 0.44, 0.03])
EMPLOYMENT = ("наёмный работник", "госслужащий", "предприниматель", "самозанятый", "пенсионер", "студент")
MIN_INCOME, MAX_INCOME = 30_000, 500_000


@functools.cache
def _name_pools():
    from faker import Faker

    person = Faker("ru_RU").provider("faker.providers.person")
    return {
        "M": (person.first_names_male, person.middle_names_male, person.last_names_male),
        "F": (person.first_names_female, person.middle_names_female, person.last_names_female),
    }


def generate_clients(
    n_clients: int, rng: np.random.Generator, as_of: dt.date, first_id: int = 1
) -> pd.DataFrame:
    """One row per client (ids ``first_id`` on); income and employment depend on age and education, as they
    do in life."""
    client_id = np.arange(first_id, first_id + n_clients)
    gender = np.where(rng.random(n_clients) < 0.47, "M", "F")
    first, middle, last = (np.empty(n_clients, dtype=object) for _ in range(3))
    for sex, (firsts, middles, lasts) in _name_pools().items():
        mask = gender == sex
        count = int(mask.sum())
        first[mask] = np.asarray(firsts, dtype=object)[rng.integers(0, len(firsts), count)]
        middle[mask] = np.asarray(middles, dtype=object)[rng.integers(0, len(middles), count)]
        last[mask] = np.asarray(lasts, dtype=object)[rng.integers(0, len(lasts), count)]

    age = np.clip(rng.normal(41, 13, n_clients), 18, 85).astype(int)
    birth_date = pd.to_datetime(as_of) - pd.to_timedelta(
        age * 365.25 + rng.integers(0, 365, n_clients), unit="D"
    )
    education_idx = rng.choice(len(EDUCATION), n_clients, p=EDUCATION_WEIGHTS)
    employment = np.where(
        age >= 63,
        "пенсионер",
        np.where(age < 23, rng.choice(["студент", "наёмный работник"], n_clients, p=[0.6, 0.4]),
                 rng.choice(EMPLOYMENT[:4], n_clients, p=[0.62, 0.13, 0.1, 0.15])),
    )  # fmt: skip
    # Income grows with education and peaks mid-career; a log-normal keeps the long right tail.
    log_income = (
        np.log(55_000)
        + 0.18 * education_idx
        + 0.25 * np.exp(-(((age - 45) / 15) ** 2))
        - 0.35 * (employment == "пенсионер")
        - 0.3 * (employment == "студент")
        + rng.normal(0, 0.45, n_clients)
    )
    income = (np.clip(np.exp(log_income), MIN_INCOME, MAX_INCOME) // 100 * 100).astype(int)
    phone = np.array([f"+79{x:09d}" for x in rng.integers(0, 10**9, n_clients)], dtype=object)
    region = np.asarray(REGIONS, dtype=object)[
        rng.choice(len(REGIONS), n_clients, p=REGION_WEIGHTS / REGION_WEIGHTS.sum())
    ]
    registered = pd.to_datetime(as_of) - pd.to_timedelta(rng.integers(60, 365 * 8, n_clients), unit="D")
    return pd.DataFrame(
        {
            "client_id": client_id,
            "last_name": last,
            "first_name": first,
            "middle_name": middle,
            "full_name": last + " " + first + " " + middle,
            "gender": gender,
            "birth_date": birth_date.strftime("%Y-%m-%d"),
            "region": region,
            "education": np.asarray(EDUCATION, dtype=object)[education_idx],
            "employment": employment,
            "income": income,
            "phone": phone,
            "registered_at": registered.strftime("%Y-%m-%d"),
        }
    )


def change_some_clients(clients: pd.DataFrame, share: float, rng: np.random.Generator) -> pd.DataFrame:
    """Return updated versions of a random share of clients (new income, region or phone), as a CRM would."""
    picked = clients.sample(frac=share, random_state=rng.integers(0, 2**31)).copy()
    if picked.empty:
        return picked
    n = len(picked)
    what = rng.integers(0, 3, n)
    new_income = (
        np.clip(picked["income"].to_numpy() * rng.uniform(0.9, 1.35, n), MIN_INCOME, MAX_INCOME) // 100 * 100
    )
    picked["income"] = np.where(what == 0, new_income.astype(int), picked["income"])
    new_region = np.asarray(REGIONS, dtype=object)[rng.integers(0, len(REGIONS), n)]
    picked["region"] = np.where(what == 1, new_region, picked["region"])
    new_phone = np.array([f"+79{x:09d}" for x in rng.integers(0, 10**9, n)], dtype=object)
    picked["phone"] = np.where(what == 2, new_phone, picked["phone"])
    return picked
