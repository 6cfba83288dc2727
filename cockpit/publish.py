"""Publish what the pages read into a small serving file, swapped in atomically with os.replace.

The web never opens the writer's store (DuckDB lets no other process open a file a writer holds),
so after each compute the writer copies the snapshots, run status and org tree here.
"""

from __future__ import annotations

import os
from datetime import date, datetime

import duckdb
import pandas as pd

from cockpit.config import Settings, schedule_seconds
from connectors.schema import create_snapshot_views

SERVING_TABLES = {
    # snapshots on integer keys with their key tables; the views kpi_value and kpi_shift_value are made after them
    "kpi_snapshot": "SELECT * FROM kpi_snapshot",
    "kpi_shift_snapshot": "SELECT * FROM kpi_shift_snapshot",
    "snapshot_kpi": "SELECT * FROM snapshot_kpi",
    "snapshot_unit": "SELECT * FROM snapshot_unit",
    "capability_sample": "SELECT * FROM capability_sample",
    "kpi_baseline": "SELECT * FROM kpi_baseline",
    "kpi_target": "SELECT * FROM kpi_target",
    "org_unit": "SELECT * FROM org_unit",
    # master data for the admin's preview, which validates sample rows against it in a scratch store
    "product": "SELECT * FROM product",
    "meter": "SELECT * FROM meter",
    # the coefficient and factor tables, so a page can state which numbers produced an energy or carbon KPI
    "energy_coefficient": "SELECT * FROM energy_coefficient",
    "carbon_factor": "SELECT * FROM carbon_factor",
    "load_run": "SELECT * FROM load_run ORDER BY run_id DESC LIMIT 2000",
    "quarantine_summary": (
        "SELECT connector, stream, split_part(reason, ':', 1) AS field, count(*) AS rows, max(quarantined_at) AS last_at "
        "FROM quarantine GROUP BY ALL"
    ),
    # the newest 1000 per connector, so one noisy feed cannot hide another's rejects from the admin page
    "quarantine_recent": (
        "SELECT * FROM quarantine QUALIFY row_number() OVER "
        "(PARTITION BY connector ORDER BY quarantined_at DESC, source_line) <= 1000 "
        "ORDER BY quarantined_at DESC, source_line"
    ),
}


def source_status(con: duckdb.DuckDBPyConnection, settings: Settings, now: datetime) -> pd.DataFrame:
    """Per connector: last run, last success, rows, rejects, data as of, and whether it is stale and since when."""
    runs = con.execute(
        """SELECT connector, status, finished_at, error, rows_loaded, rows_quarantined, data_as_of
        FROM load_run ORDER BY run_id"""
    ).df()
    rows = []
    for name, spec in settings.connectors.items():
        r = runs[runs["connector"] == name]
        ok = r[r["status"].isin(["ok", "unchanged"])]
        last = r.iloc[-1] if len(r) else None
        last_ok_at = ok["finished_at"].max() if len(ok) else None
        failed_after_ok = r[(r["status"] == "failed") & ((last_ok_at is None) | (r["finished_at"] > (last_ok_at or datetime.min)))]
        as_of = r["data_as_of"].max() if len(r) else None
        if as_of is not None and not pd.isna(as_of) and as_of > now:  # runs stored before the loader clamped it
            as_of = pd.Timestamp(now)
        period = schedule_seconds(spec.schedule)
        if last is None:
            state, since = "never", None
        elif last["status"] == "failed":
            state, since = "failed", failed_after_ok["finished_at"].min()
        elif period and last_ok_at is not None and (now - last_ok_at).total_seconds() > 3 * period + 60:
            state, since = "stale", last_ok_at
        else:
            state, since = "ok", None
        rows.append({
            "connector": name, "system": spec.system, "kind": spec.kind, "stream": spec.stream,
            "schedule": spec.schedule, "state": state, "since": since,
            "last_run_at": None if last is None else last["finished_at"],
            "last_status": None if last is None else last["status"],
            "last_error": None if last is None else last["error"],
            "last_ok_at": last_ok_at, "rows_loaded": int(r["rows_loaded"].sum()) if len(r) else 0,
            "rows_quarantined": int(r["rows_quarantined"].sum()) if len(r) else 0,
            "data_as_of": None if as_of is None or pd.isna(as_of) else as_of,
        })
    frame = pd.DataFrame(rows, columns=[
        "connector", "system", "kind", "stream", "schedule", "state", "since", "last_run_at", "last_status",
        "last_error", "last_ok_at", "rows_loaded", "rows_quarantined", "data_as_of"])
    for col in ("since", "last_run_at", "last_ok_at", "data_as_of"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


def publish(
    con: duckdb.DuckDBPyConnection, settings: Settings, *, now: datetime, meta: dict[str, str | date | None]
) -> None:
    """Write the serving file next to the old one and swap it in; readers re-attach on their next query."""
    target = settings.serving_path
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    status = source_status(con, settings, now)
    version = int(con.execute(
        "SELECT COALESCE(max(CAST(value AS BIGINT)), 0) + 1 FROM store_setting WHERE key = 'publish_version'"
    ).fetchall()[0][0])
    con.execute("INSERT OR REPLACE INTO store_setting VALUES ('publish_version', ?)", [str(version)])
    con.execute("ATTACH ? AS srv", [str(tmp)])
    try:
        for name, sql in SERVING_TABLES.items():
            con.execute(f"CREATE TABLE srv.{name} AS {sql}")
        create_snapshot_views(con, "srv")
        con.register("source_status_df", status)
        con.execute("CREATE TABLE srv.source_status AS SELECT * FROM source_status_df")
        con.unregister("source_status_df")
        entries = {**{k: None if v is None else str(v) for k, v in meta.items()},
                   "published_at": now.isoformat(sep=" "), "version": str(version)}
        con.execute("CREATE TABLE srv.meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        con.executemany("INSERT INTO srv.meta VALUES (?, ?)", list(entries.items()))
    finally:
        con.execute("DETACH srv")
    os.replace(tmp, target)
