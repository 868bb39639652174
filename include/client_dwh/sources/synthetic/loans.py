"""Loans with monthly annuity schedules, and payments whose lateness is driven by a per-client risk score.

A payment is late or short with a probability that grows with the client's risk, shortfalls and missed
instalments are mostly made up soon after, and a few risky clients stop paying altogether, so the monthly
share of overdue contracts lands around 5-25 % and PAR30 at a few percent, as in a real consumer book.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from client_dwh.sources.synthetic.ids import WHOLE, IdStride

TERMS_MONTHS = np.array([6, 12, 18, 24, 36, 48, 60])
HISTORY_MONTHS = 36
# The book grows every day: new clients per day and new loans to existing clients per day, as shares
# of the clients at the start of the month.
NEW_CLIENTS_PER_DAY = 0.002
NEW_LOANS_PER_DAY = 0.001


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
    ``as_of``) the date and amount paid.

    Borrowers behave as a consumer-loan book does: most pay on time or a few days late; a short payment
    is made up with the next instalment or the one after; some miss one to three instalments and then
    pay everything back at once (a cure); a small share stop paying for good (30 -> 60 -> 90 days ->
    write-off); some repay early; and now and then a payment is rounded down by a few roubles and the
    remainder is never paid (technical arrears, below the bank's tolerance).
    """
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
    n, n_loans = row_loan.size, len(loans)
    first_row = np.concatenate([[0], np.cumsum(term)[:-1]]) if n_loans else np.array([], int)

    # Lateness: most pay on time or a little early; the late ones mostly within days, never past the
    # next due date (missing an instalment altogether is a separate event below).
    late = rng.random(n) < np.clip(0.02 + 0.45 * r, 0, 0.8)
    delay_late = np.minimum(1 + rng.geometric(np.clip(0.35 - 0.25 * r, 0.1, 0.5), n), 25)
    delay = np.where(late, delay_late, -rng.integers(0, 6, n))
    paid_date = np.asarray(due_dates + pd.to_timedelta(delay, unit="D"), dtype="datetime64[D]")
    paid_amount = amount_due.astype(float).copy()

    # Short payments, made up with the next instalment (most) or the one after.
    short = (rng.random(n) < 0.005 + 0.1 * r) & (instalment_no < term[row_loan] - 1)
    shortfall = np.where(short, np.round(amount_due * rng.uniform(0.05, 0.5, n), 2), 0.0)
    paid_amount -= shortfall
    make_up = np.where(rng.random(n) < 0.82, 1, 2)
    np.add.at(paid_amount, np.flatnonzero(short) + make_up[short], shortfall[short])

    # Missed instalments, then a cure: 1-3 instalments skipped and paid together with the next one.
    episode = (
        rng.random(n_loans) < np.clip(0.03 + 0.8 * client_risk.reindex(loans["client_id"]).to_numpy(), 0, 0.6)
    ) & (term >= 6)
    length = rng.choice([1, 2, 3], n_loans, p=[0.6, 0.3, 0.1])
    start = rng.integers(1, np.maximum(term - length, 2))  # 1-based instalment the episode starts at
    in_episode = (
        episode[row_loan]
        & (instalment_no >= start[row_loan])
        & (instalment_no < start[row_loan] + length[row_loan])
    )
    cure_row = first_row + start + length - 1  # the instalment after the episode (0-based row)
    for offset in range(3):  # each missed instalment is paid on the cure instalment's payment date
        rows = np.flatnonzero(episode & (offset < length))
        missed = first_row[rows] + start[rows] - 1 + offset
        paid_date[missed] = paid_date[cure_row[rows]]

    # Some borrowers stop paying for good from a random instalment on.
    loan_risk = client_risk.reindex(loans["client_id"]).to_numpy()
    defaults = rng.random(n_loans) < np.clip(2.4 * loan_risk - 0.05, 0, 0.7)
    stop_at = np.where(defaults, rng.integers(1, np.maximum(term, 2) + 1), term + 1)
    unpaid = instalment_no >= stop_at[row_loan]
    # A cure that never came: a defaulter's episode is unpaid from its first missed instalment.
    unpaid |= in_episode & (cure_row[row_loan] + 1 >= stop_at[row_loan] + first_row[row_loan])

    # Early repayment: everything left is paid on one day shortly before an instalment falls due.
    early = ~defaults & ~episode & (rng.random(n_loans) < 0.15) & (term >= 6)
    early_from = rng.integers(2, np.maximum(term, 3))
    early_day = np.asarray(
        due_dates[np.minimum(first_row + early_from - 1, n - 1)] if n else due_dates, dtype="datetime64[D]"
    ) - rng.integers(1, 15, n_loans).astype("timedelta64[D]")
    prepaid = early[row_loan] & (instalment_no >= early_from[row_loan])
    paid_date = np.where(prepaid, early_day[row_loan], paid_date)
    paid_amount = np.where(prepaid, np.maximum(paid_amount, amount_due), paid_amount)

    # Technical arrears: one payment of a loan rounded down to whole hundreds, the kopecks never paid.
    rounded_row = first_row + rng.integers(0, np.maximum(term, 1)) if n_loans else np.array([], int)
    rounded = np.zeros(n, bool)
    rounded[rounded_row[rng.random(n_loans) < 0.1]] = True
    rounded &= ~prepaid & ~short & (paid_amount >= 100)
    paid_amount = np.where(rounded, np.floor(paid_amount / 100) * 100, paid_amount)

    paid_date = pd.DatetimeIndex(paid_date)
    as_of_ts = pd.Timestamp(visible_until or as_of)
    paid = ~unpaid & (paid_date <= as_of_ts)
    return pd.DataFrame(
        {
            "loan_id": loans["loan_id"].to_numpy()[row_loan],
            "instalment_no": instalment_no,
            "due_date": due_dates.strftime("%Y-%m-%d"),
            "amount_due": amount_due,
            "paid_date": np.where(paid, paid_date.strftime("%Y-%m-%d"), None),
            "amount_paid": np.where(paid, np.round(paid_amount, 2), None),
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


def draw_new_clients(
    n_existing: int, rng: np.random.Generator, anchor: dt.date, first_id: int, ids: IdStride = WHOLE
) -> pd.DataFrame:
    """Every client who registers during ``anchor``'s month (the first draws of the new-business stream),
    with ids from ``first_id`` on (numbered by ``ids``), in registration order."""
    from client_dwh.sources.synthetic.clients import generate_clients

    month_days = pd.Period(anchor, freq="M").days_in_month
    n_new = int(rng.binomial(month_days * max(n_existing, 1), NEW_CLIENTS_PER_DAY))
    new_clients = generate_clients(n_new, rng, anchor)
    new_clients["client_id"] = ids.ids(first_id, n_new)
    registered = pd.Timestamp(anchor) + pd.to_timedelta(np.sort(rng.integers(0, month_days, n_new)), unit="D")
    new_clients["registered_at"] = registered.strftime("%Y-%m-%d")
    return new_clients


def generate_new_business(
    clients: pd.DataFrame,
    loans: pd.DataFrame,
    rng: np.random.Generator,
    anchor: dt.date,
    as_of: dt.date,
    first_new_client_id: int,
    new_client_ids: IdStride = WHOLE,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Clients who register during ``anchor``'s month and loans issued in it, visible by ``as_of``.

    The whole month is drawn at once (same rng, same month: same new business), then cut at ``as_of``:
    each day's export shows the book of the day before plus that day's new clients and loans. New clients
    are numbered from ``first_new_client_id`` (see ``draw_new_clients``).
    """
    month_days = pd.Period(anchor, freq="M").days_in_month
    new_clients = draw_new_clients(len(clients), rng, anchor, first_new_client_id, new_client_ids)
    n_new = len(new_clients)

    # Borrowers among the new clients take a loan within days; a few existing clients take another one.
    borrowers = new_clients[rng.random(n_new) < 0.85]
    n_repeat = int(rng.binomial(len(clients), min(NEW_LOANS_PER_DAY * month_days, 1.0)))
    repeat = clients.iloc[np.sort(rng.choice(len(clients), n_repeat, replace=False))]
    takers = pd.concat([borrowers, repeat], ignore_index=True)
    # generate_loans draws 0-2 loans per client, dated in the past: keep one per taker, dated this month.
    new_loans = generate_loans(takers, rng, anchor).drop_duplicates("client_id").reset_index(drop=True)
    is_new_client = new_loans["client_id"].isin(borrowers["client_id"]).to_numpy()
    registered_on = pd.to_datetime(
        new_loans["client_id"].map(new_clients.set_index("client_id")["registered_at"])
    )
    issue = np.where(
        is_new_client,
        registered_on + pd.to_timedelta(rng.integers(0, 4, len(new_loans)), unit="D"),
        pd.Timestamp(anchor) + pd.to_timedelta(rng.integers(0, month_days, len(new_loans)), unit="D"),
    )
    new_loans["issue_date"] = pd.DatetimeIndex(issue).strftime("%Y-%m-%d")
    earlier = loans.groupby("client_id").size()
    seq = earlier.reindex(new_loans["client_id"]).fillna(0).astype(int).to_numpy() + 1
    new_loans["loan_id"] = [f"LN-{c:07d}-{s}" for c, s in zip(new_loans["client_id"], seq, strict=True)]
    # in issue order, so that each day's export extends the day before's
    new_loans = new_loans[loans.columns].astype(loans.dtypes.to_dict())
    new_loans = new_loans.sort_values(["issue_date", "loan_id"], ignore_index=True)
    payments = generate_payments(new_loans, rng, anchor, visible_until=as_of)

    visible_clients = new_clients[new_clients["registered_at"] <= as_of.isoformat()]
    visible_loans = new_loans[new_loans["issue_date"] <= as_of.isoformat()]
    visible_payments = payments[payments["loan_id"].isin(visible_loans["loan_id"])]
    return visible_clients, visible_loans, visible_payments
