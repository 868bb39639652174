"""Synthetic partners, clients, interactions and a messy CRM export.

Real interaction data is not available outside production, yet the recommender, its evaluation and
the pipeline all need data with a learnable structure. Interactions are therefore driven by a
latent-taste model: each client portrait (fuel-station segment) has affinities to service
categories and themes, client attributes (income, car loan, coffee habit) shift them, and every
client additionally has an individual taste and a favourite partner. Popularity skew and noise are
layered on top, and some clients have no history at all (cold start).
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pandas as pd

from client_dwh.sources.formats.partner_catalogue import parse_partner_catalogue

PORTRAITS = (
    "rational_driver",
    "taxi_driver",
    "premium_owner",
    "young_urban",
    "country_pensioner",
    "family_traveller",
    "long_haul_trucker",
)

# Partner catalogue in the seed text format, so the generator exercises the same parser as real files.
PARTNER_CATALOGUE_TEXT = """\
Топливная сеть «Магистраль» [fuel]
АИ-95 Премиум - топливо с моющими присадками для премиальных автомобилей
АИ-92 Эконом - недорогое топливо для ежедневных поездок по городу
Дизельное топливо для грузовиков - дизель на трассе для дальнобойщиков и фур
Топливная карта для бизнеса - безналичная заправка для такси и автопарков
Пропан для авто - газ для экономии на топливе

Страховой дом «Надёжный» [insurance]
ОСАГО онлайн - обязательная страховка автомобиля за пять минут
КАСКО полное - защита автомобиля от угона и ущерба, премиальное покрытие
КАСКО лайт - недорогое КАСКО для автомобиля в кредит
Страхование путешествий - медицинская страховка для семьи в поездке
Страхование грузов - страховка груза для дальнобойщиков
Страхование такси - страхование пассажиров для водителей такси

Автомойка «Чистый кузов» [car_wash]
Экспресс-мойка - быстрая мойка кузова по дороге на работу в городе
Комплексная мойка премиум - мойка, полировка и воск для премиальных автомобилей
Химчистка салона - чистка сидений после детей и поездок с семьёй
Мойка грузового транспорта - мойка фур и грузовиков на трассе
Абонемент на мойку - безлимитная мойка для такси

Кофейня «Зерно в пути» [coffee]
Капучино с собой - кофе с собой для городских жителей
Кофейная подписка - кофе каждый день по подписке в городе
Завтрак водителя - горячий завтрак на трассе для дальнобойщиков и таксистов
Детское меню - какао и сэндвичи для детей в дороге с семьёй
Раф и десерты

Банк «Развитие» [bank]
Автокредит - кредит на новый автомобиль
Кредитная карта с кешбэком на топливо - экономия на заправках
Вклад «Пенсионный» - надёжный вклад для пенсионеров с повышенной ставкой
Счёт для самозанятых - счёт для водителей такси и самозанятых
Премиальная карта - премиальное обслуживание, бизнес-залы аэропорта
Рефинансирование автокредита - снижение платежа по кредиту на автомобиль

Шинный центр «Протектор» [tyre_service]
Сезонный шиномонтаж - замена шин осенью и весной
Хранение шин - хранение колёс в городе между сезонами
Грузовой шиномонтаж - шиномонтаж для грузовиков и фур на трассе
Зимние шины эконом - недорогие шины для дачи и города
Ремонт проколов

Городские парковки [parking]
Парковочный абонемент в центре - парковка в центре города для городских жителей
Парковка у аэропорта - парковка на время путешествий и командировок
Ночная стоянка для грузовиков - охраняемая стоянка для фур на трассе
Семейная парковка у торгового центра - широкие места для семей с детьми

Автопомощь 24 [roadside_assistance]
Эвакуатор - эвакуация автомобиля круглосуточно
Техпомощь на дороге - запуск двигателя и замена колеса на трассе
Трезвый водитель - доставка автомобиля и водителя домой из центра города
Помощь в дальней поездке - поддержка семьи в путешествии на автомобиле

Придорожные гостиницы «Ночлег» [travel]
Мотель для дальнобойщиков - ночлег и душ на трассе для водителей фур
Семейный номер - номер для семьи с детьми в путешествии
Загородный отдых - выходные на природе за городом, у дачи

Автосервис «Мотор» [car_service]
ТО по регламенту - плановое обслуживание автомобиля
Диагностика перед поездкой - проверка автомобиля перед путешествием с семьёй
Замена масла эконом - недорогая замена масла
Премиальный детейлинг - керамика и уход за премиальными автомобилями
ТО для такси - быстрое обслуживание автомобиля такси без простоя

Магазин «Дача и дорога» [retail]
Товары для дачи - рассада, инструменты и всё для дачи
Продукты в дорогу - перекус для поездки за город
Детские наборы в дорогу - игрушки и раскраски для детей в путешествии
"""

CATEGORIES = (
    "fuel",
    "insurance",
    "car_wash",
    "coffee",
    "bank",
    "tyre_service",
    "parking",
    "roadside_assistance",
    "travel",
    "car_service",
    "retail",
)

# Themes are detected in the service text by word stems, so any catalogue (not just ours) gets
# latent features and the content model has real words to pick up.
THEME_STEMS = {
    "premium": ("преми", "керамик", "бизнес-зал"),
    "budget": ("эконом", "недорог", "лайт", "кешбэк"),
    "truck": ("груз", "фур", "дальнобой", "трасс"),
    "taxi": ("такси", "самозанят", "автопарк"),
    "family": ("сем", "дет"),
    "urban": ("город", "центр", "с собой", "подписк"),
    "country": ("дач", "пенси", "природ", "загород"),
    "travel": ("путешеств", "поездк", "аэропорт", "дорог"),
    "credit": ("кредит",),
}
THEMES = tuple(THEME_STEMS)

# Affinity of each portrait to categories and themes (log-odds scale, 0 = neutral).
PORTRAIT_CATEGORY_AFFINITY = {
    "rational_driver": {"fuel": 1.0, "insurance": 0.6, "tyre_service": 0.8, "car_service": 0.6, "bank": 0.3},
    "taxi_driver": {"fuel": 1.0, "car_wash": 0.8, "coffee": 0.8, "car_service": 0.8, "bank": 0.4},
    "premium_owner": {"car_wash": 1.0, "insurance": 0.8, "bank": 0.6, "parking": 0.6, "car_service": 0.6},
    "young_urban": {"coffee": 1.2, "parking": 0.8, "roadside_assistance": 0.5, "car_wash": 0.4},
    "country_pensioner": {"retail": 1.2, "bank": 0.6, "tyre_service": 0.6, "fuel": 0.4, "travel": 0.3},
    "family_traveller": {"travel": 1.2, "retail": 0.8, "insurance": 0.6, "roadside_assistance": 0.6},
    "long_haul_trucker": {"fuel": 1.2, "travel": 0.8, "tyre_service": 0.8, "coffee": 0.5, "car_wash": 0.5},
}
PORTRAIT_THEME_AFFINITY = {
    "rational_driver": {"budget": 1.2, "premium": -1.0, "truck": -1.0},
    "taxi_driver": {"taxi": 2.0, "urban": 0.5, "budget": 0.5, "truck": -1.0},
    "premium_owner": {"premium": 2.0, "budget": -1.0, "truck": -1.5, "urban": 0.5},
    "young_urban": {"urban": 1.8, "country": -1.0, "truck": -1.5},
    "country_pensioner": {"country": 2.0, "budget": 0.8, "premium": -1.0, "truck": -1.0},
    "family_traveller": {"family": 2.0, "travel": 1.2, "truck": -1.0},
    "long_haul_trucker": {"truck": 2.5, "urban": -1.0, "family": -1.0},
}

# Typical attributes by portrait: (mean age, age sd, median monthly income in RUB).
PORTRAIT_PROFILE = {
    "rational_driver": (42, 10, 80_000),
    "taxi_driver": (38, 9, 70_000),
    "premium_owner": (45, 9, 250_000),
    "young_urban": (27, 4, 90_000),
    "country_pensioner": (66, 5, 35_000),
    "family_traveller": (38, 6, 110_000),
    "long_haul_trucker": (45, 8, 85_000),
}
PORTRAIT_WEIGHTS = (0.22, 0.12, 0.08, 0.16, 0.14, 0.16, 0.12)


def _string_seed(value: str) -> int:
    return int.from_bytes(hashlib.sha256(value.encode("utf-8")).digest()[:8], "little")


def generate_partner_catalogue_text() -> str:
    """The synthetic partner catalogue in the seed text format."""
    return PARTNER_CATALOGUE_TEXT


def generate_services() -> pd.DataFrame:
    """Synthetic services (11 partners, ~50 services) parsed from the catalogue text."""
    services, problems = parse_partner_catalogue(PARTNER_CATALOGUE_TEXT)
    if problems:  # pragma: no cover - guards edits of the embedded catalogue
        raise ValueError(f"embedded partner catalogue has problems: {problems}")
    return services


def generate_clients(n_clients: int, seed: int = 0) -> pd.DataFrame:
    """Clients with a portrait and attributes consistent with it."""
    rng = np.random.default_rng(seed)
    portrait_codes = rng.choice(len(PORTRAITS), size=n_clients, p=np.asarray(PORTRAIT_WEIGHTS))
    profile = np.asarray([PORTRAIT_PROFILE[p] for p in PORTRAITS], dtype=float)
    age = np.clip(rng.normal(profile[portrait_codes, 0], profile[portrait_codes, 1]), 18, 90).round()
    income = np.exp(np.log(profile[portrait_codes, 2]) + rng.normal(0, 0.35, n_clients)).round(-3)
    portraits = np.asarray(PORTRAITS, dtype=object)[portrait_codes]
    credit_prone = np.isin(portraits, ["taxi_driver", "family_traveller", "rational_driver"])
    coffee_prone = np.isin(portraits, ["young_urban", "taxi_driver"])
    return pd.DataFrame(
        {
            "client_id": [f"c{i:07d}" for i in range(n_clients)],
            "portrait_id": portraits,
            "age": age.astype(int),
            "income": income,
            "products_count": rng.poisson(1.5, n_clients) + 1,
            "has_car_loan": rng.random(n_clients) < np.where(credit_prone, 0.35, 0.12),
            "prefers_coffee": rng.random(n_clients) < np.where(coffee_prone, 0.6, 0.2),
        }
    )


def _service_features(services: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Category one-hot, theme indicators and partner codes for any services table."""
    text = (
        services["service_name"].fillna("").astype(str) + " " + services["description"].fillna("").astype(str)
    ).str.lower()
    themes = np.column_stack(
        [text.str.contains("|".join(stems), regex=True).to_numpy() for stems in THEME_STEMS.values()]
    ).astype(float)
    category = (
        services["partner_category"].fillna("other").astype(str)
        if "partner_category" in services.columns
        else pd.Series("other", index=services.index)
    )
    category_codes, category_names = pd.factorize(category)
    categories = np.zeros((len(services), len(category_names)))
    categories[np.arange(len(services)), category_codes] = 1.0
    partner_codes, _ = pd.factorize(services["partner_name"])
    return categories, themes, partner_codes, list(category_names)


def _portrait_affinity(portrait: str, category_names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Category and theme affinities; unknown portraits get a deterministic pseudo-random taste."""
    if portrait in PORTRAIT_CATEGORY_AFFINITY:
        by_category = PORTRAIT_CATEGORY_AFFINITY[portrait]
        by_theme = PORTRAIT_THEME_AFFINITY[portrait]
        return (
            np.asarray([by_category.get(c, 0.0) for c in category_names]),
            np.asarray([by_theme.get(t, 0.0) for t in THEMES]),
        )
    rng = np.random.default_rng(_string_seed(portrait))
    return rng.normal(0, 0.8, len(category_names)), rng.normal(0, 1.0, len(THEMES))


def client_service_utility(
    clients: pd.DataFrame,
    services: pd.DataFrame,
    seed: int = 0,
    segment_strength: float = 0.7,
    taste_strength: float = 2.0,
) -> np.ndarray:
    """Dense clients x services latent utility (log-odds of choosing the service).

    ``segment_strength`` scales the portrait affinities, ``taste_strength`` the individual taste
    (latent factors and favourite partner). Exposed so simulations (e.g. A/B responses) can use
    the same "true" taste as the interactions.
    """
    rng = np.random.default_rng([seed, 1])
    n_clients, n_services = len(clients), len(services)
    categories, themes, partner_codes, category_names = _service_features(services)
    portrait = clients["portrait_id"].fillna("unknown").astype(str) if "portrait_id" in clients else None
    portrait = portrait if portrait is not None else pd.Series("unknown", index=clients.index)
    portrait_codes, portrait_names = pd.factorize(portrait)
    affinities = [_portrait_affinity(name, category_names) for name in portrait_names]
    portrait_utility = np.stack([categories @ cat + themes @ theme for cat, theme in affinities])

    utility = segment_strength * portrait_utility[portrait_codes].astype(np.float32)
    # Popularity skew: a few services are hits for everyone.
    utility += rng.normal(0, 0.7, n_services).astype(np.float32)
    # Individual taste: a low-rank random factor model shared by all clients, so that clients
    # with similar histories also like similar unseen services (what collaborative filtering learns).
    n_factors = 3
    client_factors = rng.normal(0, 0.8, (n_clients, n_factors)).astype(np.float32)
    service_factors = rng.normal(0, 0.8, (n_factors, n_services)).astype(np.float32)
    utility += taste_strength * (client_factors @ service_factors)
    # Favourite partner: loyalty to one brand (what content similarity via partner name picks up).
    n_partners = int(partner_codes.max()) + 1
    favourite_partner = rng.integers(0, n_partners, n_clients)
    has_favourite = rng.random(n_clients) < 0.6
    utility += (
        taste_strength
        * 1.2
        * (has_favourite[:, None] & (partner_codes[None, :] == favourite_partner[:, None]))
    ).astype(np.float32)

    theme_index = {t: i for i, t in enumerate(THEMES)}
    if "income" in clients:
        log_income = np.log(clients["income"].fillna(80_000).clip(lower=10_000).to_numpy(float))
        rich = np.clip((log_income - np.log(100_000)) / 1.0, -1.5, 1.5).astype(np.float32)
        utility += np.outer(rich, themes[:, theme_index["premium"]] - 0.5 * themes[:, theme_index["budget"]])
    if "age" in clients:
        senior = (clients["age"].fillna(40).to_numpy(float) >= 60).astype(np.float32)
        utility += np.outer(senior, themes[:, theme_index["country"]] - 0.5 * themes[:, theme_index["urban"]])
    if "has_car_loan" in clients:
        loan = clients["has_car_loan"].fillna(False).to_numpy(bool).astype(np.float32)
        insurance_or_credit = themes[:, theme_index["credit"]]
        if "insurance" in category_names:
            insurance_or_credit = insurance_or_credit + categories[:, category_names.index("insurance")]
        utility += 1.2 * np.outer(loan, insurance_or_credit)
    if "prefers_coffee" in clients and "coffee" in category_names:
        coffee = clients["prefers_coffee"].fillna(False).to_numpy(bool).astype(np.float32)
        utility += 1.5 * np.outer(coffee, categories[:, category_names.index("coffee")])
    utility += rng.normal(0, 0.5, utility.shape).astype(np.float32)
    return utility


def generate_interactions(
    clients: pd.DataFrame,
    services: pd.DataFrame,
    seed: int = 0,
    mean_services_per_client: float = 5.0,
    cold_start_share: float = 0.08,
    start: str = "2024-01-01",
    end: str = "2025-06-30",
) -> pd.DataFrame:
    """Interaction events ``client_id, service_id, interacted_at, kind ('view'|'purchase'), weight``.

    Each client picks a number of distinct services (more for clients with more products) without
    replacement with probability proportional to exp(utility) (Gumbel top-k trick, vectorised),
    then generates 1+ events per chosen service; purchases are likelier for high-utility services.
    A ``cold_start_share`` of clients has no events at all. Weights: view = 1, purchase = 3.
    """
    rng = np.random.default_rng([seed, 2])
    utility = client_service_utility(clients, services, seed=seed)
    n_clients, n_services = utility.shape
    products = clients["products_count"].fillna(1).to_numpy(float) if "products_count" in clients else 1.0
    activity = np.asarray(products / np.mean(products) if np.ndim(products) else np.ones(n_clients))
    n_chosen = rng.poisson(mean_services_per_client * (0.5 + 0.5 * activity))
    n_chosen = np.clip(n_chosen, 1, n_services)
    n_chosen[rng.random(n_clients) < cold_start_share] = 0

    gumbel_keys = utility + rng.gumbel(size=utility.shape).astype(np.float32)
    order = np.argsort(-gumbel_keys, axis=1)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(n_services)[None, :], axis=1)
    client_idx, service_idx = np.nonzero(ranks < n_chosen[:, None])

    pair_utility = utility[client_idx, service_idx]
    n_events = 1 + rng.poisson(0.6, len(client_idx))
    event_client = np.repeat(client_idx, n_events)
    event_service = np.repeat(service_idx, n_events)
    purchase_probability = 1.0 / (1.0 + np.exp(-(np.repeat(pair_utility, n_events) - 1.0)))
    is_purchase = rng.random(len(event_client)) < purchase_probability

    start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
    span_seconds = int((end_ts - start_ts).total_seconds())
    offsets = rng.integers(0, span_seconds, len(event_client))
    interactions = pd.DataFrame(
        {
            "client_id": clients["client_id"].to_numpy()[event_client],
            "service_id": services["service_id"].to_numpy()[event_service],
            "interacted_at": start_ts + pd.to_timedelta(offsets, unit="s"),
            "kind": np.where(is_purchase, "purchase", "view"),
            "weight": np.where(is_purchase, 3.0, 1.0),
        }
    )
    return interactions.sort_values(["interacted_at", "client_id"], kind="stable").reset_index(drop=True)


_FIRST_NAMES = ("иван", "пётр", "анна", "мария", "сергей", "ольга", "дмитрий", "елена", "алексей", "наталья")
_LAST_NAMES = ("иванов", "петров", "сидоров", "кузнецов", "смирнов", "попов", "волков", "соколов", "лебедев")


def _format_phone(national: str, style: int) -> str:
    if style == 0:
        return "8" + national
    if style == 1:
        return f"+7 ({national[:3]}) {national[3:6]}-{national[6:8]}-{national[8:]}"
    if style == 2:
        return "7" + national
    if style == 3:
        return national
    return f"8-{national[:3]}-{national[3:6]}-{national[6:8]}-{national[8:]}"


def generate_crm_csv(
    n_clients: int = 1_000, seed: int = 0, duplicate_share: float = 0.1, bad_share: float = 0.06
) -> str:
    """A messy CRM export (CSV text) with varied phone formats, duplicates, bad e-mails and empty names.

    Columns: ``crm_id, full_name, phone, email, city, updated_at``. About ``duplicate_share`` of the
    clients appear again with a differently formatted phone or an upper-case e-mail and a later
    ``updated_at``; about ``bad_share`` of rows are broken (no name, junk contact, invalid e-mail).
    """
    rng = np.random.default_rng([seed, 3])
    rows = []
    cities = ("Москва", "Казань", "Тверь", "Самара", "Пермь")
    nationals = 9_000_000_000 + rng.choice(999_999_999, size=n_clients, replace=False)
    for i in range(n_clients):
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        name = f"{last} {first}" if rng.random() < 0.5 else f"  {last.upper()}   {first.upper()} "
        national = str(nationals[i])
        email = f"{first[:2]}{i}@example.ru" if rng.random() < 0.7 else ""
        phone = _format_phone(national, int(rng.integers(0, 5))) if rng.random() < 0.9 or not email else ""
        updated = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 365)))
        rows.append([f"crm{i:06d}", name, phone, email, rng.choice(cities), updated.date().isoformat()])
        if rng.random() < duplicate_share and phone:
            later = updated + pd.Timedelta(days=int(rng.integers(1, 60)))
            rows.append(
                [
                    f"crm{i:06d}d",
                    name.strip().lower(),
                    _format_phone(national, int(rng.integers(0, 5))),
                    email.upper() if email and rng.random() < 0.5 else "",
                    rng.choice(cities),
                    later.date().isoformat(),
                ]
            )
    n_bad = int(round(bad_share * n_clients))
    for j in range(n_bad):
        kind = j % 3
        if kind == 0:
            rows.append([f"bad{j:05d}", "", f"8916{j:07d}", "", "Москва", "2024-03-01"])
        elif kind == 1:
            rows.append([f"bad{j:05d}", "Петров Пётр", "12345", "petr.mail.ru", "Тверь", "2024-03-01"])
        else:
            rows.append([f"bad{j:05d}", "Сидорова Анна", "", f"anna{j}@", "Пермь", "2024-03-01"])
    order = rng.permutation(len(rows))
    frame = pd.DataFrame(
        [rows[i] for i in order], columns=["crm_id", "full_name", "phone", "email", "city", "updated_at"]
    )
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue()
