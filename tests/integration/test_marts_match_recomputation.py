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

    # Notifications: loans whose payments, settling the oldest amounts first, leave arrears of at least
    # the tolerance, not written off (past 180 days at some day), with days since the oldest amount owed.
    expected_dpd = _allocation_dpd(payments, as_of)
    actual_dpd = dict(
        warehouse.execute("select loan_id, days_past_due from mart.overdue_notifications").fetchall()
    )
    assert len(actual_dpd) > 5
    assert actual_dpd == expected_dpd


def _allocation_dpd(payments: pd.DataFrame, as_of: pd.Timestamp, tolerance=100.0, write_off=180) -> dict:
    """Days past due per loan in arrears, loan by loan in plain Python (no shared code with the SQL)."""
    result = {}
    for loan_id, rows in payments.groupby("loan_id"):
        rows = rows.sort_values(["due_date", "instalment_no"])
        dues = list(zip(pd.to_datetime(rows["due_date"]), rows["amount_due"].astype(float), strict=True))
        paid = [
            (pd.Timestamp(d), float(a))
            for d, a in zip(rows["paid_date"], rows["amount_paid"], strict=True)
            if isinstance(d, str)
        ]

        def dpd_on(day, dues=dues, paid=paid):
            covered = sum(a for d, a in paid if d <= day)
            owed_since = None
            for due, amount in dues:
                if due >= day:
                    break
                covered -= amount
                if -covered >= tolerance and owed_since is None:
                    owed_since = due
            return (day - owed_since).days if owed_since is not None and -covered >= tolerance else 0

        # written off: some day up to as_of with more than `write_off` days past due (checked on the days
        # an instalment reaches write_off + 1 days, the only days the DPD can first pass the threshold)
        if any(dpd_on(due + pd.Timedelta(days=write_off + 1)) > write_off
               for due, _ in dues if due + pd.Timedelta(days=write_off + 1) <= as_of):  # fmt: skip
            continue
        if (dpd := dpd_on(as_of)) > 0:
            result[loan_id] = dpd
    return result
