"""Golden test of delinquency by credit-risk conventions, on five hand-written loans of 10,000 a month.

A  short by 4,000 on 1 Mar, an overpayment of 14,000 on 3 Apr makes it up (allocation, a cure)
B  misses the Mar and Apr instalments, pays all three owed on 12 May (a cure after 31-60 DPD)
C  pays 9,950 once and never the 50 (technical arrears, below the 100 RUB tolerance)
D  pays 9,900 once and never the 100 (at the tolerance: in arrears, and allocation moves the shortfall
   to the newest instalment, so the DPD counts from the latest due date, not the one paid short)
E  pays one instalment and nothing after: written off on day 181 after the unpaid 1 Dec 2025 instalment
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
from test_core_and_loan_marts import run_pipeline_steps  # same folder (pytest puts it on sys.path)

from client_dwh.landing import landing_root, write_partition
from client_dwh.warehouse.core import flag_overdue_instalments

AS_OF = "2026-06-15"


def _schedule(loan_id: str, issue: str, term: int, paid: dict[int, tuple[str, float]]) -> list[tuple]:
    start = pd.Timestamp(issue)
    return [
        (
            loan_id,
            k,
            (start + pd.DateOffset(months=k)).strftime("%Y-%m-%d"),
            10000,
            *paid.get(k, (None, None)),
        )
        for k in range(1, term + 1)
    ]


def _land(landing: str) -> None:
    clients = pd.DataFrame(
        {
            "client_id": [1, 2, 3, 4, 5],
            "full_name": ["Клиент А", "Клиент Б", "Клиент В", "Клиент Г", "Клиент Д"],
            "income": [80000] * 5,
            "phone": [f"+7999000000{i}" for i in range(1, 6)],
        }
    )
    loans = pd.DataFrame(
        {
            "loan_id": ["A", "B", "C", "D", "E"],
            "client_id": [1, 2, 3, 4, 5],
            "amount": [55000, 55000, 55000, 55000, 110000],
            "term_months": [6, 6, 6, 6, 12],
            "issue_date": ["2026-01-01", "2026-01-10", "2026-01-05", "2026-01-05", "2025-10-01"],
        }
    )
    rows = (
        _schedule(
            "A",
            "2026-01-01",
            6,
            {1: ("2026-02-01", 10000), 2: ("2026-03-01", 6000), 3: ("2026-04-03", 14000)}
            | {4: ("2026-05-01", 10000), 5: ("2026-06-01", 10000)},
        )
        + _schedule(
            "B",
            "2026-01-10",
            6,
            {1: ("2026-02-10", 10000), 2: ("2026-05-12", 10000), 3: ("2026-05-12", 10000)}
            | {4: ("2026-05-12", 10000), 5: ("2026-06-10", 10000)},
        )
        + _schedule(
            "C",
            "2026-01-05",
            6,
            {
                k: ((pd.Timestamp("2026-01-05") + pd.DateOffset(months=k)).strftime("%Y-%m-%d"), v)
                for k, v in {1: 10000, 2: 9950, 3: 10000, 4: 10000, 5: 10000}.items()
            },
        )  # fmt: skip
        + _schedule(
            "D",
            "2026-01-05",
            6,
            {
                k: ((pd.Timestamp("2026-01-05") + pd.DateOffset(months=k)).strftime("%Y-%m-%d"), v)
                for k, v in {1: 10000, 2: 10000, 3: 9900, 4: 10000, 5: 10000}.items()
            },
        )  # fmt: skip
        + _schedule("E", "2025-10-01", 12, {1: ("2025-11-01", 10000)})
    )
    payments = pd.DataFrame(
        rows, columns=["loan_id", "instalment_no", "due_date", "amount_due", "paid_date", "amount_paid"]
    )
    write_partition(
        landing_root(landing), "credit", 1, {"clients": clients, "loans": loans, "payments": payments}
    )


def _loans(warehouse) -> dict:
    return {
        row[0]: row[1:]
        for row in warehouse.execute(
            "select loan_id, days_past_due, arrears_amount, technical_arrears_amount, status, "
            "dpd30_reached_on::text, dpd90_reached_on::text, written_off_on::text, written_off_amount "
            "from core.loans order by 1"
        ).fetchall()
    }


def test_allocation_cure_tolerance_write_off_roll_rates_and_vintages(warehouse, landing):
    _land(landing)
    run_pipeline_steps(landing, AS_OF)

    # The seed's per-instalment flags are unchanged by allocation: A's #2 short, #3 two days late, ...
    flags = dict(
        ((loan, no), reason)
        for loan, no, reason in warehouse.execute(
            "select loan_id, instalment_no, overdue_reason from core.instalments where is_overdue"
        ).fetchall()
    )
    assert flags[("A", 2)] == "paid short" and flags[("A", 3)] == "paid late"
    assert flags[("C", 2)] == "paid short" and flags[("D", 3)] == "paid short"
    assert flags[("B", 2)] == "paid late" and flags[("E", 2)] == "unpaid past due"

    zero = Decimal("0.00")
    assert _loans(warehouse) == {
        # short payment followed by an overpayment: cured, but it was 31 DPD on 1 Apr (before the 3 Apr payment)
        "A": (0, zero, zero, "current", "2026-04-01", None, None, None),
        # missed two, paid all on 12 May: cured; past 30 DPD on 10 Apr (31 days after 10 Mar)
        "B": (0, zero, zero, "current", "2026-04-10", None, None, None),
        # 50 RUB short: technical arrears, current
        "C": (0, zero, Decimal("50.00"), "current", None, None, None, None),
        # 100 RUB short (at the tolerance): delinquent; the shortfall sits on #5 (due 5 Jun): 10 DPD
        "D": (10, Decimal("100.00"), zero, "overdue", None, None, None, None),
        # unpaid since 1 Dec 2025: 31 DPD on 1 Jan, 91 on 2 Mar, written off on day 181 (31 May)
        "E": (196, Decimal("70000.00"), zero, "written_off", "2026-01-01", "2026-03-02", "2026-05-31",
              Decimal("110000.00")),
    }  # fmt: skip

    # Only D is notified: C's arrears are technical, E is written off.
    assert warehouse.execute(
        "select loan_id, days_past_due, dpd_bucket, amount_overdue, priority, channel from mart.overdue_notifications"
    ).fetchall() == [("D", 10, "1-30", Decimal("100.00"), 3, "SMS")]

    # PAR at 30 Apr: B (50,000, 51 DPD) and E (110,000, 150 DPD) of 250,150 outstanding; E leaves the
    # denominator from 31 May and is May's write-off figure (its balance that day).
    par = {
        m: rest
        for m, *rest in warehouse.execute(
            "select month::text, loans_outstanding, outstanding_amount, par30_pct, par90_pct, "
            "written_off_loans, written_off_amount from mart.portfolio_at_risk "
            "where month >= '2026-03-01' order by 1"
        ).fetchall()
    }
    assert par["2026-04-01"] == [5, Decimal("250150.00"), Decimal("63.96"), Decimal("43.97"), 0, zero]
    assert par["2026-05-01"] == [4, Decimal("80150.00"), zero, zero, 1, Decimal("110000.00")]
    assert par["2026-06-01"] == [4, Decimal("40150.00"), zero, zero, 0, zero]

    # Roll rates, April: of the 1-30 balance at 31 Mar (A 44,000, B 50,000) A rolled back to current
    # and B on to 31-60; of the current balance (C 40,050, D 40,000) D rolled to 1-30; E stayed 90+.
    # May: E rolled to written off, B back to current, D stayed 1-30.
    rolls = warehouse.execute(
        "select month::text, from_bucket, to_bucket, loans, balance, share_pct from mart.roll_rates "
        "where month in ('2026-04-01', '2026-05-01') order by 1, 2, 3"
    ).fetchall()
    assert rolls == [
        ("2026-04-01", "1-30", "31-60", 1, Decimal("50000.00"), Decimal("53.19")),
        ("2026-04-01", "1-30", "current", 1, Decimal("44000.00"), Decimal("46.81")),
        ("2026-04-01", "90+", "90+", 1, Decimal("110000.00"), Decimal("100.00")),
        ("2026-04-01", "current", "1-30", 1, Decimal("40000.00"), Decimal("49.97")),
        ("2026-04-01", "current", "current", 1, Decimal("40050.00"), Decimal("50.03")),
        ("2026-05-01", "1-30", "1-30", 1, Decimal("30100.00"), Decimal("100.00")),
        ("2026-05-01", "31-60", "current", 1, Decimal("50000.00"), Decimal("100.00")),
        ("2026-05-01", "90+", "written off", 1, Decimal("110000.00"), Decimal("100.00")),
        ("2026-05-01", "current", "current", 2, Decimal("60050.00"), Decimal("100.00")),
    ]

    # Vintages: January 2026 (A-D) - A and B went past 30 DPD in April (month on book 3), none past 90;
    # October 2025 (E) - past 30 in January (3), past 90 in March (5).
    vintages = warehouse.execute(
        "select issue_month::text, months_on_book, loans_issued, loans_ever_30_plus, ever_30_plus_pct, "
        "loans_ever_90_plus, ever_90_plus_pct from mart.vintage_curves order by 1, 2"
    ).fetchall()
    jan = [v[1:] for v in vintages if v[0] == "2026-01-01"]
    assert jan == [(mob, 4, 2 if mob >= 3 else 0, Decimal("50.00") if mob >= 3 else zero, 0, zero)
                   for mob in range(6)]  # fmt: skip
    october = [(v[1], v[3], v[5]) for v in vintages if v[0] == "2025-10-01"]
    assert october == [(mob, int(mob >= 3), int(mob >= 5)) for mob in range(9)]


def test_written_off_on_day_181_not_day_180(warehouse, landing):
    _land(landing)
    run_pipeline_steps(landing, "2026-05-30")
    assert _loans(warehouse)["E"][:5] == (180, Decimal("60000.00"), Decimal("0.00"), "default", "2026-01-01")
    assert warehouse.execute(
        "select days_past_due, priority, channel from mart.overdue_notifications where loan_id = 'E'"
    ).fetchall() == [(180, 1, "письмо и передача во взыскание")]
    flag_overdue_instalments("2026-05-31")
    assert _loans(warehouse)["E"][3:] == (
        "written_off",
        "2026-01-01",
        "2026-03-02",
        "2026-05-31",
        Decimal("110000.00"),
    )
    assert dt.date(2025, 12, 1) + dt.timedelta(days=181) == dt.date(2026, 5, 31)
