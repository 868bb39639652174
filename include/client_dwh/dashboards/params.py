"""Validated query parameters: the closed vocabularies of the marts and paging limits.

Names here are the marts' own values, so a filter never reaches SQL unless it is one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import Query

from client_dwh.amount_bands import AMOUNT_BANDS

MAX_PAGE_SIZE = 1000


# Loan amount bands of core.loans, in numeric order (client_dwh/amount_bands.py).
AmountBand = StrEnum("AmountBand", [(band.key, band.label) for band in AMOUNT_BANDS])


class ClientSegment(StrEnum):
    """Bank-client segments by distinct products used (mart.client_segments)."""

    one_product = "1 продукт"
    two_products = "2 продукта"
    three_plus_products = "3+ продуктов"


class DpdBucket(StrEnum):
    """Days-past-due buckets of mart.overdue_notifications."""

    dpd_1_30 = "1-30"
    dpd_31_60 = "31-60"
    dpd_61_90 = "61-90"
    dpd_90_plus = "90+"


class RollFromBucket(StrEnum):
    """Buckets a loan rolls from in mart.roll_rates (include/sql/mart/roll_rates.sql)."""

    current = "current"
    dpd_1_30 = "1-30"
    dpd_31_60 = "31-60"
    dpd_61_90 = "61-90"
    dpd_90_plus = "90+"


class Direction(StrEnum):
    asc = "asc"
    desc = "desc"


# Free-text identifiers that colleagues' marts define (RFM segment names, portrait ids, variants):
# not an enum yet, but bounded and bound as parameters, never formatted into SQL.
Identifier = Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[\w .+&'’/-]+$")]
RunId = Annotated[str, Query(min_length=1, max_length=250)]
ClientId = Annotated[int, Query(ge=1, le=2**63 - 1)]
Score = Annotated[int, Query(ge=1, le=5)]


@dataclass(frozen=True)
class Paging:
    limit: int
    offset: int


def paging(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Rows per page")] = 100,
    offset: Annotated[int, Query(ge=0, le=100_000_000, description="Rows to skip")] = 0,
) -> Paging:
    """limit/offset paging for the JSON API."""
    return Paging(limit=limit, offset=offset)


def page_paging(
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> Paging:
    """page/page_size paging for the HTML pages."""
    return Paging(limit=page_size, offset=(page - 1) * page_size)
