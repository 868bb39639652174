"""Partner services and the bank clients' interactions with them, for the synthetic source system.

The partner catalogue comes from the same text the partners send (parsed by the real parser), and
interactions are drawn from the latent-taste model (``service_tastes``) with each bank client's own age,
income, products and loans, so what the warehouse learns from has a learnable structure.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from client_dwh.sources.formats.partner_catalogue import parse_partner_catalogue
from client_dwh.sources.synthetic.ids import WHOLE, IdStride
from client_dwh.sources.synthetic.service_tastes import generate_interactions

# How far back the interaction history goes from the export date.
HISTORY_DAYS = 540

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


def generate_partner_catalogue_text() -> str:
    """The synthetic partner catalogue in the seed text format."""
    return PARTNER_CATALOGUE_TEXT


def generate_partner_services() -> pd.DataFrame:
    """The synthetic catalogue (partner_name, partner_category, service_id, service_name, description),
    parsed from the catalogue text by the parser real files go through."""
    services, problems = parse_partner_catalogue(PARTNER_CATALOGUE_TEXT)
    if problems:  # pragma: no cover - guards edits of the embedded catalogue
        raise ValueError(f"embedded partner catalogue has problems: {problems}")
    return services


def bank_client_profiles(
    clients: pd.DataFrame,
    loans: pd.DataFrame,
    product_usage: pd.DataFrame,
    rng: np.random.Generator,
    as_of: dt.date,
) -> pd.DataFrame:
    """Per client what drives their taste: age, income, products used, a loan, and a hidden portrait.

    The portrait (a fuel-station lifestyle) is never landed; it follows age and income loosely, so the
    warehouse's age/income segments carry part of the signal and behaviour the rest.
    """
    n = len(clients)
    age = ((pd.Timestamp(as_of) - pd.to_datetime(clients["birth_date"])).dt.days / 365.25).to_numpy()
    income = clients["income"].to_numpy(float)
    products = product_usage.groupby("client_id")["product_id"].nunique()
    products_count = products.reindex(clients["client_id"]).fillna(0).to_numpy() + 1
    has_loan = clients["client_id"].isin(loans["client_id"]).to_numpy()

    middle_aged = ("rational_driver", "taxi_driver", "family_traveller", "long_haul_trucker")
    portrait = np.asarray(middle_aged, dtype=object)[rng.choice(4, n, p=[0.35, 0.2, 0.3, 0.15])]
    portrait = np.where(age < 30, "young_urban", portrait)
    portrait = np.where(income >= 150_000, "premium_owner", portrait)
    portrait = np.where(age >= 60, "country_pensioner", portrait)
    # A fifth of clients do not fit their demographic stereotype.
    other = rng.random(n) < 0.2
    portrait = np.where(other, np.asarray(middle_aged, dtype=object)[rng.integers(0, 4, n)], portrait)
    return pd.DataFrame(
        {
            "client_id": clients["client_id"].to_numpy(),
            "portrait_id": portrait,
            "age": age.round().astype(int),
            "income": income,
            "products_count": products_count,
            "has_car_loan": has_loan & (rng.random(n) < 0.5),
            "prefers_coffee": rng.random(n) < np.where(age < 35, 0.5, 0.2),
        }
    )


def generate_service_interactions(
    clients: pd.DataFrame,
    loans: pd.DataFrame,
    product_usage: pd.DataFrame,
    services: pd.DataFrame,
    seed: int,
    as_of: dt.date,
    ids: IdStride = WHOLE,
) -> pd.DataFrame:
    """Events ``interaction_id, client_id, service_id, interacted_at, kind, weight`` up to ``as_of``."""
    profiles = bank_client_profiles(clients, loans, product_usage, np.random.default_rng([seed, 104]), as_of)
    start = pd.Timestamp(as_of) - pd.Timedelta(days=HISTORY_DAYS)
    events = generate_interactions(
        profiles, services, seed=seed, start=start.isoformat(), end=pd.Timestamp(as_of).isoformat()
    )
    events.insert(0, "interaction_id", ids.ids(1, len(events)))
    events["interacted_at"] = events["interacted_at"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    return events
