"""Loan-amount bands: one definition, numeric order everywhere users see them (issue 14)."""

from __future__ import annotations

import json

import pytest

from client_dwh.amount_bands import AMOUNT_BANDS, LABELS, SQL_PARAMS, band_of

NUMERIC_ORDER = ["до 50 000", "50 000 – 100 000", "100 000 – 500 000", "500 000 и выше"]


def test_bands_are_defined_once_in_numeric_order():
    assert list(LABELS) == NUMERIC_ORDER
    assert [b.lower for b in AMOUNT_BANDS] == sorted(b.lower for b in AMOUNT_BANDS)
    assert SQL_PARAMS == {
        "amount_band_labels": NUMERIC_ORDER,
        "amount_band_bounds": [50_000, 100_000, 500_000],
    }


@pytest.mark.parametrize(
    ("amount", "band"),
    [(0.01, "до 50 000"), (49_999.99, "до 50 000"), (50_000, "50 000 – 100 000"),
     (99_999.99, "50 000 – 100 000"), (100_000, "100 000 – 500 000"), (500_000, "500 000 и выше")],
)  # fmt: skip
def test_band_of_an_amount(amount, band):
    assert band_of(amount) == band


def test_dashboard_filter_offers_the_bands_in_numeric_order():
    from client_dwh.dashboards.params import AmountBand

    assert [b.value for b in AmountBand] == NUMERIC_ORDER


def test_chart_legend_lists_the_bands_in_numeric_order_whatever_the_row_order():
    from client_dwh.dashboards.charts import overdue_share

    rows = [{"month": "2026-01-01", "amount_band": b, "share": 1.0} for b in sorted(NUMERIC_ORDER)]
    assert sorted(NUMERIC_ORDER) != NUMERIC_ORDER  # text order would put 100 000 before 50 000
    figure = json.loads(overdue_share(rows))
    assert [trace["name"] for trace in figure["data"]] == NUMERIC_ORDER
