"""Every label the dashboards show, in Russian (the default: the users are a Russian bank's and fuel
network's analysts) and English, in one place; a page is rendered in one language.

The language comes from ``?lang=ru|en`` (remembered in a cookie) and defaults to Russian. Column names in
the JSON API and the CSV downloads stay the marts' own identifiers; only the HTML tables show labels.
"""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"
COOKIE = "client_analytics_lang"

# key -> (Russian, English); ``{name}`` placeholders are filled by ``Labels.__call__``.
TEXT: dict[str, tuple[str, str]] = {
    "app": ("Клиентская аналитика", "Client analytics"),
    "nav./": ("Обзор", "Overview"),
    "nav./loans": ("Кредиты", "Loans"),
    "nav./segments": ("Сегменты", "Segments"),
    "nav./rfm": ("RFM", "RFM"),
    "nav./portraits": ("Портреты", "Portraits"),
    "nav./recommendations": ("Рекомендации", "Recommendations"),
    "switch_language": ("English", "Русский"),
    "viewer.admin": ("персональные данные полностью (администратор)", "personal data in full (admin)"),
    "viewer.masked": ("персональные данные скрыты", "personal data masked"),
    # page titles
    "title.index": ("Клиентская аналитика", "Client analytics"),
    "title.loans": ("Кредиты: просрочка и портфель под риском", "Loans: overdue and portfolio at risk"),
    "title.segments": ("Сегменты клиентов", "Client segments"),
    "title.rfm": ("RFM-сегменты", "RFM segments"),
    "title.portraits": ("Портреты клиентов", "Client portraits"),
    "title.recommendations": ("Рекомендации партнёрских услуг", "Partner-service recommendations"),
    # shared blocks
    "no_data": ("Нет данных", "No data"),
    "freshness": ("Актуальность данных", "Data freshness"),
    "refreshed": (
        "обновлено {at}, запуск {run}, последняя часть {part}",
        "refreshed {at}, run {run}, last part {part}",
    ),
    "refreshed_rows": ("{rows} строк", "{rows} rows"),
    "not_refreshed": ("ещё не обновлялась", "not refreshed yet"),
    "missing_table": ("Таблицы {table} в хранилище ещё нет.", "{table} does not exist yet in the warehouse."),
    "pager.prev": ("← назад", "← previous"),
    "pager.next": ("далее →", "next →"),
    "pager.rows": (
        "строки {first}–{last} из {total} (страница {page} из {pages})",
        "rows {first}–{last} of {total} (page {page} of {pages})",
    ),
    "show": ("Показать", "Show"),
    "apply": ("Применить", "Apply"),
    "find": ("Найти", "Find"),
    "client_id": ("ID клиента", "Client id"),
    # index
    "pages": ("Страницы", "Pages"),
    "api": ("JSON API", "JSON API"),
    "api.help": (
        "Каждому запросу нужен токен Airflow (cookie <code>_token</code> интерфейса или "
        "<code>Authorization: Bearer</code> из <code>POST /auth/token</code>). Страницы: <code>limit</code> "
        "(≤ 1000) и <code>offset</code>; в каждом ответе есть <code>total</code>. Добавьте <code>.csv</code> "
        "к пути витрины, чтобы скачать CSV (имена столбцов — идентификаторы витрины).",
        "Every endpoint needs an Airflow token (the UI's <code>_token</code> cookie or "
        "<code>Authorization: Bearer</code> from <code>POST /auth/token</code>). Paging: <code>limit</code> "
        "(≤ 1000) and <code>offset</code>; every answer carries <code>total</code>. Add <code>.csv</code> to a "
        "mart's path for a CSV download (columns are the mart's identifiers).",
    ),
    "api.schema": ("Схема", "Schema"),
    # loans
    "amount_band": ("Сумма займа", "Amount band"),
    "all_bands": ("все суммы", "all bands"),
    "date_from": ("С месяца", "From month"),
    "date_to": ("По месяц", "To month"),
    "notifications": ("Сегодняшний список уведомлений", "Today's notification list"),
    "no_overdue": ("Просроченных договоров нет", "No overdue contracts"),
    "overdue_by_month": ("Просрочка по месяцам", "Overdue by month"),
    "csv.notifications": ("уведомления", "notifications"),
    "csv.overdue_by_month": ("просрочка по месяцам", "overdue by month"),
    "csv.par": ("PAR", "PAR"),
    "csv.roll_rates": ("миграция просрочки", "roll rates"),
    "csv.vintages": ("винтажи", "vintages"),
    # segments
    "segment": ("Сегмент", "Segment"),
    "client_card": ("Карточка клиента", "Client card"),
    "client_not_found": (
        "Клиента {client_id} нет в mart.client_segments.",
        "Client {client_id} is not in mart.client_segments.",
    ),
    "card.client": ("Клиент", "Client"),
    "card.segment": ("Сегмент", "Segment"),
    "card.income": ("Доход в месяц", "Income per month"),
    "card.products": ("Продукты ({count})", "Products ({count})"),
    "card.last_usage": ("Последнее использование продукта", "Last product usage"),
    "card.suggested": ("Предлагаемый продукт", "Suggested product"),
    "top_products_in": ("Топ продуктов в «{segment}»", "Top products in «{segment}»"),
    "csv.clients_in": ("клиенты в «{segment}»", "clients in «{segment}»"),
    "csv.top_products": ("топ продуктов", "top products"),
    # rfm
    "source": ("Источник", "Source"),
    "segments": ("Сегменты", "Segments"),
    "csv.segment_summary": ("сводка по сегментам", "segment summary"),
    "csv.customers": ("покупатели", "customers"),
    "rfm.duplicates": (
        "Точные повторы строк выгрузки (строка, совпадающая с более ранней строкой той же выгрузки во всех "
        "полях) на {as_of}: {lines}.",
        "Exact-duplicate export lines (a line repeating an earlier line of the same export field for field) "
        "as of {as_of}: {lines}.",
    ),
    "rfm.duplicates_excluded": (
        "Исключены из RFM: не учтено строк — {excluded}.",
        "Excluded from RFM: {excluded} lines left out.",
    ),
    "rfm.duplicates_counted": (
        "Учтены, как требует спецификация RFM (ничего не исключено).",
        "Counted, as the RFM specification says (none left out).",
    ),
    "rfm.lines_counted": ("Строк в расчёте RFM: {lines}.", "Lines counted for RFM: {lines}."),
    "rfm.duplicates_param": (
        "Выбор задаёт параметр rfm_exclude_duplicate_lines DAG dwh_pipeline.",
        "Chosen by the rfm_exclude_duplicate_lines Param of dwh_pipeline.",
    ),
    # portraits
    "portrait_histogram": ("Портрет (гистограмма)", "Portrait (histogram)"),
    "all_portraits": ("все портреты", "all portraits"),
    "portraits": ("Портреты", "Portraits"),
    "csv.distribution": ("распределение", "distribution"),
    "csv.clients": ("клиенты", "clients"),
    # recommendations
    "ab_results": ("Результаты A/B-теста", "A/B test results"),
    "client_recommendations": ("Рекомендации клиенту", "Recommendations for a client"),
    "no_recommendations": (
        "Нет рекомендаций для клиента {client_id}",
        "No recommendations for client {client_id}",
    ),
    "metrics_history": ("История метрик", "Metrics history"),
    "csv.ab_results": ("результаты A/B", "A/B results"),
    "csv.metrics": ("метрики", "metrics"),
    "csv.recommendations": ("рекомендации", "recommendations"),
    # charts
    "chart.overdue_share": (
        "Доля просроченных договоров, % (по сумме займа)",
        "Overdue contracts, % (by loan amount)",
    ),
    "chart.par": ("Портфель под риском, % от остатка долга", "Portfolio at risk, % of outstanding"),
    "chart.roll_rates": (
        "Миграция просрочки: доля остатка, перешедшая за месяц, %",
        "Roll rates: share of balance moving month to month, %",
    ),
    "chart.roll_from": ("корзина месяцем раньше", "bucket a month earlier"),
    "chart.roll_to": ("корзина на конец месяца", "bucket at the month end"),
    "chart.vintages": (
        "Винтажи: доля договоров с просрочкой {threshold}+ дн., % по месяцам жизни",
        "Vintages: loans ever {threshold}+ days past due, % by months on book",
    ),
    "chart.months_on_book": ("месяцев с выдачи", "months on book"),
    "chart.segments": ("Клиенты по сегментам", "Clients by segment"),
    "chart.top_products": ("Топ продуктов: {segment}", "Top products: {segment}"),
    "chart.rfm_segments": ("Покупатели по RFM-сегментам", "Customers per RFM segment"),
    "chart.rf_heatmap": ("Покупатели по оценкам R × F", "Customers by R score × F score"),
    "chart.frequency_score": ("оценка частоты (F)", "frequency score"),
    "chart.recency_score": ("оценка давности (R)", "recency score"),
    "chart.portraits": ("Клиенты по портретам", "Clients by portrait"),
    "chart.confidence": (
        "Распределение уверенности отнесения к портрету",
        "Confidence of the portrait assignment",
    ),
    "chart.metrics": (
        "Офлайн-метрики по вариантам, запуск {run} (★ — опубликованный)",
        "Offline metrics by variant, run {run} (★ served)",
    ),
    "chart.metrics_trend": ("{metric} по запускам обучения", "{metric} by training run"),
}

# Column identifier -> (Russian, English) header of the HTML tables; the API and CSV keep the identifier.
COLUMNS: dict[str, tuple[str, str]] = {
    "advice": ("Совет", "Advice"),
    "amount_band": ("Сумма займа", "Amount band"),
    "amount_issued": ("Выдано, ₽", "Issued, RUB"),
    "amount_overdue": ("Просрочено, ₽", "Overdue, RUB"),
    "as_of_date": ("На дату", "As of"),
    "avg_confidence": ("Средняя уверенность", "Mean confidence"),
    "avg_frequency": ("Средняя частота", "Mean frequency"),
    "avg_monetary": ("Средняя сумма", "Mean monetary"),
    "avg_recency": ("Средняя давность, дн.", "Mean recency, days"),
    "balance": ("Остаток, ₽", "Balance, RUB"),
    "blend": ("Доля коллаборативной части", "Blend"),
    "channel": ("Канал", "Channel"),
    "ci_high_pct_points": ("ДИ, верх, п.п.", "CI high, pp"),
    "ci_low_pct_points": ("ДИ, низ, п.п.", "CI low, pp"),
    "client_id": ("ID клиента", "Client id"),
    "client_name": ("Клиент", "Client"),
    "client_segment": ("Сегмент", "Segment"),
    "clients": ("Клиентов", "Clients"),
    "confidence": ("Уверенность", "Confidence"),
    "contracts_due": ("Договоров к оплате", "Contracts due"),
    "contracts_overdue": ("Просрочено договоров", "Contracts overdue"),
    "conversion_pct": ("Конверсия, %", "Conversion, %"),
    "coverage": ("Покрытие каталога", "Coverage"),
    "customers": ("Покупателей", "Customers"),
    "days_past_due": ("Дней просрочки", "Days past due"),
    "dpd_bucket": ("Корзина просрочки", "DPD bucket"),
    "ever_30_plus_pct": ("Доля 30+, %", "Ever 30+, %"),
    "ever_90_plus_pct": ("Доля 90+, %", "Ever 90+, %"),
    "experiment": ("Эксперимент", "Experiment"),
    "from_bucket": ("Из корзины", "From bucket"),
    "is_served": ("Опубликован", "Served"),
    "issue_month": ("Месяц выдачи", "Issue month"),
    "k": ("k", "k"),
    "loan_id": ("Договор", "Loan"),
    "loans": ("Договоров", "Loans"),
    "loans_ever_30_plus": ("Договоров с 30+", "Loans ever 30+"),
    "loans_ever_90_plus": ("Договоров с 90+", "Loans ever 90+"),
    "loans_issued": ("Выдано договоров", "Loans issued"),
    "loans_outstanding": ("Договоров в портфеле", "Loans outstanding"),
    "map_at_k": ("MAP@k", "MAP@k"),
    "model_run_id": ("Запуск обучения", "Training run"),
    "model_variant": ("Вариант модели", "Model variant"),
    "month": ("Месяц", "Month"),
    "months_on_book": ("Месяцев с выдачи", "Months on book"),
    "ndcg_at_k": ("NDCG@k", "NDCG@k"),
    "neighbours": ("Соседей", "Neighbours"),
    "outstanding_amount": ("Остаток долга, ₽", "Outstanding, RUB"),
    "overdue_share_pct": ("Доля просрочки, %", "Overdue share, %"),
    "p_value": ("p-значение", "p-value"),
    "par30_amount": ("PAR30, ₽", "PAR30, RUB"),
    "par30_pct": ("PAR30, %", "PAR30, %"),
    "par90_amount": ("PAR90, ₽", "PAR90, RUB"),
    "par90_pct": ("PAR90, %", "PAR90, %"),
    "partner_name": ("Партнёр", "Partner"),
    "phone": ("Телефон", "Phone"),
    "portrait_id": ("ID портрета", "Portrait id"),
    "portrait_name": ("Портрет", "Portrait"),
    "precision_at_k": ("Precision@k", "Precision@k"),
    "priority": ("Приоритет", "Priority"),
    "product_id": ("ID продукта", "Product id"),
    "product_name": ("Продукт", "Product"),
    "product_rank": ("Место", "Rank"),
    "rank": ("Место", "Rank"),
    "reason": ("Причина", "Reason"),
    "recall_at_k": ("Recall@k", "Recall@k"),
    "responses": ("Откликов", "Responses"),
    "score": ("Оценка", "Score"),
    "segment": ("Сегмент", "Segment"),
    "selection_reason": ("Почему выбран", "Why chosen"),
    "service_id": ("ID услуги", "Service id"),
    "service_name": ("Услуга", "Service"),
    "share_pct": ("Доля, %", "Share, %"),
    "to_bucket": ("В корзину", "To bucket"),
    "trained_at": ("Обучено", "Trained at"),
    "uplift_pct_points": ("Прирост, п.п.", "Uplift, pp"),
    "users_evaluated": ("Клиентов в оценке", "Clients evaluated"),
    "validation_ndcg_at_k": ("NDCG@k на валидации", "Validation NDCG@k"),
    "variant": ("Вариант", "Variant"),
    "written_off_amount": ("Списано, ₽", "Written off, RUB"),
    "written_off_loans": ("Списано договоров", "Loans written off"),
}


def language(requested: str | None, remembered: str | None = None) -> str:
    """The page language: the ``lang`` query parameter, else the cookie, else Russian."""
    for candidate in (requested, remembered):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Labels:
    """``t("key", name=value)`` for texts and ``t.column("identifier")`` for table headers, in one language."""

    lang: str = DEFAULT_LANGUAGE

    def __call__(self, key: str, **values: object) -> str:
        text = TEXT[key][LANGUAGES.index(self.lang)]
        return text.format(**values) if values else text

    def column(self, name: str) -> str:
        labels = COLUMNS.get(name)
        return labels[LANGUAGES.index(self.lang)] if labels else name

    @property
    def other(self) -> str:
        """The language the switch link leads to."""
        return LANGUAGES[1 - LANGUAGES.index(self.lang)]
