"""Map the warehouse's station clients to portraits: only new or changed clients, everyone when the model changes.

Features come from ``core.station_client_features`` (derived from visits in SQL). The mapper's parameters
(threshold and the catalogue's fixed scale, never fitted on the population) are stored in
``meta.portrait_models``; later runs reuse them and map only clients whose ``features_hash`` differs from
the one stored in ``mart.client_portraits`` (or who are not mapped yet). Everyone is re-mapped when the
model version, the content of portraits.json (its sha256) or the threshold changed.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

from client_dwh import config
from client_dwh.portraits.catalogue import UNASSIGNED, PortraitCatalogue, load_portraits
from client_dwh.portraits.mapping import MODEL_VERSION, PortraitMapper
from client_dwh.portraits.threshold import DEFAULT_THRESHOLD, MAX_THRESHOLD, MIN_THRESHOLD
from client_dwh.portraits.upload import UNASSIGNED_NAME
from client_dwh.warehouse.db import connect, query
from client_dwh.warehouse.marts import PORTRAIT_MARTS, publish
from client_dwh.warehouse.progress import claim_parts, finish_claimed_parts

log = logging.getLogger(__name__)

MART_COLUMNS = (
    "client_id",
    "portrait_id",
    "portrait_name",
    "distance",
    "confidence",
    "second_portrait_id",
    "model_version",
    "catalogue_sha256",
    "features_hash",
)
# Clients read, mapped and COPYed at a time: ~10 MB of features and assignments, whatever the population.
FEATURE_BATCH_ROWS = 50_000


def map_client_portraits(
    parts: list[dict] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    conn_id: str = config.DWH_CONN_ID,
    run_id: str | None = None,
    *,
    catalogue_path: str | Path | None = None,
) -> dict[str, Any]:
    """Publish the next ``mart.client_portraits`` (the clients mapped now plus the stored mappings of the
    others) and ``mart.portrait_distribution`` through the marts' publish path (build, check, swap in this
    one transaction: a failed check keeps the previous marts); return a short report.

    ``parts`` (the sensor's XCom) only names the last part in ``meta.mart_refresh``.
    """
    threshold = float(threshold)
    if not MIN_THRESHOLD <= threshold <= MAX_THRESHOLD:
        raise ValueError(f"threshold must be within [{MIN_THRESHOLD}, {MAX_THRESHOLD}], got {threshold}")
    catalogue = load_portraits(catalogue_path or config.PORTRAITS_FILE)
    with connect(conn_id) as conn:
        query(conn, "select pg_advisory_xact_lock(hashtext('client_dwh.portraits'))")
        claim_parts(conn, "portraits", run_id)  # before reading core: marks only what this run maps
        # The view aggregates every visit: compute it once per run.
        query(
            conn,
            """create temp table client_features on commit drop as
               select * from core.station_client_features""",
        )
        ((population, incomplete),) = query(
            conn,
            f"""select count(*) filter (where {_complete()}), count(*) filter (where not ({_complete()}))
                from client_features""",
        )
        stored = _latest_model(conn)
        everyone_because = _why_remap_everyone(stored, catalogue, threshold)
        if everyone_because:
            mapper = PortraitMapper(catalogue, threshold)
            _store_model(conn, mapper, population, run_id)
            mapped, _ = _map_in_batches(conn, mapper, catalogue, f"where {_complete()}")
            new = changed = 0  # everyone is re-mapped: the report gives the reasons, not these counts
        else:
            mapper = PortraitMapper.from_dict(stored, catalogue)
            mapped, new = _map_in_batches(
                conn,
                mapper,
                catalogue,
                f"""left join mart.client_portraits as p using (client_id)
                    where {_complete("f")} and p.features_hash is distinct from f.features_hash""",
                new_column="(p.client_id is null)",
            )
            changed = mapped - new
        _stage_catalogue(conn, catalogue)
        ((removed,),) = query(
            conn,
            """select count(*) from mart.client_portraits as p
               where not exists (select 1 from client_features as f
                                 where f.client_id = p.client_id and """
            + _complete("f")
            + ")",
        )
        last = sorted(parts or [], key=lambda p: (p["batch"], p["part"]))[-1:] or [None]
        publish(conn, PORTRAIT_MARTS, run_id=run_id, last_part=last[0])
        finish_claimed_parts(conn, "portraits", run_id)
        report = _report(conn, catalogue, threshold)
    report["remapped"] = {
        "clients": mapped,
        "everyone": bool(everyone_because),
        "reasons": everyone_because or ([f"{new} new", f"{changed} with changed features"] if mapped else []),
        "removed": removed,
        "without_complete_features": incomplete,
    }
    log.info("portrait mapping: %s", format_mapping_report(report))
    return report


def _complete(alias: str | None = None) -> str:
    """SQL condition: every feature is known (a client without a birth date has no age)."""
    prefix = f"{alias}." if alias else ""
    return f"{prefix}age is not null"


def _latest_model(conn) -> dict[str, Any] | None:
    rows = query(
        conn,
        """select scaler, model_version, catalogue_sha256, threshold, n_clients
           from meta.portrait_models order by model_id desc limit 1""",
    )
    if not rows:
        return None
    scaler, model_version, catalogue_sha256, threshold, n_clients = rows[0]
    return {
        **scaler,
        "model_version": model_version,
        "catalogue_sha256": catalogue_sha256,
        "threshold": threshold,
        "n_clients": n_clients,
    }


def _why_remap_everyone(
    stored: dict[str, Any] | None, catalogue: PortraitCatalogue, threshold: float
) -> list[str]:
    if stored is None:
        return ["no fitted model stored yet"]
    reasons = []
    if stored["model_version"] != MODEL_VERSION:
        reasons.append(f"model version changed ({stored['model_version']} -> {MODEL_VERSION})")
    if stored["catalogue_sha256"] != catalogue.sha256:
        reasons.append(
            f"portraits.json changed (sha256 {stored['catalogue_sha256'][:12]} -> {catalogue.sha256[:12]})"
        )
    if list(stored.get("features", [])) != list(catalogue.features):
        reasons.append("feature set changed")
    if abs(stored["threshold"] - threshold) > 1e-12:
        reasons.append(f"threshold changed ({stored['threshold']:g} -> {threshold:g})")
    return reasons


def _store_model(conn, mapper: PortraitMapper, population: int, run_id: str | None) -> None:
    from psycopg.types.json import Jsonb

    params = mapper.to_dict()
    query(
        conn,
        """insert into meta.portrait_models (model_version, catalogue_sha256, threshold, scaler, n_clients,
                                             fitted_by_run)
           values (%(version)s, %(sha)s, %(threshold)s, %(scaler)s, %(n)s, %(run)s)""",
        {
            "version": params["model_version"],
            "sha": params["catalogue_sha256"],
            "threshold": params["threshold"],
            "scaler": Jsonb(params),
            "n": population,
            "run": run_id,
        },
    )


def _map_in_batches(
    conn, mapper: PortraitMapper, catalogue: PortraitCatalogue, where: str, new_column: str = "false"
) -> tuple[int, int]:
    """Map the clients of ``client_features as f`` that ``where`` selects into the temp table
    ``new_portraits`` (portraits/client_portraits.sql merges them with the stored ones); return how many
    were mapped and how many of them ``new_column`` (SQL) calls new.

    The features come through a server-side cursor, ``FEATURE_BATCH_ROWS`` clients at a time, and each
    batch's assignments are COPYed before the next is read, so memory does not grow with the population.
    """
    import pandas as pd

    query(
        conn,
        f"""create temp table new_portraits on commit drop as
            select {", ".join(MART_COLUMNS)} from mart.client_portraits with no data""",
    )
    columns = ["client_id", *catalogue.features, "features_hash"]
    select = ", ".join(f"f.{c}" for c in columns)
    mapped = new = 0
    with conn.cursor(name="portrait_features") as features_cursor:
        features_cursor.execute(f"select {select}, {new_column} as is_new from client_features as f {where}")
        while rows := features_cursor.fetchmany(FEATURE_BATCH_ROWS):
            features = pd.DataFrame(rows, columns=[*columns, "is_new"])
            _copy_assignments(conn, mapper, catalogue, features)
            mapped += len(features)
            new += int(features["is_new"].sum())
    return mapped, new


def _copy_assignments(conn, mapper: PortraitMapper, catalogue: PortraitCatalogue, features) -> None:
    """COPY one batch's assignments into ``new_portraits``."""
    assignments = mapper.assign(features)
    assignments["portrait_name"] = assignments["portrait_id"].map(
        {**catalogue.names, UNASSIGNED: UNASSIGNED_NAME}
    )
    assignments["features_hash"] = features["features_hash"].to_numpy()
    buffer = io.BytesIO()
    assignments[list(MART_COLUMNS)].to_csv(buffer, index=False, header=False)
    copy_sql = f"copy new_portraits ({', '.join(MART_COLUMNS)}) from stdin with (format csv)"
    with conn.cursor() as cur, cur.copy(copy_sql) as copy:
        copy.write(buffer.getvalue())


def _stage_catalogue(conn, catalogue: PortraitCatalogue) -> None:
    """The catalogue's portraits, unassigned last, into the temp table ``catalogue_portraits``."""
    rows = [(p.id, p.name, p.advice, i) for i, p in enumerate(catalogue.portraits)]
    rows.append((UNASSIGNED, UNASSIGNED_NAME, None, len(rows)))
    query(
        conn,
        "create temp table catalogue_portraits (portrait_id text, portrait_name text, advice text, "
        "sort_order int) on commit drop",
    )
    with conn.cursor() as cur, cur.copy("copy catalogue_portraits from stdin") as copy:
        for row in rows:  # one row per portrait: a handful
            copy.write_row(row)


def _report(conn, catalogue: PortraitCatalogue, threshold: float) -> dict[str, Any]:
    counts = dict(query(conn, "select portrait_id, clients from mart.portrait_distribution"))
    ((total, unassigned, mean_confidence),) = query(
        conn,
        """select count(*), count(*) filter (where portrait_id = %(u)s),
                  avg(confidence) filter (where portrait_id <> %(u)s)
           from mart.client_portraits""",
        {"u": UNASSIGNED},
    )
    return {
        "model_version": MODEL_VERSION,
        "catalogue_sha256": catalogue.sha256,
        "threshold": threshold,
        "clients": total,
        "portrait_counts": {pid: counts.get(pid, 0) for pid in (*catalogue.ids, UNASSIGNED)},
        "unassigned_share": round(unassigned / total, 4) if total else None,
        "mean_confidence": round(float(mean_confidence), 4) if mean_confidence is not None else None,
    }


def format_mapping_report(report: dict[str, Any]) -> str:
    remapped = report.get("remapped", {})
    share = report["unassigned_share"]
    confidence = report["mean_confidence"]
    return (
        f"{report['clients']} clients mapped with threshold {report['threshold']:g}; "
        f"unassigned {'n/a' if share is None else f'{100 * share:.1f} %'}, "
        f"mean confidence {'n/a' if confidence is None else f'{confidence:.3f}'}; "
        f"re-mapped now: {remapped.get('clients', 0)} ({'; '.join(remapped.get('reasons', [])) or 'nothing changed'}); "
        f"per portrait: {report['portrait_counts']}"
    )
