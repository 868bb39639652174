"""Every query the dashboards run: fixed SQL with bind parameters, aggregated where the data lives.

User input reaches SQL only as bind parameters; filters and sort columns are looked up in the fixed
registry below (``MARTS``), so a request can choose among SQL fragments but never write one.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from psycopg import sql
from psycopg.rows import dict_row

from client_dwh import amount_bands, config
from client_dwh.dashboards.privacy import MASKS
from client_dwh.warehouse.ddl import table_columns

STATEMENT_TIMEOUT_MS = 30_000
CSV_CHUNK_ROWS = 5_000
HISTOGRAM_BINS = 20
# DPD buckets of mart.roll_rates in their own order (include/sql/mart/roll_rates.sql)
ROLL_BUCKETS = ("current", "1-30", "31-60", "61-90", "90+", "written off", "closed")


class MartMissing(LookupError):
    """A mart table that the DDL has not created (yet) in this warehouse."""

    def __init__(self, table: str):
        super().__init__(f"{table} does not exist yet in the warehouse; its DAG has not been deployed or run")
        self.table = table


@dataclass(frozen=True)
class Mart:
    name: str
    title: str
    key: tuple[str, ...]  # unique tie-breaker that makes paging stable
    default_sort: tuple[tuple[str, str], ...]
    # filter name -> fixed SQL condition on its bind parameter of the same name
    filters: Mapping[str, str] = field(default_factory=dict)
    # conditions applied even without a value (e.g. "the latest day" when no date is asked for)
    always: tuple[str, ...] = ()
    personal: tuple[str, ...] = ()
    # text columns whose values have an order of their own (amount bands by amount, not alphabetically)
    value_order: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def table(self) -> str:
        return f"mart.{self.name}"

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column of the mart in DDL order: include/sql/ddl is their one definition."""
        return table_columns("mart")[self.name]

    def sort_key(self, column: str) -> sql.Composable:
        """What ORDER BY uses for a column: its position in ``value_order`` when it has one, else itself."""
        if column in self.value_order:
            order = sql.Literal(list(self.value_order[column]))
            return sql.SQL("array_position({}::text[], {})").format(order, sql.Identifier(column))
        return sql.Identifier(column)


MARTS: dict[str, Mart] = {
    m.name: m
    for m in [
        Mart(
            "overdue_by_month",
            "Overdue share by month and amount band",
            key=("month", "amount_band"),
            default_sort=(("month", "asc"), ("amount_band", "asc")),
            value_order={"amount_band": amount_bands.LABELS},
            filters={
                "amount_band": "amount_band = %(amount_band)s",
                "date_from": "month >= date_trunc('month', %(date_from)s::date)",
                "date_to": "month <= %(date_to)s::date",
            },
        ),
        Mart(
            "portfolio_at_risk",
            "Portfolio at risk (PAR30 / PAR90)",
            key=("month",),
            default_sort=(("month", "asc"),),
            filters={
                "date_from": "month >= date_trunc('month', %(date_from)s::date)",
                "date_to": "month <= %(date_to)s::date",
            },
        ),
        Mart(
            "overdue_notifications",
            "Today's overdue notifications",
            key=("loan_id",),
            default_sort=(("priority", "asc"), ("days_past_due", "desc")),
            filters={
                "as_of_date": "as_of_date = coalesce(%(as_of_date)s::date, "
                "(select max(as_of_date) from mart.overdue_notifications))",
                "priority": "priority = %(priority)s",
                "dpd_bucket": "dpd_bucket = %(dpd_bucket)s",
                "client_id": "client_id = %(client_id)s",
            },
            always=("as_of_date",),
            personal=("client_name", "phone"),
        ),
        Mart(
            "roll_rates",
            "Monthly roll rates between DPD buckets",
            key=("month", "from_bucket", "to_bucket"),
            default_sort=(("month", "asc"), ("from_bucket", "asc"), ("to_bucket", "asc")),
            value_order={"from_bucket": ROLL_BUCKETS, "to_bucket": ROLL_BUCKETS},
            filters={
                "from_bucket": "from_bucket = %(from_bucket)s",
                "date_from": "month >= date_trunc('month', %(date_from)s::date)",
                "date_to": "month <= %(date_to)s::date",
            },
        ),
        Mart(
            "vintage_curves",
            "Vintage curves: loans ever 30+ / 90+ days past due by month on book",
            key=("issue_month", "months_on_book"),
            default_sort=(("issue_month", "asc"), ("months_on_book", "asc")),
            filters={
                "date_from": "issue_month >= date_trunc('month', %(date_from)s::date)",
                "date_to": "issue_month <= %(date_to)s::date",
            },
        ),
        Mart(
            "client_segments",
            "Clients by segment",
            key=("client_id",),
            default_sort=(("client_id", "asc"),),
            filters={
                "segment": "client_segment = %(segment)s",
                "client_id": "client_id = %(client_id)s",
                "suggested_product": "suggested_product = %(suggested_product)s",
            },
            personal=("client_name",),
        ),
        Mart(
            "segment_top_products",
            "Top products per segment",
            key=("client_segment", "product_rank"),
            default_sort=(("client_segment", "asc"), ("product_rank", "asc")),
            filters={"segment": "client_segment = %(segment)s"},
        ),
        Mart(
            "rfm",
            "RFM scores per customer",
            key=("source", "customer_id"),
            default_sort=(("source", "asc"), ("customer_id", "asc")),
            filters={
                "source": "source = %(source)s",
                "segment": "segment = %(segment)s",
                "r_score": "r_score = %(r_score)s",
                "f_score": "f_score = %(f_score)s",
                "country": "country = %(country)s",
            },
        ),
        Mart(
            "rfm_segments",
            "RFM segment summary",
            key=("source", "segment"),
            default_sort=(("source", "asc"), ("customers", "desc")),
            filters={"source": "source = %(source)s", "segment": "segment = %(segment)s"},
        ),
        Mart(
            "client_portraits",
            "Station clients and their portraits",
            key=("client_id",),
            default_sort=(("client_id", "asc"),),
            filters={
                "portrait_id": "portrait_id = %(portrait_id)s",
                "client_id": "client_id = %(client_id)s",
                "min_confidence": "confidence >= %(min_confidence)s",
                "max_confidence": "confidence <= %(max_confidence)s",
            },
        ),
        Mart(
            "portrait_distribution",
            "Clients per portrait",
            key=("portrait_id",),
            default_sort=(("clients", "desc"),),
            filters={"portrait_id": "portrait_id = %(portrait_id)s"},
        ),
        Mart(
            "recommendations",
            "Partner-service recommendations",
            key=("client_id", "rank"),
            default_sort=(("client_id", "asc"), ("rank", "asc")),
            filters={
                "client_id": "client_id = %(client_id)s",
                "variant": "variant = %(variant)s",
                "service_id": "service_id = %(service_id)s",
            },
        ),
        Mart(
            "recommender_metrics",
            "Recommender offline metrics",
            key=("model_run_id", "variant"),
            default_sort=(("trained_at", "desc"), ("variant", "asc")),
            filters={"variant": "variant = %(variant)s", "model_run_id": "model_run_id = %(model_run_id)s"},
        ),
        Mart(
            "ab_test_results",
            "A/B test results",
            key=("model_run_id", "experiment", "variant"),
            default_sort=(("model_run_id", "desc"), ("experiment", "asc"), ("variant", "asc")),
            filters={
                "model_run_id": "model_run_id = %(model_run_id)s",
                "experiment": "experiment = %(experiment)s",
            },
        ),
    ]
}


@dataclass(frozen=True)
class Selection:
    """Which rows of a mart a request asks for: filter values, sort column and direction."""

    mart: Mart
    values: Mapping[str, Any] = field(default_factory=dict)
    sort: str | None = None
    direction: str = "asc"

    def where(self) -> tuple[sql.Composable, dict[str, Any]]:
        params = {name: _plain(self.values.get(name)) for name in self.mart.filters}
        conditions = [
            sql.SQL(condition)
            for name, condition in self.mart.filters.items()
            if params[name] is not None or name in self.mart.always
        ]
        if not conditions:
            return sql.SQL(""), params
        return sql.SQL(" where ") + sql.SQL(" and ").join(conditions), params

    def order_by(self) -> sql.Composable:
        sort = [(self.sort, self.direction)] if self.sort else list(self.mart.default_sort)
        sort += [(k, "asc") for k in self.mart.key if k not in {c for c, _ in sort}]
        parts = []
        for column, direction in sort:
            if column not in self.mart.columns or direction not in ("asc", "desc"):
                raise ValueError(f"cannot sort {self.mart.table} by {column} {direction}")
            parts.append(sql.SQL("{} {}").format(self.mart.sort_key(column), sql.SQL(direction)))
        return sql.SQL(" order by ") + sql.SQL(", ").join(parts)

    def select(self) -> tuple[sql.Composable, dict[str, Any]]:
        where, params = self.where()
        columns = sql.SQL(", ").join(sql.Identifier(c) for c in self.mart.columns)
        table = sql.Identifier("mart", self.mart.name)
        return sql.SQL("select {} from {}").format(columns, table) + where + self.order_by(), params

    def count(self) -> tuple[sql.Composable, dict[str, Any]]:
        where, params = self.where()
        return sql.SQL("select count(*) from {}").format(
            sql.Identifier("mart", self.mart.name)
        ) + where, params


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


@contextmanager
def read_connection(conn_id: str = config.DWH_CONN_ID):
    """A short, read-only warehouse connection with a statement timeout."""
    from client_dwh.warehouse.db import connect

    with connect(conn_id) as conn:
        conn.read_only = True
        with conn.cursor() as cur:
            cur.execute(sql.SQL("set statement_timeout = {}").format(sql.Literal(STATEMENT_TIMEOUT_MS)))
        yield conn


def rows(conn, statement, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(statement, params or None)
        return cur.fetchall()


def missing_tables(conn, tables: list[str]) -> set[str]:
    found = rows(
        conn, "select t, to_regclass(t) is not null as ok from unnest(%(t)s::text[]) as t", {"t": tables}
    )
    return {r["t"] for r in found if not r["ok"]}


def require_tables(conn, *tables: str) -> None:
    if missing := missing_tables(conn, list(tables)):
        raise MartMissing(sorted(missing)[0])


def fetch_page(conn, selection: Selection, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
    require_tables(conn, selection.mart.table)
    count_sql, params = selection.count()
    ((total,),) = [tuple(r.values()) for r in rows(conn, count_sql, params)]
    select_sql, params = selection.select()
    page = rows(
        conn,
        select_sql + sql.SQL(" limit %(_limit)s offset %(_offset)s"),
        {**params, "_limit": limit, "_offset": offset},
    )
    return total, page


def refresh_info(conn, marts: list[str]) -> dict[str, dict[str, Any] | None]:
    """meta.mart_refresh per mart (publishers write 'mart.<name>'; a bare name is accepted too)."""
    names = [*marts, *(f"mart.{m}" for m in marts)]
    found = rows(
        conn,
        """select regexp_replace(mart, '^mart\\.', '') as mart, refreshed_at, dag_run_id, last_batch_id,
                  last_part_no, row_count
           from meta.mart_refresh where mart = any(%(names)s) order by refreshed_at""",
        {"names": names},
    )
    info: dict[str, dict[str, Any] | None] = dict.fromkeys(marts)
    info.update({r["mart"]: r for r in found})
    return info


def csv_value(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def stream_csv(selection: Selection, admin: bool, conn_id: str = config.DWH_CONN_ID) -> Iterator[str]:
    """The selected rows as CSV, read through a server-side cursor in chunks (never the whole mart)."""
    columns = selection.mart.columns
    masks = {} if admin else {i: MASKS[c] for i, c in enumerate(columns) if c in selection.mart.personal}
    convert = {i for i, c in enumerate(columns) if c in ("products", "params")}  # arrays and jsonb
    header = io.StringIO()
    csv.writer(header).writerow(columns)
    yield header.getvalue()
    with read_connection(conn_id) as conn:
        statement, params = selection.select()
        with conn.cursor(name="client_analytics_csv") as cur:
            cur.itersize = CSV_CHUNK_ROWS
            cur.execute(statement, params)
            while chunk := cur.fetchmany(CSV_CHUNK_ROWS):
                if masks or convert:
                    chunk = [_csv_row(row, masks, convert) for row in chunk]
                out = io.StringIO()
                csv.writer(out).writerows(chunk)
                yield out.getvalue()


def _csv_row(row: tuple, masks: Mapping[int, Any], convert: set[int]) -> list[Any]:
    values = list(row)
    for i, mask in masks.items():
        values[i] = mask(values[i])
    for i in convert:
        values[i] = csv_value(values[i])
    return values


# --- aggregates for the charts (small results, computed in SQL) -----------------------------------


def overdue_share_series(conn, amount_band: str | None, date_from, date_to) -> list[dict[str, Any]]:
    selection = Selection(
        MARTS["overdue_by_month"], {"amount_band": amount_band, "date_from": date_from, "date_to": date_to}
    )
    where, params = selection.where()
    return rows(
        conn,
        sql.SQL("select month, amount_band, overdue_share_pct::float8 as share from mart.overdue_by_month")
        + where
        + sql.SQL(" order by {}, month").format(MARTS["overdue_by_month"].sort_key("amount_band")),
        params,
    )


def par_series(conn, date_from, date_to) -> list[dict[str, Any]]:
    where, params = Selection(
        MARTS["portfolio_at_risk"], {"date_from": date_from, "date_to": date_to}
    ).where()
    return rows(
        conn,
        sql.SQL(
            "select month, par30_pct::float8 as par30, par90_pct::float8 as par90 from mart.portfolio_at_risk"
        )
        + where
        + sql.SQL(" order by month"),
        params,
    )


def roll_rate_series(conn, date_from, date_to) -> list[dict[str, Any]]:
    """Month-to-month roll rates, averaged over the chosen months, weighted by balance."""
    where, params = Selection(MARTS["roll_rates"], {"date_from": date_from, "date_to": date_to}).where()
    return rows(
        conn,
        sql.SQL(
            "select from_bucket, to_bucket, (100.0 * sum(balance) / nullif(sum(sum(balance)) over "
            "(partition by from_bucket), 0))::float8 as share from mart.roll_rates"
        )
        + where
        + sql.SQL(" group by from_bucket, to_bucket"),
        params,
    )


def vintage_series(conn, date_from, date_to) -> list[dict[str, Any]]:
    where, params = Selection(MARTS["vintage_curves"], {"date_from": date_from, "date_to": date_to}).where()
    return rows(
        conn,
        sql.SQL(
            "select issue_month, months_on_book, ever_30_plus_pct::float8 as ever30, "
            "ever_90_plus_pct::float8 as ever90 from mart.vintage_curves"
        )
        + where
        + sql.SQL(" order by issue_month, months_on_book"),
        params,
    )


def segment_counts(conn) -> list[dict[str, Any]]:
    return rows(
        conn,
        "select client_segment, count(*) as clients from mart.client_segments group by 1 order by 1",
    )


def top_products(conn, segment: str, limit: int = 10) -> list[dict[str, Any]]:
    return rows(
        conn,
        """select product_rank, product_id, product_name, clients, share_pct::float8 as share_pct
           from mart.segment_top_products where client_segment = %(segment)s
           order by product_rank limit %(limit)s""",
        {"segment": segment, "limit": limit},
    )


def client_card(conn, client_id: int) -> dict[str, Any] | None:
    found = rows(conn, "select * from mart.client_segments where client_id = %(id)s", {"id": client_id})
    return found[0] if found else None


def rfm_sources(conn) -> list[str]:
    return [r["source"] for r in rows(conn, "select distinct source from mart.rfm_segments order by 1")]


def rfm_segment_summary(conn, source: str | None) -> list[dict[str, Any]]:
    return rows(
        conn,
        """select segment, customers, share_pct, avg_recency, avg_frequency, avg_monetary, total_monetary
           from mart.rfm_segments where source = %(source)s order by customers desc, segment""",
        {"source": source},
    )


def rfm_settings(conn, source: str | None) -> dict[str, Any] | None:
    """How mart.rfm was computed for ``source``: the duplicate-lines choice and the lines it concerns."""
    found = rows(
        conn,
        """select exclude_duplicate_lines, duplicate_lines, duplicate_lines_excluded, lines_counted, as_of_date
           from mart.rfm_settings where source = %(source)s""",
        {"source": source},
    )
    return found[0] if found else None


def rf_heatmap(conn, source: str | None) -> list[dict[str, Any]]:
    return rows(
        conn,
        """select r_score, f_score, count(*) as customers from mart.rfm
           where source = %(source)s group by 1, 2 order by 1, 2""",
        {"source": source},
    )


def portrait_counts(conn) -> list[dict[str, Any]]:
    return rows(
        conn,
        """select portrait_id, portrait_name, clients, share_pct, avg_confidence, advice
           from mart.portrait_distribution order by clients desc, portrait_id""",
    )


def confidence_histogram(conn, portrait_id: str | None, bins: int = HISTOGRAM_BINS) -> list[dict[str, Any]]:
    """Clients per confidence bin of width 1/bins on [0, 1]; a confidence of exactly 1 goes to the last bin."""
    return rows(
        conn,
        """select least(width_bucket(confidence, 0, 1, %(bins)s), %(bins)s) as bin, count(*) as clients
           from mart.client_portraits
           where (%(portrait_id)s::text is null or portrait_id = %(portrait_id)s)
           group by 1 order by 1""",
        {"bins": bins, "portrait_id": portrait_id},
    )


def metrics_history(conn) -> list[dict[str, Any]]:
    return rows(
        conn,
        """select model_run_id, trained_at, variant, k, precision_at_k, recall_at_k, map_at_k, ndcg_at_k,
                  validation_ndcg_at_k, blend, neighbours, is_served, selection_reason
           from mart.recommender_metrics order by trained_at, variant""",
    )


def client_recommendations(conn, client_id: int) -> list[dict[str, Any]]:
    require_tables(conn, "mart.recommendations")
    return rows(
        conn,
        """select rank, service_id, partner_name, service_name, score, reason, variant, model_run_id
           from mart.recommendations where client_id = %(id)s order by rank""",
        {"id": client_id},
    )


def partner_services(conn, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
    """The partner services that appear in the recommendations, with how many clients each reaches."""
    require_tables(conn, "mart.recommendations")
    # One pass over the recommendations: the window counts the services before limit/offset apply.
    page = rows(
        conn,
        """select service_id, min(partner_name) as partner_name, min(service_name) as service_name,
                  count(*) as clients_recommended, avg(score) as avg_score, count(*) over () as total
           from mart.recommendations group by service_id
           order by clients_recommended desc, service_id limit %(limit)s offset %(offset)s""",
        {"limit": limit, "offset": offset},
    )
    if page:
        return page[0]["total"], [{k: v for k, v in r.items() if k != "total"} for r in page]
    ((total,),) = [
        tuple(r.values()) for r in rows(conn, "select count(distinct service_id) from mart.recommendations")
    ]
    return total, []
