"""Online-retail purchase lines in the shape of the UCI "Online Retail" export, quirks included.

Every field is a string exactly as that export writes it (``CustomerID`` like ``17850.0`` or empty,
``InvoiceDate`` like ``2010-12-01 08:26:00``), so the warehouse handles generated and imported files
alike. Customers differ in how often, how recently and how much they buy, so every RFM segment shows
up; about 20 % of lines have no customer, about 2 % are cancellations (``C`` invoices, negative
quantities), and a few lines carry a zero or negative price (manual adjustments, bad debt).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from client_dwh.sources.formats.retail import with_line_ids
from client_dwh.sources.synthetic.ids import WHOLE, IdStride

COUNTRIES = ("United Kingdom", "Germany", "France", "EIRE", "Spain", "Netherlands", "Belgium", "Switzerland")
COUNTRY_WEIGHTS = np.array([0.88, 0.03, 0.03, 0.02, 0.01, 0.01, 0.01, 0.01])
COLOURS = ("WHITE", "RED", "PINK", "BLUE", "GREEN", "IVORY", "VINTAGE", "REGENCY", "JUMBO", "SET OF 3")
THINGS = ("HANGING HEART T-LIGHT HOLDER", "METAL LANTERN", "CAKE STAND", "LUNCH BAG", "TEA CUP AND SAUCER",
          "PAPER CHAIN KIT", "HOT WATER BOTTLE", "CAKE CASES", "ALARM CLOCK", "STORAGE JAR", "BUNTING",
          "DOORMAT", "GIFT WRAP", "PICNIC BASKET", "PHOTO FRAME")  # fmt: skip
QUANTITIES = np.array([1, 2, 3, 4, 6, 8, 12, 24, 48])
QUANTITY_WEIGHTS = np.array([0.2, 0.15, 0.08, 0.1, 0.17, 0.05, 0.17, 0.06, 0.02])
SOURCE = "synthetic"
FIRST_INVOICE_NO = 536365
FIRST_CANCELLATION_NO = 700000
FIRST_ADJUSTMENT_NO = 563185
FIRST_CUSTOMER_ID = 12346
HISTORY_DAYS = 373


def stock_catalogue(rng: np.random.Generator) -> pd.DataFrame:
    colour, thing = np.meshgrid(np.arange(len(COLOURS)), np.arange(len(THINGS)))
    colour, thing = colour.ravel(), thing.ravel()
    n = colour.size
    return pd.DataFrame(
        {
            "StockCode": [str(20000 + 97 * i) + ("A" if i % 7 == 0 else "") for i in range(n)],
            "Description": np.char.add(
                np.char.add(np.asarray(COLOURS)[colour], " "), np.asarray(THINGS)[thing]
            ).astype(object),
            "price": np.round(np.exp(rng.normal(np.log(2.5), 0.8, n)), 2).clip(0.19, 49.95),
        }
    )


def generate_retail_purchases(
    n_customers: int, rng: np.random.Generator, as_of: dt.date, ids: IdStride = WHOLE
) -> pd.DataFrame:
    """Purchase lines of the year before ``as_of``, plus ``source`` and ``line_id`` (source:row number).

    ``ids`` numbers customers, invoices and rows (a chunk of a larger export takes its share of each).
    """
    stock = stock_catalogue(rng)
    anchor = pd.Timestamp(as_of)
    customer_ids = ids.ids(FIRST_CUSTOMER_ID, n_customers)
    country = np.asarray(COUNTRIES, dtype=object)[rng.choice(len(COUNTRIES), n_customers, p=COUNTRY_WEIGHTS)]

    # Recency: a core of recent buyers and a long tail of lapsed ones; frequency and basket value spread
    # over orders of magnitude, and loosely grow together with recency, as they do in real shops.
    lapsed = rng.random(n_customers) < 0.45
    days_since_last = np.where(
        lapsed, rng.integers(60, HISTORY_DAYS, n_customers), rng.exponential(20, n_customers).astype(int)
    ).clip(0, HISTORY_DAYS - 1)
    invoices = (
        (1 + np.floor(np.exp(rng.normal(0.5 - 0.5 * lapsed, 1.0, n_customers)))).astype(int).clip(1, 80)
    )
    basket_lines = np.exp(rng.normal(np.log(6), 0.7, n_customers))
    span = (rng.random(n_customers) * (HISTORY_DAYS - days_since_last)).astype(int)

    owner = np.repeat(np.arange(n_customers), invoices)
    is_last = np.zeros(owner.size, bool)
    is_last[np.cumsum(invoices) - 1] = True
    days_before_last = np.where(is_last, 0, (rng.random(owner.size) * (span[owner] + 1)).astype(int))
    invoice_day = anchor - pd.to_timedelta(days_since_last[owner] + days_before_last + 1, unit="D")
    customer_invoices = pd.DataFrame(
        {"customer": owner, "day": invoice_day, "lines": 1 + rng.poisson(basket_lines[owner])}
    )
    # Guest checkouts: whole invoices without a customer, about a fifth of all lines.
    n_guest = max(1, int(0.2 / 0.8 * customer_invoices["lines"].sum() / 7))
    guest_invoices = pd.DataFrame(
        {
            "customer": -1,
            "day": anchor - pd.to_timedelta(rng.integers(1, HISTORY_DAYS, n_guest), unit="D"),
            "lines": 1 + rng.poisson(6, n_guest),
        }
    )
    inv = pd.concat([customer_invoices, guest_invoices], ignore_index=True)
    inv["at"] = inv["day"] + pd.to_timedelta(rng.integers(8 * 60, 20 * 60, len(inv)), unit="min")
    inv = inv.sort_values("at", kind="stable", ignore_index=True)
    inv["invoice_no"] = ids.ids(FIRST_INVOICE_NO, len(inv)).astype(str)

    line_inv = np.repeat(np.arange(len(inv)), inv["lines"].to_numpy())
    item = rng.integers(0, len(stock), line_inv.size)
    lines = pd.DataFrame(
        {
            "InvoiceNo": inv["invoice_no"].to_numpy()[line_inv],
            "StockCode": stock["StockCode"].to_numpy()[item],
            "Description": stock["Description"].to_numpy()[item],
            "quantity": QUANTITIES[rng.choice(len(QUANTITIES), line_inv.size, p=QUANTITY_WEIGHTS)],
            "at": inv["at"].to_numpy()[line_inv],
            "price": stock["price"].to_numpy()[item],
            "customer": inv["customer"].to_numpy()[line_inv],
        }
    )
    # Exact duplicate lines, as the real export has (about 1 %).
    duplicates = lines.sample(frac=0.01, random_state=rng.integers(2**31))
    lines = pd.concat(
        [lines, duplicates, _cancellations(lines, rng, anchor, ids), _adjustments(lines, rng, ids)],
        ignore_index=True,
    )
    lines = lines.sort_values(["at", "InvoiceNo"], kind="stable", ignore_index=True)

    known = lines["customer"].to_numpy() >= 0
    customer = customer_ids[np.where(known, lines["customer"].to_numpy(), 0)]
    out = pd.DataFrame(
        {
            "InvoiceNo": lines["InvoiceNo"],
            "StockCode": lines["StockCode"],
            "Description": lines["Description"],
            "Quantity": lines["quantity"].astype(int).astype(str),
            "InvoiceDate": pd.DatetimeIndex(lines["at"]).strftime("%Y-%m-%d %H:%M:%S"),
            "UnitPrice": lines["price"].astype(float).astype(str),
            "CustomerID": np.where(known, pd.Series(customer).astype(float).astype(str), ""),
            "Country": np.where(
                known, country[np.where(known, lines["customer"].to_numpy(), 0)], "United Kingdom"
            ),
        }
    )
    return with_line_ids(out, SOURCE, row_numbers=ids.ids(1, len(out)))


def _cancellations(
    lines: pd.DataFrame, rng: np.random.Generator, anchor: pd.Timestamp, ids: IdStride
) -> pd.DataFrame:
    """About 2 % of lines: a customer returns a line a few days later, on a 'C' invoice."""
    candidates = lines[lines["customer"] >= 0]
    picked = candidates.sample(
        frac=0.02 * len(lines) / max(len(candidates), 1), random_state=rng.integers(2**31)
    )
    cancelled = picked.copy()
    later = cancelled["at"] + pd.to_timedelta(rng.integers(1, 20 * 24 * 60, len(picked)), unit="min")
    cancelled["at"] = later.where(later < anchor, anchor - pd.Timedelta(minutes=1))
    cancelled["InvoiceNo"] = "C" + ids.ids(FIRST_CANCELLATION_NO, len(picked)).astype(str).astype(object)
    cancelled["quantity"] = -np.minimum(picked["quantity"].to_numpy(), rng.integers(1, 13, len(picked)))
    return cancelled


def _adjustments(lines: pd.DataFrame, rng: np.random.Generator, ids: IdStride) -> pd.DataFrame:
    """A few lines with a zero price (free samples) or a negative one ('Adjust bad debt')."""
    free = lines[lines["customer"] >= 0].sample(n=min(5, len(lines)), random_state=rng.integers(2**31)).copy()
    free["price"] = 0.0
    bad_debt = lines.sample(n=min(2, len(lines)), random_state=rng.integers(2**31)).copy()
    bad_debt = bad_debt.assign(
        InvoiceNo="A" + ids.ids(FIRST_ADJUSTMENT_NO, len(bad_debt)).astype(str).astype(object),
        StockCode="B",
        Description="Adjust bad debt",
        quantity=1,
        price=-np.round(rng.uniform(1000, 12000, len(bad_debt)), 2),
        customer=-1,
    )
    return pd.concat([free, bad_debt], ignore_index=True)
