"""Who may see personal data, and how it is masked for everyone else.

Admins see client names and phones in full; every other role sees ``Иванов И. И.`` and ``+7******4567``.
The role comes from the Airflow auth manager's user object: SimpleAuthManager users carry ``role``
(admin/op/user/viewer), FAB users carry ``roles`` (``Admin`` …). Unknown user types are not admins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

ADMIN_ROLE = "admin"


def is_admin(user: Any) -> bool:
    role = getattr(user, "role", None)
    if isinstance(role, str):
        return role.casefold() == ADMIN_ROLE
    roles = getattr(user, "roles", None) or ()
    return any(str(getattr(r, "name", r)).casefold() == ADMIN_ROLE for r in roles)


def mask_name(full_name: str | None) -> str | None:
    """'Иванов Иван Иванович' -> 'Иванов И. И.' (surname kept, the other names as initials)."""
    if not full_name:
        return full_name
    surname, *others = full_name.split()
    return " ".join([surname, *(f"{name[0]}." for name in others)])


def mask_phone(phone: str | None) -> str | None:
    """'+79161234567' -> '+7******4567': country code and the last four digits, the rest starred."""
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    if len(digits) <= 5:
        return "*" * len(digits)
    prefix = ("+" if phone.lstrip().startswith("+") else "") + digits[0]
    return prefix + "*" * (len(digits) - 5) + digits[-4:]


MASKS = {"client_name": mask_name, "phone": mask_phone}


def mask_rows(rows: Iterable[dict[str, Any]], personal: Iterable[str], admin: bool) -> list[dict[str, Any]]:
    """Rows as they may be shown to this user (a copy; admins get them unchanged)."""
    rows = list(rows)
    if admin:
        return rows
    columns = [c for c in personal if c in MASKS]
    return [{**row, **{c: MASKS[c](row.get(c)) for c in columns}} for row in rows]
