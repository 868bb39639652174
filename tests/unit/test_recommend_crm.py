import io

import pandas as pd
import pytest
from fixtures.crm_export import generate_crm_csv

from client_dwh.sources.formats.crm import clean_crm_clients, normalise_email, normalise_name, normalise_phone


@pytest.mark.parametrize(
    "raw",
    [
        "89161234567",
        "+7 (916) 123-45-67",
        "79161234567",
        "9161234567",
        "8-916-123-45-67",
        " +7 916 123 45 67 ",
    ],
)
def test_phone_formats_normalise_to_plus_seven(raw):
    assert normalise_phone(pd.Series([raw]))[0] == "+79161234567"


@pytest.mark.parametrize("raw", ["12345", "59161234567", "+1 415 555 2671 00", "", None])
def test_bad_phones_become_missing(raw):
    assert pd.isna(normalise_phone(pd.Series([raw]))[0])


def test_names_trimmed_and_title_cased_including_cyrillic():
    names = normalise_name(pd.Series(["  иванов   иван ", "ПЕТРОВА АННА-МАРИЯ", "john smith", "  "]))
    assert names[:3].tolist() == ["Иванов Иван", "Петрова Анна-Мария", "John Smith"]
    assert pd.isna(names[3])


def test_emails_lower_cased_and_validated():
    emails = normalise_email(
        pd.Series([" Ivan@Mail.RU ", "ivan@", "ivan.mail.ru", "a..b@x.ru", "почта@пример.рф"])
    )
    assert emails[0] == "ivan@mail.ru"
    assert emails[1:4].isna().all()
    assert emails[4] == "почта@пример.рф"


def _raw():
    return pd.DataFrame(
        {
            "crm_id": ["1", "2", "3", "4", "5", "6", "7", "8"],
            "full_name": [
                "иванов иван",
                "ИВАНОВ ИВАН",
                "Петров Пётр",
                "петров пётр",
                "",
                "Сидоров",
                "Кузнецов",
                "Орлов",
            ],
            "phone": [
                "8 916 111-22-33",
                "+79161112233",
                "9162223344",
                "",
                "89163334455",
                "123",
                "",
                "89165556677",
            ],
            "email": ["", "IVAN@mail.ru", "petr@mail.ru", "Petr@Mail.ru", "x@y.ru", "bad@", "", "orlov@"],
            "updated_at": [
                "2024-01-01",
                "2024-02-01",
                "2024-01-01",
                "2024-03-01",
                "2024-01-01",
                "2024-01-01",
                "2024-01-01",
                "2024-01-01",
            ],
        }
    )


def test_duplicates_merged_into_most_complete_latest_record():
    clean, _, stats = clean_crm_clients(_raw())
    ivan = clean[clean["full_name"] == "Иванов Иван"]
    assert len(ivan) == 1
    # both duplicates have a phone; crm 2 also has an e-mail and is later
    assert ivan.iloc[0]["crm_id"] == "2"
    assert ivan.iloc[0]["email"] == "ivan@mail.ru"
    assert ivan.iloc[0]["merged_rows"] == 2
    petr = clean[clean["full_name"] == "Петров Пётр"]
    assert len(petr) == 1 and petr.iloc[0]["phone"] == "+79162223344"  # merged on e-mail, phone kept
    assert stats.merged_away == 2


def test_quarantine_reasons_and_reconciliation():
    clean, quarantine, stats = clean_crm_clients(_raw())
    reasons = dict(zip(quarantine["crm_id"], quarantine["reason"], strict=True))
    assert reasons == {"5": "no_name", "6": "invalid_phone_and_email", "7": "no_contact"}
    orlov = clean[clean["full_name"] == "Орлов"].iloc[0]
    assert pd.isna(orlov["email"]) and "invalid e-mail dropped" in orlov["issues"]
    assert stats.rows_in == 8 and stats.quarantined == 3 and stats.clean == 3
    assert stats.reconciles
    assert clean["client_key"].is_unique


def test_generated_crm_csv_cleans_and_reconciles():
    text = generate_crm_csv(n_clients=400, seed=3)
    raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    clean, quarantine, stats = clean_crm_clients(raw)
    assert stats.rows_in == len(raw) == stats.clean + stats.merged_away + stats.quarantined
    assert stats.merged_away > 0 and stats.quarantined > 0
    assert clean["phone"].dropna().str.fullmatch(r"\+7\d{10}").all()
    assert not clean["phone"].dropna().duplicated().any()
    assert not clean["email"].dropna().duplicated().any()
    assert set(quarantine["reason"]) <= {
        "no_name",
        "no_contact",
        "invalid_phone",
        "invalid_email",
        "invalid_phone_and_email",
    }
    assert generate_crm_csv(n_clients=400, seed=3) == text
