"""Parse and render the partner catalogue that partners send us as plain text.

Partners maintain their offers in a human-friendly text file rather than a spreadsheet, so the
warehouse needs a tolerant parser that turns it into rows with stable ids and tells the data steward
what it could not understand instead of failing the whole load.

Format (blocks separated by blank lines)::

    <Organisation name> [optional_category]
    <Service 1> - <description (optional)>
    <Service 2>

Lines starting with ``#`` are comments.
"""

from __future__ import annotations

import hashlib
import re

import pandas as pd

SERVICE_COLUMNS = ["partner_name", "partner_category", "service_id", "service_name", "description"]

# Partners type hyphens, en dashes and em dashes interchangeably; the spaces around the dash keep
# hyphenated words such as "Экспресс-мойка" intact.
_NAME_DESCRIPTION_SEPARATOR = re.compile(r"\s+[-\u2013\u2014]\s+")
_LEADING_DASH = re.compile(r"^[-\u2013\u2014]\s+")
_ORGANISATION_WITH_CATEGORY = re.compile(r"^(?P<name>.*?)\s*\[(?P<category>[^\[\]]*)\]\s*$")
_BULLET = re.compile(r"^[*\u2022]\s*")
_WHITESPACE = re.compile(r"\s+")


def _normalise_whitespace(value: str) -> str:
    return _WHITESPACE.sub(" ", value).strip()


def make_service_id(partner_name: str, service_name: str) -> str:
    """Deterministic id from the case- and whitespace-insensitive partner and service names.

    A hash (not a transliterated slug) keeps ids short and stable for Cyrillic names, and does not
    change when a partner only edits the description.
    """
    key = f"{_normalise_whitespace(partner_name).casefold()}|{_normalise_whitespace(service_name).casefold()}"
    return "svc_" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


def _split_service_line(line: str) -> tuple[str, str]:
    line = _BULLET.sub("", line, count=1)
    # "- description" (a dash first) means the partner forgot the name; it is not a bullet.
    if _LEADING_DASH.match(line):
        return "", _normalise_whitespace(_LEADING_DASH.sub("", line, count=1))
    parts = _NAME_DESCRIPTION_SEPARATOR.split(line, maxsplit=1)
    name = _normalise_whitespace(parts[0]).rstrip("-\u2013\u2014 ")
    description = _normalise_whitespace(parts[1]) if len(parts) > 1 else ""
    return name, description


def _iter_blocks(text: str):
    """Yield lists of (line_no, stripped_line) for each blank-line separated block."""
    block: list[tuple[int, str]] = []
    for line_no, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip().lstrip("\ufeff")
        if line.startswith("#"):
            continue
        if not line:
            if block:
                yield block
            block = []
            continue
        block.append((line_no, line))
    if block:
        yield block


def parse_partner_catalogue(text: str) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    """Parse the catalogue text into one row per (partner, service).

    Returns ``(services, problems)``: ``services`` has columns ``partner_name, partner_category,
    service_id, service_name, description`` (category and description may be ``None``);
    ``problems`` lists ``(line_no, reason)`` for lines that were skipped or merged. Duplicate
    services within a partner (same name ignoring case) are merged, keeping the first non-empty
    description; a partner appearing in two blocks is merged as well.
    """
    problems: list[tuple[int, str]] = []
    rows: dict[str, dict] = {}
    for block in _iter_blocks(text):
        header_line_no, header = block[0]
        match = _ORGANISATION_WITH_CATEGORY.match(header)
        partner_name = _normalise_whitespace(match["name"] if match else header)
        category = _normalise_whitespace(match["category"]) if match else ""
        if not partner_name:
            problems.append((header_line_no, "empty organisation name, block skipped"))
            continue
        if len(block) == 1:
            problems.append((header_line_no, f"organisation '{partner_name}' has no services"))
            continue
        for line_no, line in block[1:]:
            service_name, description = _split_service_line(line)
            if not service_name:
                problems.append((line_no, "service line without a service name"))
                continue
            service_id = make_service_id(partner_name, service_name)
            if service_id in rows:
                existing = rows[service_id]
                problems.append((line_no, f"duplicate service '{service_name}' of '{partner_name}' merged"))
                if not existing["description"] and description:
                    existing["description"] = description
                continue
            rows[service_id] = {
                "partner_name": partner_name,
                "partner_category": category or None,
                "service_id": service_id,
                "service_name": service_name,
                "description": description or None,
            }
    services = pd.DataFrame(list(rows.values()), columns=SERVICE_COLUMNS)
    return services.astype(object).where(services.notna(), None), problems


def render_partner_catalogue(services: pd.DataFrame) -> str:
    """Render services back into the catalogue text format (inverse of ``parse_partner_catalogue``).

    Partner order and service order follow first appearance in ``services``.
    """
    has_category = "partner_category" in services.columns
    has_description = "description" in services.columns
    blocks = []
    for partner_name, partner_rows in services.groupby("partner_name", sort=False):
        category = partner_rows["partner_category"].iloc[0] if has_category else None
        header = f"{partner_name} [{category}]" if isinstance(category, str) and category else partner_name
        lines = [header]
        for row in partner_rows.itertuples(index=False):
            description = row.description if has_description else None
            if isinstance(description, str) and description:
                lines.append(f"{row.service_name} - {description}")
            else:
                lines.append(row.service_name)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
