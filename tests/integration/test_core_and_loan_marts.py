"""Core and loan marts: a golden test on 10 hand-written instalments, incremental correctness, re-runs."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from client_dwh.landing import landing_root, list_landed_parts, write_partition
from client_dwh.sources.synthetic.land import generate_and_land
from client_dwh.sources.synthetic.source_system import generate_source_system
from client_dwh.warehouse.core import build_core_for_part, flag_overdue_instalments
from client_dwh.warehouse.marts import MartCheckFailed, build_marts, publish_marts
from client_dwh.warehouse.pipeline import process_parts
from client_dwh.warehouse.staging import load_partition

AS_OF = "2026-03-15"


def run_pipeline_steps(landing: str, as_of: str, batch: str | None = None, one_part_at_a_time=False) -> None:
    """The dwh_pipeline's steps as plain function calls (the DAG itself is tested end to end elsewhere)."""
    parts = [p.to_xcom() for p in list_landed_parts(landing_root(landing), batch)]
    groups = [[p] for p in parts] if one_part_at_a_time else [parts]
    for group in groups:
        process_parts(group, as_of, run_id="test")


def _land_golden(landing: str) -> None:
    clients = pd.DataFrame(
        {
            "client_id": [1, 2, 3],
            "full_name": ["Иванов Иван Иванович", "Петрова Анна Сергеевна", "Сидоров Пётр Ильич"],
            "gender": ["M", "F", "M"],
            "birth_date": ["1980-01-01", "1990-05-05", "1975-07-07"],
            "income": [60000, 90000, 300000],
            "phone": ["+79990000001", "+79990000002", "+79990000003"],
        }
    )
    loans = pd.DataFrame(
        {
            "loan_id": ["L1", "L2", "L3"],
            "client_id": [1, 2, 3],
            "amount": [40000, 75000, 600000],
            "term_months": [3, 3, 4],
            "issue_date": ["2025-12-01", "2025-12-15", "2025-10-10"],
        }
    )
    rows = [
        # loan, no, due,         amount, paid date,    paid
        ("L1", 1, "2026-01-01", 14000, "2026-01-01", 14000),  # on time
        ("L1", 2, "2026-02-01", 14000, "2026-02-10", 14000),  # paid 9 days late
        ("L1", 3, "2026-03-01", 14000, "2026-03-01", 10000),  # paid short: 4,000 still owed
        ("L2", 1, "2026-01-15", 26000, "2026-01-14", 26000),  # a day early
        ("L2", 2, "2026-02-15", 26000, None, None),  # unpaid, 28 days past due
        ("L2", 3, "2026-03-15", 26000, None, None),  # due today: not overdue yet
        ("L3", 1, "2025-11-10", 160000, "2025-11-10", 160000),  # on time
        ("L3", 2, "2025-12-10", 160000, None, None),  # unpaid, 95 days
        ("L3", 3, "2026-01-10", 160000, None, None),  # unpaid, 64 days
        ("L3", 4, "2026-02-10", 160000, "2026-04-01", 160000),  # paid after as-of: still unpaid, 33 days
    ]
    payments = pd.DataFrame(
        rows, columns=["loan_id", "instalment_no", "due_date", "amount_due", "paid_date", "amount_paid"]
    )
    write_partition(
        landing_root(landing), "golden", 1, {"clients": clients, "loans": loans, "payments": payments}
    )


def test_golden_ten_instalments(warehouse, landing):
    _land_golden(landing)
    run_pipeline_steps(landing, AS_OF)

    flags = warehouse.execute(
        "select loan_id, instalment_no, is_overdue, overdue_reason, days_past_due, dpd_bucket "
        "from core.instalments order by 1, 2"
    ).fetchall()
    assert flags == [
        ("L1", 1, False, None, 0, "current"),
        ("L1", 2, True, "paid late", 9, "1-30"),
        ("L1", 3, True, "paid short", 14, "1-30"),
        ("L2", 1, False, None, 0, "current"),
        ("L2", 2, True, "unpaid past due", 28, "1-30"),
        ("L2", 3, False, None, 0, "current"),
        ("L3", 1, False, None, 0, "current"),
        ("L3", 2, True, "unpaid past due", 95, "90+"),
        ("L3", 3, True, "unpaid past due", 64, "61-90"),
        ("L3", 4, True, "unpaid past due", 33, "31-60"),
    ]
    loans = warehouse.execute(
        "select loan_id, amount_band, max_dpd, overdue_amount, outstanding_amount, status from core.loans order by 1"
    ).fetchall()
    assert loans == [
        ("L1", "до 50 000", 14, Decimal("4000.00"), Decimal("4000.00"), "overdue"),
        ("L2", "50 000 – 100 000", 28, Decimal("26000.00"), Decimal("52000.00"), "overdue"),
        ("L3", "500 000 и выше", 95, Decimal("480000.00"), Decimal("480000.00"), "default"),
    ]

    by_month = warehouse.execute(
        "select month::text, amount_band, contracts_due, contracts_overdue, overdue_share_pct, amount_issued, "
        "amount_overdue from mart.overdue_by_month order by 1, 2"
    ).fetchall()
    big, mid, small = "500 000 и выше", "50 000 – 100 000", "до 50 000"
    assert sorted((m, b, d, o, float(s), float(i), float(a)) for m, b, d, o, s, i, a in by_month) == [
        ("2025-11-01", big, 1, 0, 0.0, 600000.0, 0.0),
        ("2025-12-01", big, 1, 1, 100.0, 600000.0, 160000.0),
        ("2026-01-01", mid, 1, 0, 0.0, 75000.0, 0.0),
        ("2026-01-01", big, 1, 1, 100.0, 600000.0, 160000.0),
        ("2026-01-01", small, 1, 0, 0.0, 40000.0, 0.0),
        ("2026-02-01", mid, 1, 1, 100.0, 75000.0, 26000.0),
        ("2026-02-01", big, 1, 1, 100.0, 600000.0, 160000.0),
        ("2026-02-01", small, 1, 1, 100.0, 40000.0, 14000.0),
        ("2026-03-01", mid, 1, 0, 0.0, 75000.0, 0.0),
        ("2026-03-01", small, 1, 1, 100.0, 40000.0, 14000.0),
    ]

    notifications = warehouse.execute(
        "select loan_id, client_name, days_past_due, dpd_bucket, amount_overdue, priority, channel "
        "from mart.overdue_notifications order by priority, loan_id"
    ).fetchall()
    assert notifications == [
        ("L3", "Сидоров Пётр Ильич", 95, "90+", Decimal("480000.00"), 1, "письмо и передача во взыскание"),
        ("L1", "Иванов Иван Иванович", 14, "1-30", Decimal("4000.00"), 3, "SMS"),
        ("L2", "Петрова Анна Сергеевна", 28, "1-30", Decimal("26000.00"), 3, "SMS"),
    ]

    par = warehouse.execute(
        "select outstanding_amount, par30_amount, par90_amount, par30_pct, par90_pct "
        "from mart.portfolio_at_risk where month = '2026-03-01'"
    ).fetchone()
    assert par == (
        Decimal("536000.00"),
        Decimal("480000.00"),
        Decimal("480000.00"),
        Decimal("89.55"),
        Decimal("89.55"),
    )

    refreshed = warehouse.execute(
        "select mart, last_batch_id, last_part_no from meta.mart_refresh order by 1"
    ).fetchall()
    assert ("mart.overdue_by_month", "golden", 1) in refreshed


def test_invalid_core_records_are_quarantined_and_counts_reconcile(warehouse, landing):
    clients = pd.DataFrame({"client_id": [1, 2], "full_name": ["А Б В", "Г Д Е"], "income": [50000, -5]})
    loans = pd.DataFrame(
        {
            "loan_id": ["OK", "NEG", "NOCLIENT", "BADDATE"],
            "client_id": [1, 1, 77, 1],
            "amount": [10000, -100, 10000, 10000],
            "term_months": [1, 1, 1, 1],
            "issue_date": ["2026-01-01", "2026-01-01", "2026-01-01", "2026-02-30"],
        }
    )
    payments = pd.DataFrame(
        {
            "loan_id": ["OK", "OK", "GHOST", "OK"],
            "instalment_no": [1, 2, 1, 3],
            "due_date": ["2026-02-01", "2025-12-01", "2026-02-01", "2026-02-01"],
            "amount_due": [10000, 10000, 10000, -1],
            "paid_date": ["2026-02-01", None, None, None],
            "amount_paid": [10000, None, None, None],
        }
    )
    write_partition(landing_root(landing), "q", 1, {"clients": clients, "loans": loans, "payments": payments})
    (part,) = [p.to_xcom() for p in list_landed_parts(landing_root(landing))]
    load_partition(part)
    stats = build_core_for_part(part)["entities"]
    reasons = dict(
        warehouse.execute(
            "select raw::jsonb ->> coalesce(case entity when 'clients' then 'client_id' end, 'loan_id') "
            "|| coalesce('#' || (raw::jsonb ->> 'instalment_no'), ''), reason from meta.quarantine where layer = 'core'"
        ).fetchall()
    )
    assert reasons == {
        "2": "negative income",
        "NEG": "non-positive amount -100",
        "NOCLIENT": "loan for unknown client 77",
        "BADDATE": "impossible issue_date 2026-02-30",
        "OK#2": "due_date before the loan's issue_date",
        "GHOST#1": "payment for unknown loan GHOST",
        "OK#3": "negative amount_due -1",
    }
    counts = {
        k: {c: n for c, n in stats[k].items() if c != "seconds"} for k in ("clients", "loans", "payments")
    }
    assert counts == {
        "clients": {"staged": 2, "quarantined": 1, "applied": 1},
        "loans": {"staged": 4, "quarantined": 3, "applied": 1},
        "payments": {"staged": 4, "quarantined": 3, "applied": 1},
    }
    for entity, table in (
        ("clients", "core.clients"),
        ("loans", "core.loans"),
        ("payments", "core.instalments"),
    ):
        assert warehouse.execute(f"select count(*) from {table}").fetchone()[0] == stats[entity]["applied"]


def test_a_client_id_that_is_no_integer_of_at_most_15_digits_is_quarantined_not_fatal(warehouse, landing):
    """A huge, fractional or negative id is quarantined with its reason; the rest of the part is applied."""
    loans = pd.DataFrame(
        {
            "loan_id": ["L1", "L2", "L3"],
            "client_id": [1, 2, 1000],
            "amount": [10000, 20000, 30000],
            "term_months": [1, 1, 1],
            "issue_date": ["2026-01-01"] * 3,
        }
    )
    clients = pd.DataFrame({"client_id": [1], "full_name": ["x"], "income": [1]})
    write_partition(landing_root(landing), "ids", 1, {"clients": clients, "loans": loans})
    part_dir = Path(landing) / "ids" / "part-0001"
    # Written by hand as an export may have them: JSON allows any of these spellings of a number.
    body = (
        "\n".join(
            [
                '{"client_id": 1, "full_name": "Иванов Иван Иванович", "income": 50000}',
                '{"client_id": 2.0, "full_name": "Петрова Анна Сергеевна", "income": 60000}',
                '{"client_id": 1e3, "full_name": "Сидоров Пётр Ильич", "income": 70000}',
                '{"client_id": 99999999999999999999, "full_name": "Огромный Номер", "income": 1}',
                '{"client_id": 1.5, "full_name": "Дробный Номер", "income": 1}',
                '{"client_id": -7, "full_name": "Отрицательный Номер", "income": 1}',
            ]
        ).encode()
        + b"\n"
    )
    (part_dir / "clients.jsonl").write_bytes(body)
    manifest = json.loads((part_dir / "_manifest.json").read_text())
    manifest["files"]["clients"].update(rows=6, sha256=hashlib.sha256(body).hexdigest())
    (part_dir / "_manifest.json").write_text(json.dumps(manifest))

    (part,) = [p.to_xcom() for p in list_landed_parts(landing_root(landing))]
    assert load_partition(part)["entities"]["clients"]["staged"] == 6
    stats = build_core_for_part(part)["entities"]
    assert stats["clients"] | {"seconds": 0} == {"staged": 6, "quarantined": 3, "applied": 3, "seconds": 0}
    reasons = warehouse.execute(
        "select raw::jsonb ->> 'client_id', reason from meta.quarantine where entity = 'clients' order by line_no"
    ).fetchall()
    assert reasons == [
        ("99999999999999999999", "client_id is not a positive integer"),
        ("1.5", "client_id is not a positive integer"),
        ("-7", "client_id is not a positive integer"),
    ]
    assert warehouse.execute("select client_id from core.clients order by 1").fetchall() == [
        (1,),
        (2,),
        (1000,),
    ]
    assert warehouse.execute("select loan_id, client_id from core.loans order by 1").fetchall() == [
        ("L1", 1),
        ("L2", 2),
        ("L3", 1000),
    ]


def test_within_a_part_the_last_version_of_an_instalment_wins(warehouse, landing):
    clients = pd.DataFrame({"client_id": [1], "full_name": ["А Б В"], "income": [50000]})
    loans = pd.DataFrame(
        {
            "loan_id": ["L"],
            "client_id": [1],
            "amount": [10000],
            "term_months": [2],
            "issue_date": ["2026-01-01"],
        }
    )
    payments = pd.DataFrame(
        {
            "loan_id": ["L", "L", "L", "L"],
            "instalment_no": pd.Series([1, 2, 1, 2.5], dtype=object),  # 2.5: no such instalment
            "due_date": ["2026-02-01", "2026-03-01", "2026-02-01", "2026-03-01"],
            "amount_due": [5000, 5000, 5000, 5000],
            "paid_date": [None, None, "2026-02-03", None],  # line 3 corrects line 1: paid, 2 days late
            "amount_paid": [None, None, 5000, None],
        }
    )
    write_partition(landing_root(landing), "v", 1, {"clients": clients, "loans": loans, "payments": payments})
    (part,) = [p.to_xcom() for p in list_landed_parts(landing_root(landing))]
    load_partition(part)
    build_core_for_part(part)
    rows = warehouse.execute(
        "select instalment_no, paid_date::text, amount_paid from core.instalments order by 1"
    ).fetchall()
    assert rows == [(1, "2026-02-03", Decimal("5000.00")), (2, None, None)]
    assert warehouse.execute(
        "select reason from meta.quarantine where layer = 'core' and entity = 'payments'"
    ).fetchall() == [("impossible instalment_no 2.5",)]


def _marts(conn) -> dict:
    return {
        t: sorted(conn.execute(f"select * from mart.{t}").fetchall())
        for t in ("overdue_by_month", "portfolio_at_risk", "overdue_notifications")
    }


@pytest.fixture(scope="module")
def reference_marts(tmp_path_factory, test_database):
    """Marts from 3 cumulative parts applied in one go (computed once per module)."""
    import psycopg

    from client_dwh.warehouse.ddl import create_schema

    landing = str(tmp_path_factory.mktemp("ref"))
    generate_and_land(
        clients=150, parts=3, seed=21, batch="r", as_of=dt.date(2026, 3, 15), landing_url=landing
    )
    with psycopg.connect(test_database, autocommit=True) as conn:
        conn.execute("drop schema if exists staging, core, mart, mart_next, meta cascade")
        with conn.transaction():
            create_schema(conn)
        run_pipeline_steps(landing, AS_OF)
        return _marts(conn)


@pytest.mark.parametrize("cumulative", [True, False], ids=["cumulative", "delta"])
def test_part_by_part_gives_the_same_marts_as_all_at_once(reference_marts, warehouse, landing, cumulative):
    generate_and_land(
        clients=150,
        parts=3,
        seed=21,
        batch="r",
        cumulative=cumulative,
        as_of=dt.date(2026, 3, 15),
        landing_url=landing,
    )
    run_pipeline_steps(landing, AS_OF, one_part_at_a_time=True)
    marts = _marts(warehouse)
    assert marts["overdue_by_month"] and marts["overdue_notifications"]
    assert marts == reference_marts
    # Client history: changed clients keep their earlier version with validity dates.
    versions = warehouse.execute(
        "select count(*) filter (where not is_current and valid_to is not null), count(distinct client_id) "
        "from core.clients"
    ).fetchone()
    landed = generate_source_system(150, seed=21, as_of=dt.date(2026, 3, 15))["clients"]
    assert versions[0] > 0 and versions[1] == len(landed) >= 150  # and the clients new this month


def test_rerunning_a_day_changes_nothing(warehouse, landing):
    _land_golden(landing)
    run_pipeline_steps(landing, AS_OF)
    core = warehouse.execute("select * from core.instalments order by 1, 2").fetchall()
    marts = _marts(warehouse)
    flag_overdue_instalments(AS_OF)
    build_marts(AS_OF)
    publish_marts(run_id="again", last_part=None)
    assert warehouse.execute("select * from core.instalments order by 1, 2").fetchall() == core
    assert _marts(warehouse) == marts


def test_amount_bands_at_their_bounds(warehouse, landing):
    amounts = [0.01, 49_999.99, 50_000, 99_999.99, 100_000, 499_999.99, 500_000]
    clients = pd.DataFrame(
        {"client_id": [1], "full_name": ["Иванов Иван Иванович"], "gender": ["M"], "birth_date": ["1980-01-01"],
         "income": [60000], "phone": ["+79990000001"]}
    )  # fmt: skip
    loans = pd.DataFrame(
        {"loan_id": [f"B{i}" for i in range(len(amounts))], "client_id": 1, "amount": amounts, "term_months": 3,
         "issue_date": "2026-01-10"}
    )  # fmt: skip
    write_partition(landing_root(landing), "bands", 1, {"clients": clients, "loans": loans})
    for part in list_landed_parts(landing_root(landing)):
        load_partition(part.to_xcom())
        build_core_for_part(part.to_xcom())
    bands = [b for (b,) in warehouse.execute("select amount_band from core.loans order by amount")]
    small, mid, large, top = "до 50 000", "50 000 – 100 000", "100 000 – 500 000", "500 000 и выше"
    assert bands == [small, small, mid, mid, large, large, top]


def test_a_key_the_part_brings_twice_takes_its_later_line(warehouse, landing):
    """Two versions of one record in one part (a source that appends corrections): core applies the later
    line's version; a part without a repeated key skips the latest-version anti-join and still applies
    every row."""
    clients = pd.DataFrame(
        {"client_id": [1, 2, 1], "full_name": ["Иванов Иван Иванович", "Петрова Анна Сергеевна", "Иванов Иван Иванович"],
         "gender": ["M", "F", "M"], "birth_date": ["1980-01-01", "1990-05-05", "1980-01-01"],
         "income": [60000, 90000, 75000], "phone": ["+79990000001", "+79990000002", "+79990000001"]}
    )  # fmt: skip
    loans = pd.DataFrame(
        {"loan_id": ["L1", "L2"], "client_id": [1, 2], "amount": [100000, 50000], "term_months": 3,
         "issue_date": "2026-01-10"}
    )  # fmt: skip
    payments = pd.DataFrame(
        {"loan_id": ["L1", "L1", "L1"], "instalment_no": [1, 2, 1], "due_date": ["2026-02-10", "2026-03-10", "2026-02-10"],
         "amount_due": [34000.0, 33000.0, 34000.0], "paid_date": [None, None, "2026-02-12"],
         "amount_paid": [None, None, 34000.0]}
    )  # fmt: skip
    write_partition(
        landing_root(landing), "twice", 1, {"clients": clients, "loans": loans, "payments": payments}
    )
    (part,) = [p.to_xcom() for p in list_landed_parts(landing_root(landing))]
    load_partition(part)
    build_core_for_part(part)

    assert warehouse.execute("select client_id, income from core.clients order by 1").fetchall() == [
        (1, 75000),
        (2, 90000),
    ]
    assert warehouse.execute(
        "select instalment_no, paid_date::text, amount_paid from core.instalments order by 1"
    ).fetchall() == [(1, "2026-02-12", Decimal("34000.00")), (2, None, None)]
    assert warehouse.execute("select loan_id from core.loans order by 1").fetchall() == [("L1",), ("L2",)]


def test_a_failed_check_keeps_the_previous_loan_marts(warehouse, landing):
    _land_golden(landing)
    run_pipeline_steps(landing, AS_OF)
    marts = _marts(warehouse)
    refreshed = warehouse.execute("select * from meta.mart_refresh order by mart").fetchall()
    # Client 3 is no longer current (say, closed by hand in core): its loan L3 becomes an orphan.
    warehouse.execute("update core.clients set is_current = false where client_id = 3")
    with pytest.raises(MartCheckFailed, match=r"include/sql/checks/marts.sql: .*no_orphan_loans"):
        process_parts([], AS_OF, run_id="broken")
    assert _marts(warehouse) == marts
    assert warehouse.execute("select * from meta.mart_refresh order by mart").fetchall() == refreshed


def test_month_flows_in_ranges_of_loans_give_the_same_states(warehouse, landing, monkeypatch):
    """A book bigger than core.LOANS_PER_RANGE gets its delinquency, month flows and month states range by
    range: the same loan states, flows and month states as in one range."""
    from client_dwh.warehouse import core

    generate_and_land(
        clients=150, parts=1, seed=5, batch="g", as_of=dt.date(2026, 3, 15), landing_url=landing
    )
    run_pipeline_steps(landing, AS_OF)
    states = "select * from core.loan_month_states order by month, loan_id"
    flows = "select * from meta.loan_month_flows order by loan_id, month"
    loan_states = "select * from core.loans order by loan_id"
    whole = tuple(warehouse.execute(q).fetchall() for q in (states, flows, loan_states))
    loans = warehouse.execute("select count(*) from core.loans").fetchone()[0]
    monkeypatch.setattr(core, "LOANS_PER_RANGE", 7)
    with core.connect() as conn:
        assert len(core._loan_ranges(conn)) == -(-loans // 7) > 10
    flag_overdue_instalments(AS_OF)
    assert tuple(warehouse.execute(q).fetchall() for q in (states, flows, loan_states)) == whole
    assert whole[0] and len(whole[1]) > loans


def test_each_ranges_month_states_are_planned_on_statistics_that_cover_it(
    warehouse, test_database, landing, monkeypatch
):
    """The month states of a range read meta.loan_month_flows, filled range by range meanwhile: when they
    are planned, the table's statistics must already cover the range. (Without, a range past the last
    histogram bound was estimated at 40 rows instead of ~975,000 at a million clients, and planned as a
    nested loop that ran for more than 8 minutes.) Here: the planner's row estimate for each range, taken
    just before its month states run, is not far below the rows the range holds."""
    import psycopg

    from client_dwh.warehouse import core

    generate_and_land(
        clients=150, parts=1, seed=5, batch="g", as_of=dt.date(2026, 3, 15), landing_url=landing
    )
    run_pipeline_steps(landing, AS_OF)
    monkeypatch.setattr(core, "LOANS_PER_RANGE", 7)
    run_for_range = core._run_for_range
    seen = []

    def planned_then_run(conn, sql_file, params, number, loan_range):
        if sql_file == "core/loan_month_states.sql":
            where = " and ".join(
                clause
                for clause, bound in (
                    ("loan_id >= %(lo)s", loan_range[0]),
                    ("loan_id < %(hi)s", loan_range[1]),
                )
                if bound is not None
            )
            bounds = {"lo": loan_range[0], "hi": loan_range[1]}
            with psycopg.connect(test_database, autocommit=True) as look:
                ((plan,),) = look.execute(
                    f"explain (format json) select * from meta.loan_month_flows where {where}", bounds
                ).fetchall()
                (actual,) = look.execute(
                    f"select count(*) from meta.loan_month_flows where {where}", bounds
                ).fetchone()
            seen.append((number, plan[0]["Plan"]["Plan Rows"], actual))
        run_for_range(conn, sql_file, params, number, loan_range)

    monkeypatch.setattr(core, "_run_for_range", planned_then_run)
    flag_overdue_instalments(AS_OF)
    assert len(seen) > 10 and all(actual > 0 for _, _, actual in seen)
    # an estimate far below the rows is what turns a join into a nested loop; above is harmless
    assert [(number, plan, actual) for number, plan, actual in seen if plan < actual / 3] == []
