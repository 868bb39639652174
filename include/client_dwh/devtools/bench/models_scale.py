"""Peak memory and seconds of portrait mapping and of the recommend_services steps at scale (by hand).

``fill_core`` writes core directly with ``generate_series`` (clients, station clients and their visits,
the synthetic partner catalogue, interactions), so a million clients take minutes instead of a full
generate -> land -> staging -> core run; ``bench_models`` then runs the task functions on that warehouse,
a process and a ``PeakRss`` per step (``make bench MODELS=1`` does that on each benchmark warehouse too).
Point ``AIRFLOW_CONN_DWH`` at a scratch database: ``--fill`` replaces everything in it.

    python -m client_dwh.devtools.bench.models_scale --clients 1000000 --fill
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

STATION_CLIENT_SHARE = 0.6
VISITS_PER_STATION_CLIENT = 6.5  # a month of visits, on average
INTERACTIONS_PER_CLIENT = 7.0
COLD_START_EVERY = 10  # every tenth client has no partner-service history


def fill_core(clients: int, seed: int = 1) -> dict[str, int]:
    """Replace the warehouse's schemas with core tables holding ``clients`` bank clients; row counts."""
    from client_dwh.sources.synthetic.partners import generate_partner_services
    from client_dwh.warehouse.db import connect, query
    from client_dwh.warehouse.ddl import create_schema

    services = generate_partner_services()
    with connect() as conn:
        query(conn, "drop schema if exists staging, core, mart, mart_next, meta cascade")
        create_schema(conn)
        query(conn, "select setseed(%(s)s)", {"s": 1.0 / (seed + 1)})
        query(
            conn,
            """insert into core.clients (client_id, full_name, birth_date, income, record_hash, valid_from,
                                         batch_id, part_no)
               select g, 'client ' || g, date '1950-01-01' + (random() * 18000)::int,
                      round((15000 + random() * 200000)::numeric, 2), md5(g::text), now(), 'scale', 1
               from generate_series(1, %(n)s) as g""",
            {"n": clients},
        )
        query(
            conn,
            """insert into core.station_clients (client_id, home_station_id, distance_km, batch_id, part_no)
               select client_id, (random() * 300)::int, round((0.5 + random() * 40)::numeric, 2), 'scale', 1
               from core.clients where random() < %(share)s""",
            {"share": STATION_CLIENT_SHARE},
        )
        query(
            conn,
            """insert into core.station_visits (visit_id, client_id, station_id, visited_at, amount, fuel_grade,
                                                bought_coffee, paid_with_app, batch_id, part_no)
               select row_number() over (), s.client_id, s.home_station_id,
                      timestamp '2026-10-01' + random() * interval '30 days',
                      round((300 + random() * 5000)::numeric, 2),
                      (array['AI-92', 'AI-95', 'AI-100', 'DT'])[1 + (random() * 3.999)::int],
                      random() < 0.3, random() < 0.5, 'scale', 1
               from core.station_clients as s
               cross join lateral generate_series(1, 1 + (random() * (2 * %(v)s - 2))::int) as n""",
            {"v": VISITS_PER_STATION_CLIENT},
        )
        with conn.cursor() as cur:
            cur.executemany(
                """insert into core.partner_services (service_id, partner_name, partner_category, service_name,
                                                      description, batch_id, part_no)
                   values (%(service_id)s, %(partner_name)s, %(partner_category)s, %(service_name)s,
                           %(description)s, 'scale', 1)""",
                services.to_dict("records"),
            )
        # Tastes: a client's group (client_id mod 7) prefers a window of services, so there is signal to learn.
        query(
            conn,
            """insert into core.service_interactions (interaction_id, client_id, service_id, interacted_at,
                                                      kind, weight, batch_id, part_no)
               select row_number() over (), i.client_id, s.ids[1 + (i.client_id %% 7 * 7
                          + floor(power(random(), 2) * 14)::int) %% array_length(s.ids, 1)],
                      timestamp '2026-10-01' + random() * interval '30 days', 'view', 1.0, 'scale', 1
               from (select 1 + floor(random() * %(n)s)::bigint as client_id
                     from generate_series(1, %(events)s)) as i
               cross join (select array_agg(service_id order by service_id) as ids
                           from core.partner_services) as s
               where i.client_id %% %(cold)s <> 0""",
            {
                "n": clients,
                "events": int(clients * INTERACTIONS_PER_CLIENT * COLD_START_EVERY / (COLD_START_EVERY - 1)),
                "cold": COLD_START_EVERY,
            },
        )
        for table in (
            "clients",
            "station_clients",
            "station_visits",
            "partner_services",
            "service_interactions",
        ):
            query(conn, f"analyze core.{table}")
        counts = {
            table: query(conn, f"select count(*) from core.{table}")[0][0]
            for table in (
                "clients",
                "station_clients",
                "station_visits",
                "partner_services",
                "service_interactions",
            )
        }
    return counts


STEPS = (
    "map_client_portraits",
    "build_interaction_matrix",
    "train_and_evaluate",
    "publish_recommendations",
    "run_ab_test",
)


def run_step(name: str, model_run_id: str = "scale") -> dict[str, Any]:
    """One step in this process: seconds and peak RSS (this process; the database's largest backend)."""
    from client_dwh.devtools.bench.memory import PeakRss
    from client_dwh.devtools.bench.pipeline import _database_name
    from client_dwh.portraits.warehouse_mapping import map_client_portraits
    from client_dwh.recommend import warehouse as recommend
    from client_dwh.warehouse.db import connect, query

    if name == "map_client_portraits":
        with connect() as conn:  # no stored model: every client is mapped, as on a first run
            query(conn, "delete from meta.portrait_models")
    params = recommend.ModelParams()
    steps = {
        "map_client_portraits": lambda: map_client_portraits(run_id=model_run_id),
        "build_interaction_matrix": lambda: recommend.build_interaction_matrix(model_run_id),
        "train_and_evaluate": lambda: recommend.train_and_evaluate(model_run_id, params),
        "publish_recommendations": lambda: recommend.publish_recommendations(model_run_id, params),
        "run_ab_test": lambda: recommend.run_ab_test(model_run_id, params),
    }
    with PeakRss(database=_database_name()) as memory:
        started = time.perf_counter()
        steps[name]()
        seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 1), **memory.as_dict()}


def bench_models() -> dict[str, Any]:
    """Every step in a process of its own, as Airflow runs tasks (a step's peak is not inflated by the
    memory an earlier step left to the allocator)."""
    import subprocess
    import sys

    results = {}
    for name in STEPS:
        done = subprocess.run(
            [sys.executable, "-m", "client_dwh.devtools.bench.models_scale", "--step", name],
            check=True,
            capture_output=True,
            text=True,
        )
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])
        print(name, results[name], flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--fill", action="store_true", help="first replace core with --clients clients")
    parser.add_argument("--step", choices=STEPS, help="run only this step, in this process")
    args = parser.parse_args()
    if args.step:
        print(json.dumps(run_step(args.step)))
        return
    if args.fill:
        started = time.perf_counter()
        counts = fill_core(args.clients)
        print("core:", counts, f"filled in {time.perf_counter() - started:.0f} s", flush=True)
    print(json.dumps(bench_models(), indent=2))


if __name__ == "__main__":
    main()
