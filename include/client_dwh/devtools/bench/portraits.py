"""Throughput and accuracy benchmark of portrait mapping, and threshold calibration (run by hand, not in CI).

The warehouse maps every client on each run, so fit+assign must stay in the seconds range at a million
clients; the accuracy comparison keeps the cluster-then-label baseline honest on the same data.
``bench_portraits`` measures the warehouse path end to end: synthetic visits landed, features derived in
SQL, mapped by ``map_client_portraits``, compared with the ground truth the generator wrote beside the parts.
"""

from __future__ import annotations

import datetime as dt
import io
import time
from typing import Any

import pandas as pd

from client_dwh import config
from client_dwh.portraits.catalogue import PortraitCatalogue, load_portraits
from client_dwh.portraits.mapping import PortraitMapper
from client_dwh.portraits.quality import cluster_then_label_baseline, evaluate, threshold_curve
from client_dwh.sources.synthetic.station_population import generate_station_clients


def bench_mapping(
    n_clients: int = 1_000_000,
    seed: int = 1,
    *,
    accuracy_clients: int = 100_000,
    catalogue: PortraitCatalogue | None = None,
) -> dict[str, Any]:
    catalogue = catalogue or load_portraits()
    started = time.perf_counter()
    features, _ = generate_station_clients(n_clients, seed, catalogue)
    generate_seconds = time.perf_counter() - started

    started = time.perf_counter()
    mapper = PortraitMapper(catalogue)
    mapper.assign(features)
    map_seconds = time.perf_counter() - started

    sample, truth = generate_station_clients(accuracy_clients, seed + 1, catalogue)
    mapper_metrics = evaluate(PortraitMapper(catalogue).assign(sample), truth)
    started = time.perf_counter()
    baseline_metrics = evaluate(cluster_then_label_baseline(sample, catalogue, seed), truth)
    baseline_seconds = time.perf_counter() - started
    return {
        "n_clients": n_clients,
        "generate_seconds": round(generate_seconds, 3),
        "fit_assign_seconds": round(map_seconds, 3),
        "clients_per_second": round(n_clients / map_seconds),
        "accuracy_clients": accuracy_clients,
        "mapper_accuracy": mapper_metrics["accuracy"],
        "mapper_outliers_caught_share": mapper_metrics["outliers_caught_share"],
        "mapper_false_unassigned_share": mapper_metrics["false_unassigned_share"],
        "baseline_accuracy": baseline_metrics["accuracy"],
        "baseline_seconds": round(baseline_seconds, 3),
    }


def calibrate_threshold(
    n_clients: int = 200_000,
    seed: int = 7,
    thresholds: tuple[float, ...] = (0.6, 0.8, 1.0, 1.2, 1.4),
    catalogue: PortraitCatalogue | None = None,
) -> list[dict[str, float]]:
    """Accuracy and outlier catch share for candidate thresholds on our own generator's clients.

    The default threshold is checked on clients drawn independently of it: ``tests/portrait_threshold_curve.py``.
    """
    catalogue = catalogue or load_portraits()
    features, truth = generate_station_clients(n_clients, seed, catalogue)
    assignments = PortraitMapper(catalogue).assign(features)
    return threshold_curve(assignments, truth["true_portrait_id"], list(thresholds))


def read_ground_truth(batch: str, landing_url: str | None = None) -> pd.DataFrame:
    """True portraits of a synthetic batch's station clients (``<landing>/<batch>/_ground_truth``)."""
    from client_dwh.landing import GROUND_TRUTH_DIR, landing_root

    folder = landing_root(landing_url) / batch / GROUND_TRUTH_DIR
    frames = [
        pd.read_json(io.BytesIO(data), lines=True, dtype={"client_id": "int64", "true_portrait_id": "str"})
        for path in sorted(folder.iterdir(), key=lambda p: p.name)
        if path.name.endswith("-portraits.jsonl") and (data := path.read_bytes())
    ]
    if not frames:
        raise FileNotFoundError(f"no ground-truth files under {folder}")
    # Cumulative parts repeat earlier clients; a client's true portrait never changes.
    return pd.concat(frames, ignore_index=True).drop_duplicates("client_id", keep="last")


def warehouse_accuracy(
    batch: str, landing_url: str | None = None, conn_id: str = config.DWH_CONN_ID
) -> dict[str, Any]:
    """``quality.evaluate`` of mart.client_portraits against the batch's ground truth (confusion included)."""
    from client_dwh.warehouse.db import connect, query

    truth = read_ground_truth(batch, landing_url)
    with connect(conn_id) as conn:
        rows = query(
            conn,
            "select client_id, portrait_id from mart.client_portraits where client_id = any(%(ids)s)",
            {"ids": truth["client_id"].tolist()},
        )
    return evaluate(pd.DataFrame(rows, columns=["client_id", "portrait_id"]), truth)


def warehouse_features(client_ids: list[int], conn_id: str = config.DWH_CONN_ID) -> pd.DataFrame:
    from client_dwh.warehouse.db import connect, query

    catalogue_features = list(load_portraits().features)
    with connect(conn_id) as conn:
        rows = query(
            conn,
            f"""select client_id, {", ".join(catalogue_features)} from core.station_client_features
                where client_id = any(%(ids)s) and age is not null""",
            {"ids": client_ids},
        )
    return pd.DataFrame(rows, columns=["client_id", *catalogue_features])


def bench_portraits(
    clients: int = 100_000,
    parts: int = 2,
    seed: int = 11,
    *,
    throughput_clients: int = 1_000_000,
    conn_id: str = config.DWH_CONN_ID,
    as_of: dt.date | None = None,
) -> dict[str, Any]:
    """Land a synthetic batch, run staging -> core -> mapping on it, and measure.

    Returns the warehouse-path accuracy (features derived in SQL from visits), the cluster-then-label
    baseline's accuracy on the same warehouse features, and the mapper's throughput at
    ``throughput_clients``. Writes into the ``conn_id`` warehouse: use a scratch one, since the mapping
    covers every station client there.
    """
    import tempfile

    from client_dwh.landing import landing_root, list_landed_parts
    from client_dwh.portraits.warehouse_mapping import map_client_portraits
    from client_dwh.sources.synthetic.land import generate_and_land
    from client_dwh.warehouse.pipeline import process_parts

    batch = f"bench-portraits-s{seed}"
    timings = {}
    with tempfile.TemporaryDirectory(prefix="bench_portraits_") as landing_url:
        started = time.perf_counter()
        generate_and_land(
            clients=clients, parts=parts, seed=seed, batch=batch, landing_url=landing_url, as_of=as_of,
            entities=("clients", "station_clients", "station_visits"),  # loans etc. play no part here
            with_ground_truth=True,
        )  # fmt: skip
        timings["generate_and_land_seconds"] = round(time.perf_counter() - started, 2)
        landed = [p.to_xcom() for p in list_landed_parts(landing_root(landing_url), batch)]
        started = time.perf_counter()
        process_parts(landed, (as_of or dt.date.today()).isoformat(), marts=False, conn_id=conn_id)
        timings["stage_and_core_seconds"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        report = map_client_portraits(landed, conn_id=conn_id, run_id="bench_portraits")
        timings["warehouse_mapping_seconds"] = round(time.perf_counter() - started, 2)
        warehouse = warehouse_accuracy(batch, landing_url, conn_id)
        truth = read_ground_truth(batch, landing_url)
    features = warehouse_features(truth["client_id"].tolist(), conn_id)
    baseline = evaluate(cluster_then_label_baseline(features, load_portraits(), seed), truth)
    throughput = bench_mapping(throughput_clients, seed, accuracy_clients=10_000)
    return {
        "clients": clients,
        "station_clients": len(truth),
        "warehouse_accuracy": warehouse["accuracy"],
        "warehouse_outliers_caught_share": warehouse["outliers_caught_share"],
        "warehouse_false_unassigned_share": warehouse["false_unassigned_share"],
        "warehouse_confusion": warehouse["confusion"],
        "baseline_accuracy": baseline["accuracy"],
        "baseline_outliers_caught_share": baseline["outliers_caught_share"],  # never unassigns: 0
        "mapping_report": report,
        "throughput_clients": throughput_clients,
        "fit_assign_seconds": throughput["fit_assign_seconds"],
        "clients_per_second": throughput["clients_per_second"],
        **timings,
    }


if __name__ == "__main__":
    print(calibrate_threshold())
    print(bench_mapping())
