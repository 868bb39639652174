"""Masking of personal data and who counts as an admin."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from client_dwh.dashboards.privacy import is_admin, mask_name, mask_phone, mask_rows


@pytest.mark.parametrize(
    "name, masked",
    [
        ("Иванов Иван Иванович", "Иванов И. И."),
        ("Петрова Анна", "Петрова А."),
        ("Cher", "Cher"),
        (None, None),
    ],
)
def test_mask_name_keeps_the_surname_and_initials(name, masked):
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    "phone, masked",
    [("+79161234567", "+7******4567"), ("+7 (916) 123-45-67", "+7******4567"), ("89161234567", "8******4567"),
     ("123", "***"), (None, None)],
)  # fmt: skip
def test_mask_phone_keeps_the_country_code_and_last_four_digits(phone, masked):
    assert mask_phone(phone) == masked


def test_admin_role_comes_from_the_auth_manager_user():
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    assert is_admin(SimpleAuthManagerUser(username="a", role="admin"))
    assert is_admin(SimpleAuthManagerUser(username="a", role="ADMIN"))
    assert not is_admin(SimpleAuthManagerUser(username="v", role="viewer"))
    assert not is_admin(SimpleAuthManagerUser(username="n", role=None))
    assert is_admin(SimpleNamespace(roles=[SimpleNamespace(name="Admin")]))  # FAB-style user
    assert not is_admin(SimpleNamespace(roles=[SimpleNamespace(name="Viewer")]))
    assert not is_admin(object())


def test_mask_rows_masks_only_for_non_admins():
    rows = [{"client_name": "Иванов Иван Иванович", "phone": "+79161234567", "loan_id": "L1"}]
    assert mask_rows(rows, ["client_name", "phone"], admin=True) == rows
    assert mask_rows(rows, ["client_name", "phone"], admin=False) == [
        {"client_name": "Иванов И. И.", "phone": "+7******4567", "loan_id": "L1"}
    ]
