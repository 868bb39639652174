from client_dwh.sources.formats.partner_catalogue import (
    make_service_id,
    parse_partner_catalogue,
    render_partner_catalogue,
)
from client_dwh.sources.synthetic.partners import generate_partner_catalogue_text, generate_partner_services

CATALOGUE = """\
# comment lines are ignored
Автомойка «Чистый кузов» [car_wash]
Экспресс-мойка - быстрая мойка кузова
Химчистка салона – чистка сидений – с выездом
Абонемент на мойку
Экспресс-мойка — дубль с описанием


Кофейня «Зерно»
Капучино с собой — кофе навынос
- описание без названия

Партнёр без услуг
"""


def test_parses_blocks_services_and_optional_descriptions():
    services, _ = parse_partner_catalogue(CATALOGUE)
    assert list(services.columns) == [
        "partner_name",
        "partner_category",
        "service_id",
        "service_name",
        "description",
    ]
    assert services["partner_name"].tolist() == ["Автомойка «Чистый кузов»"] * 3 + ["Кофейня «Зерно»"]
    by_name = services.set_index("service_name")
    # hyphen inside a word is not a separator; en/em dashes are; only the first separator splits
    assert by_name.loc["Экспресс-мойка", "description"] == "быстрая мойка кузова"
    assert by_name.loc["Химчистка салона", "description"] == "чистка сидений – с выездом"
    assert by_name.loc["Абонемент на мойку", "description"] is None
    assert by_name.loc["Капучино с собой", "description"] == "кофе навынос"
    assert by_name.loc["Экспресс-мойка", "partner_category"] == "car_wash"
    assert by_name.loc["Капучино с собой", "partner_category"] is None


def test_reports_problems_with_line_numbers():
    services, problems = parse_partner_catalogue(CATALOGUE)
    reasons = dict(problems)
    assert "duplicate service 'Экспресс-мойка'" in reasons[6]
    assert reasons[11] == "service line without a service name"
    assert "has no services" in reasons[13]
    assert len(problems) == 3
    assert (services["service_name"] == "Экспресс-мойка").sum() == 1


def test_service_ids_are_stable_and_case_insensitive():
    services, _ = parse_partner_catalogue(CATALOGUE)
    assert services["service_id"].is_unique
    assert make_service_id("Кофейня «Зерно»", "Капучино с собой") == make_service_id(
        "кофейня  «зерно»", "КАПУЧИНО С СОБОЙ"
    )
    again, _ = parse_partner_catalogue(CATALOGUE)
    assert again["service_id"].tolist() == services["service_id"].tolist()


def test_render_is_inverse_of_parse():
    services, _ = parse_partner_catalogue(CATALOGUE)
    reparsed, problems = parse_partner_catalogue(render_partner_catalogue(services))
    assert problems == []
    assert reparsed.equals(services)


def test_generated_catalogue_is_clean_and_sizeable():
    services, problems = parse_partner_catalogue(generate_partner_catalogue_text())
    assert problems == []
    assert 8 <= services["partner_name"].nunique() <= 12
    assert 40 <= len(services) <= 60
    assert generate_partner_services().equals(services)
