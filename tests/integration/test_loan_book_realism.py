"""The synthetic loan book looks like a real bank's, counted by credit-risk conventions (fixed seeds).

Ranges from issue 12: PAR30 at the as-of date 2-10 %, PAR90 1-6 %, notifications at most 10 % of active
loans, the seed's monthly overdue share 5-25 %, a few write-offs, and a roll-rate matrix in which most
of the current balance stays current and most of the 90+ balance does not come back.
"""

from __future__ import annotations

import datetime as dt

import pytest
from test_core_and_loan_marts import run_pipeline_steps  # same folder (pytest puts it on sys.path)

from client_dwh.sources.synthetic.land import generate_and_land

AS_OF = dt.date(2026, 11, 20)


@pytest.mark.parametrize("seed", [7, 42])
def test_default_book_is_within_credit_risk_ranges(warehouse, landing, seed):
    generate_and_land(
        clients=2000, parts=2, seed=seed, batch="book", as_of=AS_OF, landing_url=landing,
        entities={"clients", "loans", "payments"},
    )  # fmt: skip
    run_pipeline_steps(landing, AS_OF.isoformat())

    par30, par90 = warehouse.execute(
        "select par30_pct::float8, par90_pct::float8 from mart.portfolio_at_risk where as_of_date = %s",
        (AS_OF,),
    ).fetchone()
    assert 2 <= par30 <= 10 and 1 <= par90 <= 6, (par30, par90)

    active, written_off = warehouse.execute(
        "select count(*) filter (where status in ('current', 'overdue', 'default')), "
        "count(*) filter (where status = 'written_off') from core.loans"
    ).fetchone()
    (notified,) = warehouse.execute("select count(*) from mart.overdue_notifications").fetchone()
    assert 0 < notified <= 0.10 * active, (notified, active)
    assert 0 < written_off <= 0.15 * (active + written_off)

    shares = [
        float(s)
        for (s,) in warehouse.execute(
            "select 100.0 * sum(contracts_overdue) / sum(contracts_due) from mart.overdue_by_month "
            "where month > %s::date - interval '12 months' group by month",
            (AS_OF,),
        ).fetchall()
    ]
    assert len(shares) == 12 and all(5 <= s <= 25 for s in shares), shares

    roll = dict(
        ((f, t), float(s))
        for f, t, s in warehouse.execute(
            "select from_bucket, to_bucket, 100.0 * sum(balance) / sum(sum(balance)) over (partition by from_bucket) "
            "from mart.roll_rates group by from_bucket, to_bucket"
        ).fetchall()
    )
    assert roll[("current", "current")] > 85
    assert roll.get(("90+", "current"), 0) < 10
    assert roll[("1-30", "current")] > 40  # most early arrears are made up
