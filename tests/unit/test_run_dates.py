"""The one rule for a run's as-of date: Param, else logical date, else run_after (all as UTC days)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from client_dwh.run_dates import run_as_of_date

MOSCOW = dt.timezone(dt.timedelta(hours=3))


def test_the_param_wins_over_both_dates():
    run = SimpleNamespace(logical_date=dt.datetime(2026, 1, 5, tzinfo=dt.UTC), run_after=None)
    assert run_as_of_date({"as_of_date": "2025-12-31"}, run) == dt.date(2025, 12, 31)


def test_the_logical_date_as_a_utc_day():
    # 01:30 in Moscow on 6 January is still 5 January in UTC, as `ds` would say.
    run = SimpleNamespace(
        logical_date=dt.datetime(2026, 1, 6, 1, 30, tzinfo=MOSCOW),
        run_after=dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
    )
    assert run_as_of_date({"as_of_date": None}, run) == dt.date(2026, 1, 5)


def test_a_run_without_logical_date_takes_the_day_it_was_made_for():
    run = SimpleNamespace(logical_date=None, run_after=dt.datetime(2026, 11, 23, 23, 59, tzinfo=dt.UTC))
    assert run_as_of_date({}, run) == dt.date(2026, 11, 23)
    assert run_as_of_date(None, run) == dt.date(2026, 11, 23)
