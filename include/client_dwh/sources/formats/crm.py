"""Clean the CRM client export before it reaches the warehouse.

The CRM is filled in by hand at the till, so the same person shows up several times with phones in
different formats, upper-case names and mistyped e-mails. Recommendations and campaign reporting
need one row per real client with a contact we can actually use; everything we cannot trust is
quarantined with a reason so a data steward can fix it at the source.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

# Column aliases seen in CRM exports, mapped to the canonical names used downstream.
COLUMN_ALIASES = {
    "name": "full_name",
    "fio": "full_name",
    "фио": "full_name",
    "client_name": "full_name",
    "phone_number": "phone",
    "телефон": "phone",
    "mail": "email",
    "e-mail": "email",
    "e_mail": "email",
    "id": "crm_id",
    "updated": "updated_at",
}

REASON_NO_NAME = "no_name"
REASON_NO_CONTACT = "no_contact"
REASON_INVALID_PHONE = "invalid_phone"
REASON_INVALID_EMAIL = "invalid_email"
REASON_INVALID_PHONE_AND_EMAIL = "invalid_phone_and_email"

_EMAIL = re.compile(r"^[^\s@.][^\s@]*@[^\s@.]+(?:\.[^\s@.]+)*\.[^\W\d_]{2,}$")
_NON_DIGITS = re.compile(r"\D+")
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class CrmCleaningStats:
    rows_in: int
    clean: int
    merged_away: int
    quarantined: int
    quarantine_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def reconciles(self) -> bool:
        return self.rows_in == self.clean + self.merged_away + self.quarantined

    def as_dict(self) -> dict:
        return asdict(self)


class CrmCleaningResult(NamedTuple):
    """Unpacks as ``clean, quarantine, stats = clean_crm_clients(raw)``."""

    clean: pd.DataFrame
    quarantine: pd.DataFrame
    stats: CrmCleaningStats


def _blank_to_na(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip()
    return text.mask(text.isna() | (text == "") | text.str.lower().isin(["nan", "none", "null"]))


def normalise_name(names: pd.Series) -> pd.Series:
    """Collapse whitespace and title-case (works for Cyrillic and hyphenated names)."""
    text = _blank_to_na(names).str.replace(_WHITESPACE, " ", regex=True)
    return text.str.title()


def normalise_phone(phones: pd.Series) -> pd.Series:
    """Bring Russian phone numbers to ``+7XXXXXXXXXX``; anything else becomes NA.

    Accepts ``8XXXXXXXXXX``, ``7XXXXXXXXXX``, ``+7 (XXX) XXX-XX-XX`` and bare 10-digit numbers.
    """
    digits = _blank_to_na(phones).str.replace(_NON_DIGITS, "", regex=True)
    national = pd.Series(pd.NA, index=phones.index, dtype="string")
    is_eleven = digits.str.len().eq(11) & digits.str[0].isin(["7", "8"])
    is_ten = digits.str.len().eq(10)
    national = national.mask(is_eleven.fillna(False), digits.str[1:])
    national = national.mask(is_ten.fillna(False), digits)
    return ("+7" + national).astype("string")


def normalise_email(emails: pd.Series) -> pd.Series:
    """Lower-case and validate; invalid addresses become NA."""
    text = _blank_to_na(emails).str.lower()
    return text.where(
        text.str.match(_EMAIL).fillna(False) & ~text.str.contains("..", regex=False).fillna(False)
    )


def _stable_client_key(phone: pd.Series, email: pd.Series) -> pd.Series:
    # Keyed on the surviving contact so re-running the import on the same export gives the same ids.
    contact = phone.fillna(email).astype(str)
    return contact.map(lambda value: "cli_" + hashlib.sha1(value.encode("utf-8")).hexdigest()[:12])


def _duplicate_groups(phone: pd.Series, email: pd.Series) -> np.ndarray:
    """Connected components over rows linked by a shared phone or e-mail (transitively)."""
    n_rows = len(phone)
    contact_codes = []
    offset = 0
    row_ids = []
    for values in (phone, email):
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        present = codes >= 0
        row_ids.append(np.flatnonzero(present))
        contact_codes.append(codes[present] + n_rows + offset)
        offset += len(uniques)
    rows = np.concatenate(row_ids)
    nodes = np.concatenate(contact_codes)
    size = n_rows + offset
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, nodes)), shape=(size, size))
    _, labels = connected_components(graph, directed=False)
    return labels[:n_rows]


def clean_crm_clients(df_raw: pd.DataFrame) -> CrmCleaningResult:
    """Normalise, validate and de-duplicate a raw CRM export.

    Expects ``full_name``, ``phone``, ``email`` (common aliases accepted) and optionally ``crm_id``
    and ``updated_at``; other columns are carried through. A row is quarantined when it has no name
    or no usable contact; an invalid phone or e-mail next to a valid other contact is dropped from
    the row and noted in ``issues`` instead. Rows sharing a normalised phone or e-mail (also
    transitively) are merged into the most complete, then latest record, whose missing fields are
    filled from the other duplicates. ``stats.rows_in == clean + merged_away + quarantined``.
    """
    raw = df_raw.rename(columns=lambda c: COLUMN_ALIASES.get(str(c).strip().lower(), str(c).strip().lower()))
    raw = raw.reset_index(drop=True)
    for required in ("full_name", "phone", "email"):
        if required not in raw.columns:
            raw[required] = pd.NA
    rows_in = len(raw)

    name = normalise_name(raw["full_name"])
    phone_given = _blank_to_na(raw["phone"]).notna()
    email_given = _blank_to_na(raw["email"]).notna()
    phone = normalise_phone(raw["phone"])
    email = normalise_email(raw["email"])
    bad_phone = phone_given & phone.isna()
    bad_email = email_given & email.isna()
    has_contact = phone.notna() | email.notna()

    reason = pd.Series(pd.NA, index=raw.index, dtype="string")
    no_contact_reason = np.select(
        [bad_phone & bad_email, bad_phone, bad_email],
        [REASON_INVALID_PHONE_AND_EMAIL, REASON_INVALID_PHONE, REASON_INVALID_EMAIL],
        default=REASON_NO_CONTACT,
    )
    reason = reason.mask(~has_contact, pd.Series(no_contact_reason, index=raw.index, dtype="string"))
    # A missing name is reported first: without it the row is useless even with a contact.
    reason = reason.mask(name.isna(), REASON_NO_NAME)

    quarantine = raw.loc[reason.notna()].copy()
    quarantine.insert(0, "source_row", quarantine.index.to_numpy())
    quarantine["reason"] = reason[reason.notna()]

    kept = reason.isna()
    cleaned = raw.loc[kept].copy()
    cleaned["full_name"] = name[kept]
    cleaned["phone"] = phone[kept]
    cleaned["email"] = email[kept]
    issues = np.where(bad_phone[kept], "invalid phone dropped", "")
    issues = np.char.add(issues, np.where(bad_email[kept] & bad_phone[kept], "; ", ""))
    issues = np.char.add(issues, np.where(bad_email[kept], "invalid e-mail dropped", ""))
    cleaned["issues"] = pd.Series(issues, index=cleaned.index, dtype="string").replace("", pd.NA)
    cleaned["source_row"] = cleaned.index.to_numpy()
    if "updated_at" in cleaned.columns:
        cleaned["updated_at"] = pd.to_datetime(cleaned["updated_at"], errors="coerce", format="mixed")

    cleaned["_group"] = _duplicate_groups(cleaned["phone"], cleaned["email"])
    value_columns = [c for c in cleaned.columns if c not in ("_group", "source_row", "issues")]
    cleaned["_completeness"] = cleaned[value_columns].notna().sum(axis=1)
    sort_columns = ["_group", "_completeness"] + (["updated_at"] if "updated_at" in cleaned.columns else [])
    ascending = [True, False] + ([False] if "updated_at" in cleaned.columns else [])
    ordered = cleaned.sort_values(sort_columns, ascending=ascending, na_position="last", kind="stable")

    grouped = ordered.groupby("_group", sort=False)
    # groupby.first() takes the first non-null per column, i.e. the survivor's value when it has one
    # and otherwise the best duplicate's.
    clean = grouped[value_columns + ["source_row"]].first()
    clean["merged_rows"] = grouped.size().to_numpy()
    clean["issues"] = grouped["issues"].first()
    clean = clean.reset_index(drop=True)
    clean.insert(0, "client_key", _stable_client_key(clean["phone"], clean["email"]).to_numpy())
    clean = clean.sort_values("source_row", kind="stable").reset_index(drop=True)

    merged_away = int(len(cleaned) - len(clean))
    stats = CrmCleaningStats(
        rows_in=rows_in,
        clean=len(clean),
        merged_away=merged_away,
        quarantined=len(quarantine),
        quarantine_reasons={str(k): int(v) for k, v in quarantine["reason"].value_counts().items()},
    )
    return CrmCleaningResult(clean=clean, quarantine=quarantine.reset_index(drop=True), stats=stats)
