"""The bank's product catalogue and each client's product-usage events (opening, then repeated use).

Holdings follow the client, as in a real bank: every loan in the loans entity shows up as its loan
product (a large long loan of a 25-55-year-old is a mortgage, a mid-sized one a car loan, the rest
consumer loans, so consumer loans go to lower incomes); deposits lean to older and richer clients,
investment accounts to the rich, insurance to mortgage holders, and a credit card is common. How many
products a client holds is drawn so that 1, 2 and 3+ products are each roughly a third of clients.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from client_dwh.sources.synthetic.ids import WHOLE, IdStride

# product_id, name (as the bank's CRM shows it), category
CATALOGUE = (
    ("CREDIT_CARD", "Кредитная карта", "карты"),
    ("DEBIT_CARD", "Дебетовая карта", "карты"),
    ("DEPOSIT_3M", "Вклад на 3 месяца", "вклады"),
    ("DEPOSIT_6M", "Вклад на 6 месяцев", "вклады"),
    ("DEPOSIT_12M", "Вклад на 12 месяцев", "вклады"),
    ("MORTGAGE", "Ипотека", "кредиты"),
    ("CAR_LOAN", "Автокредит", "кредиты"),
    ("CONSUMER_LOAN", "Потребительский кредит", "кредиты"),
    ("LIFE_INSURANCE", "Страхование жизни", "страхование"),
    ("PROPERTY_INSURANCE", "Страхование имущества", "страхование"),
    ("INVESTMENT_ACCOUNT", "Инвестиционный счёт", "инвестиции"),
)
PRODUCT_IDS = np.array([p[0] for p in CATALOGUE], dtype=object)
LOAN_PRODUCTS = ("MORTGAGE", "CAR_LOAN", "CONSUMER_LOAN")
# Products a client may hold besides the loans the loans entity already gives them.
OPTIONAL_PRODUCTS = np.array([p for p in PRODUCT_IDS if p not in LOAN_PRODUCTS], dtype=object)
# Share of clients with 0, 1, 2, 3, 4 optional products (ranked by an income-driven engagement score).
OPTIONAL_COUNT_CUTS = np.array([0.30, 0.68, 0.88, 0.97])
# Mean repeated-use events after opening (cards are used monthly, deposits topped up now and then).
MEAN_USES = {"CREDIT_CARD": 6, "DEBIT_CARD": 8, "INVESTMENT_ACCOUNT": 3}
DEFAULT_MEAN_USES = 1.5


def generate_products() -> pd.DataFrame:
    return pd.DataFrame(CATALOGUE, columns=["product_id", "product_name", "category"])


def loan_product(amount: np.ndarray, term_months: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Which catalogue product a loan is: mortgage, car loan or consumer loan."""
    mortgage = (amount >= 1_000_000) & (term_months >= 36) & (age >= 25) & (age <= 55)
    car = ~mortgage & (amount >= 300_000) & (term_months >= 12) & (age >= 21)
    return np.where(mortgage, "MORTGAGE", np.where(car, "CAR_LOAN", "CONSUMER_LOAN")).astype(object)


def generate_product_usage(
    clients: pd.DataFrame,
    loans: pd.DataFrame,
    rng: np.random.Generator,
    as_of: dt.date,
    ids: IdStride = WHOLE,
) -> pd.DataFrame:
    """Usage events (usage_id, client_id, product_id, used_at, event, amount), dated up to ``as_of``;
    ``ids`` numbers them from 1 (the first ``len`` ids of the sequence)."""
    n = len(clients)
    anchor = pd.Timestamp(as_of)
    client_ids = clients["client_id"].to_numpy()
    age = ((anchor - pd.to_datetime(clients["birth_date"])).dt.days / 365.25).to_numpy()
    income = clients["income"].to_numpy().astype(float)
    rel_income = income / np.median(income)
    position = pd.Series(np.arange(n), index=client_ids)

    # Loan products straight from the loans entity: opened on the loan's issue date.
    loan_owner = position.reindex(loans["client_id"].to_numpy()).to_numpy()
    loan_held = pd.DataFrame(
        {
            "owner": loan_owner,
            "product_id": loan_product(
                loans["amount"].to_numpy(), loans["term_months"].to_numpy(), age[loan_owner]
            ),
            "opened": pd.to_datetime(loans["issue_date"]).to_numpy(),
        }
    )
    has_mortgage = np.zeros(n, bool)
    has_mortgage[loan_held.loc[loan_held["product_id"] == "MORTGAGE", "owner"].to_numpy()] = True
    has_loan = np.zeros(n, bool)
    has_loan[loan_owner] = True

    # Propensity of each optional product per client, shaped by age and income.
    k = len(OPTIONAL_PRODUCTS)
    weight = np.ones((n, k))
    col = {p: i for i, p in enumerate(OPTIONAL_PRODUCTS)}
    weight[:, col["CREDIT_CARD"]] = 4.0 * np.where((age >= 21) & (age <= 65), 1.3, 0.6)
    weight[:, col["DEBIT_CARD"]] = 3.0
    older_richer = np.clip((age - 30) / 30, 0.1, 1.5) * rel_income**0.8
    for product, base in (("DEPOSIT_3M", 0.6), ("DEPOSIT_6M", 0.7), ("DEPOSIT_12M", 1.0)):
        weight[:, col[product]] = base * older_richer
    weight[:, col["LIFE_INSURANCE"]] = (
        0.5 * np.where((age >= 30) & (age <= 60), 1.5, 0.7) * (1 + 4 * has_mortgage)
    )
    weight[:, col["PROPERTY_INSURANCE"]] = 0.4 * (1 + 8 * has_mortgage)
    weight[:, col["INVESTMENT_ACCOUNT"]] = 0.3 * rel_income**1.5 * np.where(age < 65, 1.0, 0.5)

    # How many optional products: richer clients hold more, with plenty of noise.
    engagement = 0.6 * np.log(rel_income) + rng.normal(0, 0.8, n)
    rank = engagement.argsort().argsort() / max(n - 1, 1)
    n_optional = np.searchsorted(OPTIONAL_COUNT_CUTS, rank, side="right")
    # A client without a loan came to the bank for something: most hold at least one product.
    n_optional = np.where(~has_loan & (n_optional == 0) & (rng.random(n) < 0.8), 1, n_optional)

    # Weighted sampling without replacement per client (Gumbel top-k), vectorised over clients.
    keys = np.log(weight) + rng.gumbel(size=(n, k))
    order = np.argsort(-keys, axis=1)
    chosen = np.arange(k)[None, :] < n_optional[:, None]
    owner_opt, slot = np.nonzero(chosen)
    optional_held = pd.DataFrame(
        {"owner": owner_opt, "product_id": OPTIONAL_PRODUCTS[order[owner_opt, slot]]}
    )
    registered = pd.to_datetime(clients["registered_at"]).to_numpy()
    span_days = (anchor - pd.DatetimeIndex(registered[owner_opt])).days.to_numpy()
    optional_held["opened"] = (
        registered[owner_opt]
        + pd.to_timedelta(
            (rng.random(len(owner_opt)) * np.maximum(span_days - 1, 0)).astype(int), unit="D"
        ).to_numpy()
    )

    held = pd.concat([loan_held, optional_held], ignore_index=True)
    held = held.sort_values(["owner", "opened", "product_id"], kind="stable", ignore_index=True)

    # Events: an opening, then repeated uses between opening and as_of.
    mean_uses = held["product_id"].map(MEAN_USES).fillna(DEFAULT_MEAN_USES).to_numpy()
    uses = rng.poisson(mean_uses)
    events = 1 + uses
    row = np.repeat(np.arange(len(held)), events)
    first = np.zeros(len(row), bool)
    first[np.concatenate([[0], np.cumsum(events)[:-1]])] = True
    opened = held["opened"].to_numpy()[row]
    open_span = (anchor - pd.DatetimeIndex(opened)).days.to_numpy()
    offset = np.where(first, 0, (rng.random(len(row)) * np.maximum(open_span, 0)).astype(int))
    used_at = pd.DatetimeIndex(opened + pd.to_timedelta(offset, unit="D").to_numpy())
    product = held["product_id"].to_numpy()[row]
    amount = np.round(np.exp(rng.normal(np.log(3000), 1.0, len(row))), 2)
    is_loan = np.isin(product, LOAN_PRODUCTS)
    frame = pd.DataFrame(
        {
            "client_id": client_ids[held["owner"].to_numpy()[row]],
            "product_id": product,
            "used_at": used_at.strftime("%Y-%m-%d"),
            "event": np.where(first, "open", np.where(is_loan, "payment", "use")),
            "amount": np.where(first, None, amount),
        }
    )
    frame = frame.sort_values(["client_id", "used_at", "product_id"], kind="stable", ignore_index=True)
    frame.insert(0, "usage_id", ids.ids(1, len(frame)))
    return frame
