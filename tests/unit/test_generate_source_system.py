"""The synthetic source system: deterministic for a seed, realistic, and cut into parts correctly."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from client_dwh.sources.synthetic.clients import MAX_INCOME, MIN_INCOME
from client_dwh.sources.synthetic.source_system import generate_source_system, split_into_parts

AS_OF = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def frames():
    return generate_source_system(3000, seed=11, as_of=AS_OF)


def test_same_seed_same_data_other_seed_other_data(frames):
    again = generate_source_system(3000, seed=11, as_of=AS_OF)
    for name, frame in frames.items():
        pd.testing.assert_frame_equal(frame, again[name])
    other = generate_source_system(3000, seed=12, as_of=AS_OF)
    assert not frames["clients"]["full_name"].equals(other["clients"]["full_name"])


def test_days_of_one_month_describe_the_same_world_and_it_grows_every_day():
    early = generate_source_system(300, seed=3, as_of=dt.date(2026, 11, 5))
    late = generate_source_system(300, seed=3, as_of=dt.date(2026, 11, 25))
    # the loans of the earlier day are still there, unchanged; later days add clients and loans
    pd.testing.assert_frame_equal(early["loans"], late["loans"].iloc[: len(early["loans"])])
    assert len(late["loans"]) > len(early["loans"]) and len(late["clients"]) > len(early["clients"])
    new_clients = late["clients"][~late["clients"]["client_id"].isin(early["clients"]["client_id"])]
    assert (new_clients["registered_at"] > "2026-11-05").all()
    assert late["loans"].iloc[len(early["loans"]) :]["issue_date"].between("2026-11-06", "2026-11-25").all()
    paid_early = early["payments"]["paid_date"].notna().sum()
    paid_late = late["payments"]["paid_date"].notna().sum()
    assert paid_late > paid_early  # later snapshots show more payments
    days = [
        generate_source_system(300, seed=3, as_of=dt.date(2026, 11, d))["loans"] for d in (10, 11, 12, 13)
    ]
    assert [len(b) for b in days] == sorted(len(b) for b in days) and len(days[-1]) > len(days[0])


def test_names_are_gender_consistent(frames):
    from faker import Faker

    person = Faker("ru_RU").provider("faker.providers.person")
    male = frames["clients"]["gender"] == "M"
    clients = frames["clients"]
    assert clients.loc[male, "first_name"].isin(person.first_names_male).all()
    assert clients.loc[male, "middle_name"].isin(person.middle_names_male).all()
    assert clients.loc[male, "last_name"].isin(person.last_names_male).all()
    assert clients.loc[~male, "first_name"].isin(person.first_names_female).all()
    assert clients.loc[~male, "middle_name"].isin(person.middle_names_female).all()
    assert clients.loc[~male, "last_name"].isin(person.last_names_female).all()
    assert (
        clients["full_name"]
        == clients["last_name"] + " " + clients["first_name"] + " " + clients["middle_name"]
    ).all()


def test_value_ranges_are_realistic(frames):
    clients, loans, payments = frames["clients"], frames["loans"], frames["payments"]
    assert clients["income"].between(MIN_INCOME, MAX_INCOME).all()
    age = (pd.Timestamp(AS_OF) - pd.to_datetime(clients["birth_date"])).dt.days / 365.25
    assert age.between(18, 86).all()
    assert clients["phone"].str.fullmatch(r"\+79\d{9}").all()
    assert clients["client_id"].is_unique
    assert loans["loan_id"].is_unique and (loans["amount"] >= 10_000).all()
    assert set(loans["term_months"]) <= {6, 12, 18, 24, 36, 48, 60}
    assert len(payments) == loans["term_months"].sum()  # one row per scheduled instalment
    paid = payments["paid_date"].notna()
    assert (payments.loc[paid, "paid_date"] <= str(AS_OF)).all()
    assert (payments["amount_paid"].isna() == payments["paid_date"].isna()).all()


def test_monthly_overdue_share_of_contracts_is_realistic(frames):
    payments = frames["payments"].copy()
    payments = payments[payments["due_date"] < str(AS_OF)]
    late = payments["paid_date"].isna() | (payments["paid_date"] > payments["due_date"])
    short = payments["amount_paid"].astype(float) < payments["amount_due"] - 0.005
    payments["overdue"] = late | short
    payments["month"] = payments["due_date"].str[:7]
    share = payments.groupby("month").apply(
        lambda g: g.groupby("loan_id")["overdue"].any().mean(), include_groups=False
    )
    recent = share.iloc[-12:]
    assert recent.between(0.05, 0.25).all(), recent.to_dict()


@pytest.mark.parametrize("cumulative", [True, False])
def test_parts_cover_every_row(frames, cumulative):
    parts = split_into_parts(frames, parts=4, seed=11, cumulative=cumulative)
    assert len(parts) == 4
    if cumulative:
        last = parts[-1]
        assert len(last["loans"]) == len(frames["loans"])
        assert len(last["payments"]) == len(frames["payments"])
        assert last["clients"]["client_id"].is_unique
        for earlier, later in zip(parts, parts[1:], strict=False):
            assert set(earlier["loans"]["loan_id"]) <= set(later["loans"]["loan_id"])
    else:
        assert sum(len(p["loans"]) for p in parts) == len(frames["loans"])
        assert sum(len(p["payments"]) for p in parts) == len(frames["payments"])
    # Later parts bring new versions of a few earlier clients.
    changed = parts[2]["clients"].merge(frames["clients"], on="client_id", suffixes=("", "_orig"))
    differs = (changed["income"] != changed["income_orig"]) | (changed["region"] != changed["region_orig"])
    assert differs.any()


def test_default_batch_is_the_day_and_ground_truth_lands_only_when_asked_for(landing):
    from client_dwh.landing import GROUND_TRUTH_DIR, landing_root, list_landed_parts
    from client_dwh.sources.synthetic.land import generate_and_land

    root = landing_root(landing)
    manifests = generate_and_land(clients=40, parts=2, seed=3, as_of=AS_OF, landing_url=landing)
    assert {m["batch"] for m in manifests} == {"20261120"}  # no batch named: the as-of day
    assert not (root / "20261120" / GROUND_TRUTH_DIR).exists()  # the DAG's and the CLI's default
    assert [p.part for p in list_landed_parts(root, "20261120")] == [1, 2]

    generate_and_land(
        clients=40, parts=2, seed=3, batch="bench", as_of=AS_OF, landing_url=landing, with_ground_truth=True
    )
    truth = sorted(p.name for p in (root / "bench" / GROUND_TRUTH_DIR).iterdir())
    assert truth == ["part-0001-portraits.jsonl", "part-0002-portraits.jsonl"]


def test_borrowers_make_up_shortfalls_cure_default_and_repay_early(frames):
    """Most short payments are made up within one or two instalments; a few loans stop paying; some
    loans are repaid early (every remaining instalment paid on one day before it fell due)."""
    payments = frames["payments"].copy()
    payments["paid"] = payments["amount_paid"].astype(float)
    payments = payments.sort_values(["loan_id", "instalment_no"], ignore_index=True)
    seen = payments[payments["paid_date"].notna()]
    short = seen[seen["paid"] < seen["amount_due"] - 100]  # more than technical roundings
    nxt = payments.groupby("loan_id")["paid"].shift(-1) - payments["amount_due"]
    after = payments.groupby("loan_id")["paid"].shift(-2) - payments["amount_due"]
    shortfall = short["amount_due"] - short["paid"]
    made_up = (nxt[short.index].fillna(0) + after[short.index].fillna(0)) >= shortfall - 0.01
    # the rest: their next instalment is not due or not paid yet, or the borrower stopped paying
    assert made_up.mean() > 0.8, made_up.mean()

    due = payments[payments["due_date"] < str(AS_OF)]
    never_paid_again = due.groupby("loan_id").apply(
        lambda g: g["paid_date"].isna().iloc[-3:].all() if len(g) >= 3 else False, include_groups=False
    )
    assert 0.02 < never_paid_again.mean() < 0.2, never_paid_again.mean()

    prepaid = payments[payments["paid_date"].notna() & (payments["paid_date"] < payments["due_date"])]
    days_early = (pd.to_datetime(prepaid["due_date"]) - pd.to_datetime(prepaid["paid_date"])).dt.days
    early_loans = prepaid[days_early > 31]["loan_id"].nunique() / payments["loan_id"].nunique()
    assert 0.03 < early_loans < 0.25, early_loans
