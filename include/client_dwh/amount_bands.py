"""Loan-amount bands (RUB): the one definition behind ``core.loans.amount_band``, the marts that group by
it, and the dashboards' filter and legend, in numeric order (never sorted as text, where
"100 000 – 500 000" would come before "50 000 – 100 000")."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AmountBand:
    key: str  # stable identifier (the dashboards' enum member)
    label: str  # the value stored in the warehouse and shown to users
    lower: int  # inclusive lower bound in RUB; the band ends where the next one starts


AMOUNT_BANDS = (
    AmountBand("under_50k", "до 50 000", 0),
    AmountBand("from_50k_to_100k", "50 000 – 100 000", 50_000),
    AmountBand("from_100k_to_500k", "100 000 – 500 000", 100_000),
    AmountBand("from_500k", "500 000 и выше", 500_000),
)
LABELS = tuple(band.label for band in AMOUNT_BANDS)

# Bind parameters of include/sql/core/loans.sql: width_bucket(amount, bounds) counts the bounds an amount
# reaches, so labels[that + 1] (SQL arrays start at 1) is its band.
SQL_PARAMS = {"amount_band_labels": list(LABELS), "amount_band_bounds": [b.lower for b in AMOUNT_BANDS[1:]]}


def band_of(amount: float) -> str:
    """The band label of a (positive) loan amount, as core computes it."""
    return [band.label for band in AMOUNT_BANDS if amount >= band.lower][-1]


def band_position(label: str) -> int:
    """Numeric order of a band (0 = smallest amounts); unknown labels sort last."""
    return LABELS.index(label) if label in LABELS else len(LABELS)
