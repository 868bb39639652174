"""Loans with monthly annuity schedules, and payments whose lateness is driven by a per-client risk score.

A payment is late or short with a probability that grows with the client's risk, and risky clients may
stop paying altogether, so the monthly share of overdue contracts lands around 5-25 %, not uniform noise.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

TERMS_MONTHS = np.array([6, 12, 18, 24, 36, 48, 60])
HISTORY_MONTHS = 36


def generate_loans(clients: pd.DataFrame, rng: np.random.Generator, as_of: dt.date) -> pd.DataFrame:
    n = len(clients)
    has_loan = rng.random(n) < 0.85
    loans_per_client = np.where(has_loan, 1 + rng.poisson(0.35, n), 0)
    owner = np.repeat(np.arange(n), loans_per_client)
    seq = np.concatenate([np.arange(k) for k in loans_per_client]) + 1 if owner.size else np.array([], int)
    income = clients["income"].to_numpy()[owner]
    # Amount scales with income; a lognormal multiplier spreads loans over every amount band.
    amount = np.clip(income * np.exp(rng.normal(0.9, 0.9, owner.size)), 10_000, 5_000_000)
    amount = (amount // 1000 * 1000).astype(int)
    term = TERMS_MONTHS[rng.integers(0, len(TERMS_MONTHS), owner.size)]
    term = np.where(amount >= 500_000, np.maximum(term, 36), term)
    issue_offset_days = rng.integers(30, HISTORY_MONTHS * 30, owner.size)
    issue_date = pd.to_datetime(as_of) - pd.to_timedelta(issue_offset_days, unit="D")
    annual_rate = np.round(rng.uniform(0.09, 0.32, owner.size), 4)
    monthly_rate = annual_rate / 12
    instalment = amount * monthly_rate / (1 - (1 + monthly_rate) ** (-term.astype(float)))
    client_ids = clients["client_id"].to_numpy()[owner]
    return pd.DataFrame(
        {
            "loan_id": [f"LN-{c:07d}-{s}" for c, s in zip(client_ids, seq, strict=True)],
            "client_id": client_ids,
            "amount": amount,
            "term_months": term,
            "annual_rate": annual_rate,
            "monthly_instalment": np.round(instalment, 2),
            "issue_date": issue_date.strftime("%Y-%m-%d"),
        }
    )


def generate_payments(
    loans: pd.DataFrame, rng: np.random.Generator, as_of: dt.date, visible_until: dt.date | None = None
) -> pd.DataFrame:
    """One row per scheduled instalment: due date, amount due, and (if paid by ``visible_until``, default
    ``as_of``) the date and amount paid."""
    unique_clients = loans["client_id"].unique()
    risk = rng.beta(1.3, 9.0, unique_clients.size)
    client_risk = pd.Series(risk, index=unique_clients)
    term = loans["term_months"].to_numpy()
    row_loan = np.repeat(np.arange(len(loans)), term)
    instalment_no = np.concatenate([np.arange(1, t + 1) for t in term]) if len(loans) else np.array([], int)
    issue = pd.to_datetime(loans["issue_date"]).to_numpy()[row_loan]
    due_dates = _add_months(pd.DatetimeIndex(issue), instalment_no)
    amount_due = loans["monthly_instalment"].to_numpy()[row_loan]
    r = client_risk.reindex(loans["client_id"].to_numpy()[row_loan]).to_numpy()
    n = row_loan.size

    # Lateness: most pay on time or a little early; risky clients are late more often and for longer.
    late = rng.random(n) < np.clip(0.02 + 0.75 * r, 0, 0.9)
    delay_late = 1 + rng.geometric(np.clip(0.25 - 0.2 * r, 0.03, 0.5), n)
    delay_on_time = -rng.integers(0, 6, n)
    delay = np.where(late, delay_late, delay_on_time)
    short = rng.random(n) < 0.25 * r
    paid_ratio = np.where(short, np.round(rng.uniform(0.3, 0.95, n), 2), 1.0)

    # Some risky clients stop paying from a random instalment on: those instalments stay unpaid.
    loan_risk = client_risk.reindex(loans["client_id"]).to_numpy()
    defaults = rng.random(len(loans)) < np.clip(1.1 * loan_risk - 0.12, 0, 0.8)
    stop_at = np.where(defaults, rng.integers(1, np.maximum(term, 2) + 1), term + 1)
    unpaid = instalment_no >= stop_at[row_loan]

    paid_date = due_dates + pd.to_timedelta(delay, unit="D")
    as_of_ts = pd.Timestamp(visible_until or as_of)
    paid = ~unpaid & (paid_date <= as_of_ts)
    return pd.DataFrame(
        {
            "loan_id": loans["loan_id"].to_numpy()[row_loan],
            "instalment_no": instalment_no,
            "due_date": due_dates.strftime("%Y-%m-%d"),
            "amount_due": amount_due,
            "paid_date": np.where(paid, paid_date.strftime("%Y-%m-%d"), None),
            "amount_paid": np.where(paid, np.round(amount_due * paid_ratio, 2), None),
        }
    )


def _add_months(start: pd.DatetimeIndex, months: np.ndarray) -> pd.DatetimeIndex:
    """Vectorised ``start + months`` that clamps the day to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    year = start.year.to_numpy() + (start.month.to_numpy() - 1 + months) // 12
    month = (start.month.to_numpy() - 1 + months) % 12 + 1
    first = pd.to_datetime({"year": year, "month": month, "day": 1})
    days_in_month = first.dt.days_in_month.to_numpy()
    day = np.minimum(start.day.to_numpy(), days_in_month)
    return pd.DatetimeIndex(first + pd.to_timedelta(day - 1, unit="D"))
