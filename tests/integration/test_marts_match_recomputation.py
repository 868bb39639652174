"""The loan marts agree with an independent recomputation, in pandas, from the landed JSON files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
from test_core_and_loan_marts import run_pipeline_steps  # same folder (pytest puts it on sys.path)

from client_dwh.sources.synthetic.land import generate_and_land

AS_OF = dt.date(2026, 3, 15)


def _read_last_part(landing: str, batch: str) -> dict[str, pd.DataFrame]:
    parts = sorted((Path(landing) / batch).glob("part-*"))
    last = parts[-1]  # cumulative: the last part holds every row
    files = json.loads((last / "_manifest.json").read_text())["files"]
    return {
        name: pd.read_json(last / meta["path"], lines=True, dtype=False, convert_dates=False)
        for name, meta in files.items()
        if name in ("clients", "loans", "payments")
    }


def _band(amount: float) -> str:
    if amount < 50_000:
        return "до 50 000"
    if amount < 100_000:
        return "50 000 – 100 000"
    if amount < 500_000:
        return "100 000 – 500 000"
    return "500 000 и выше"


def test_overdue_by_month_and_notifications_match_pandas(warehouse, landing):
    generate_and_land(clients=400, parts=3, seed=99, batch="recompute", as_of=AS_OF, landing_url=landing)
    run_pipeline_steps(landing, AS_OF.isoformat())
    frames = _read_last_part(landing, "recompute")
    loans, payments = frames["loans"], frames["payments"]

    as_of = pd.Timestamp(AS_OF)
    p = payments.merge(loans[["loan_id", "amount"]], on="loan_id")
    p["due"] = pd.to_datetime(p["due_date"])
    p["paid"] = pd.to_datetime(p["paid_date"])
    p["paid_amount"] = pd.to_numeric(p["amount_paid"]).astype(float)
    p = p[p["due"] <= as_of]
    paid_by_as_of = p["paid"] <= as_of
    late = paid_by_as_of & (p["paid"] > p["due"])
    short = paid_by_as_of & (p["paid_amount"] < p["amount_due"] - 0.005)
    unpaid = (p["due"] < as_of) & ~paid_by_as_of
    p["overdue"] = late | short | unpaid
    p["month"] = p["due"].dt.to_period("M").dt.to_timestamp().dt.date
    p["band"] = p["amount"].map(_band)
    per_contract = p.groupby(["month", "band", "loan_id"]).agg(
        overdue=("overdue", "any"), amount=("amount", "first"),
        amount_overdue=("amount_due", lambda s: s[p.loc[s.index, "overdue"]].sum()),
    )  # fmt: skip
    expected = per_contract.groupby(["month", "band"]).agg(
        contracts_due=("overdue", "size"), contracts_overdue=("overdue", "sum"),
        amount_issued=("amount", "sum"), amount_overdue=("amount_overdue", "sum"),
    )  # fmt: skip

    actual = pd.DataFrame(
        warehouse.execute(
            "select month, amount_band, contracts_due, contracts_overdue, amount_issued::float8, "
            "amount_overdue::float8, overdue_share_pct::float8 from mart.overdue_by_month"
        ).fetchall(),
        columns=[
            "month",
            "band",
            "contracts_due",
            "contracts_overdue",
            "amount_issued",
            "amount_overdue",
            "share",
        ],
    ).set_index(["month", "band"])
    assert len(actual) == len(expected) > 20
    joined = expected.join(actual, rsuffix="_mart", how="outer")
    assert (joined["contracts_due"] == joined["contracts_due_mart"]).all()
    assert (joined["contracts_overdue"] == joined["contracts_overdue_mart"]).all()
    assert np.allclose(joined["amount_issued"], joined["amount_issued_mart"])
    assert np.allclose(joined["amount_overdue"], joined["amount_overdue_mart"])
    assert np.allclose(
        100 * joined["contracts_overdue"] / joined["contracts_due"], joined["share"], atol=0.005
    )

    # Notifications: every loan with an instalment still owed past its due date, with its days past due.
    owed = p[(p["due"] < as_of) & (~paid_by_as_of | short)].copy()
    owed["dpd"] = (as_of - owed["due"]).dt.days
    expected_dpd = owed.groupby("loan_id")["dpd"].max()
    actual_dpd = dict(
        warehouse.execute("select loan_id, days_past_due from mart.overdue_notifications").fetchall()
    )
    assert actual_dpd == expected_dpd.to_dict()
