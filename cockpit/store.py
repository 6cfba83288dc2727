"""The writer's store: one process holds the lock and the DuckDB file; everyone else asks it."""

from __future__ import annotations

import json
import os
import socket
import sys
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import duckdb
from filelock import FileLock, Timeout

from cockpit.config import Settings, plant_now
from connectors.schema import create_all
from kpis.reference import seed_reference_tables


class StoreBusy(Exception):
    """Another process holds the writer lock; the message names it."""


def _holder_path(settings: Settings) -> Path:
    return settings.store_dir / "writer.holder.json"


def holder(settings: Settings) -> dict | None:
    try:
        return json.loads(_holder_path(settings).read_text())
    except (FileNotFoundError, ValueError):
        return None


def describe_holder(info: dict | None) -> str:
    if not info:
        return "another process"
    return f"'{info.get('role', '?')}' (pid {info.get('pid')} on {info.get('host')}, since {info.get('since')})"


@contextmanager
def writer_lock(settings: Settings, role: str):
    """Hold the single-writer lock for the duration; raise StoreBusy at once if someone else has it."""
    settings.store_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(settings.store_dir / "writer.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise StoreBusy(f"the store {settings.store_path} is held by {describe_holder(holder(settings))}") from None
    info = {"role": role, "pid": os.getpid(), "host": socket.gethostname(),
            "since": datetime.now().isoformat(timespec="seconds"), "argv": sys.argv[:3]}
    _holder_path(settings).write_text(json.dumps(info))
    try:
        yield info
    finally:
        _holder_path(settings).unlink(missing_ok=True)
        lock.release()


def open_store(settings: Settings) -> duckdb.DuckDBPyConnection:
    """Open (and create if new) the canonical store. Call only while holding the writer lock."""
    settings.store_dir.mkdir(parents=True, exist_ok=True)
    # A bounded memory limit lets DuckDB spill big load runs to disk instead of growing with the file.
    config = {"memory_limit": settings.memory_limit} if settings.memory_limit else {}
    con = duckdb.connect(str(settings.store_path), config=config)
    _drop_stale_derived_tables(con)
    create_all(con)
    con.execute("CREATE TABLE IF NOT EXISTS store_setting (key VARCHAR PRIMARY KEY, value VARCHAR)")
    seed_reference_tables(con)
    return con


def _drop_stale_derived_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Snapshots are derived and recomputed on every compute: when their shape changed, rebuild them.

    Stores of earlier releases kept kpi_value and kpi_shift_value as tables of names, which are views now.
    """
    probe = duckdb.connect()
    create_all(probe)
    derived = ("kpi_snapshot", "kpi_shift_snapshot")
    expected = {t: probe.execute(f"SELECT column_name FROM (DESCRIBE {t})").fetchall() for t in derived}
    probe.close()
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
                                        "AND database_name = current_database()").fetchall()}
    if "kpi_target" in tables and "valid_from" not in {
            r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE kpi_target)").fetchall()}:
        con.execute("DROP TABLE kpi_target")  # the first shape held no targets yet
    stale = [t for t in ("kpi_value", "kpi_shift_value") if t in tables]
    stale += [t for t in derived if t in tables
              and con.execute(f"SELECT column_name FROM (DESCRIBE {t})").fetchall() != expected[t]]
    for table in stale:
        con.execute(f"DROP TABLE {table}")
    if stale and "store_setting" in tables:  # the next compute must be a full one: nothing is left to keep
        con.execute("DELETE FROM store_setting WHERE key = 'kpi_signature'")


def go_live(settings: Settings, con: duckdb.DuckDBPyConnection) -> date:
    """The go-live date: configured, or for the live demo fixed once at the first build and kept."""
    configured = settings.demo.get("go_live")
    if isinstance(configured, date):
        return configured
    rows = con.execute("SELECT value FROM store_setting WHERE key = 'go_live'").fetchall()
    if rows:
        return date.fromisoformat(rows[0][0])
    from connectors.kinds.mock_kind import history_start

    months = int(settings.demo.get("history_months", 24))
    start = history_start(plant_now(settings), months)
    # The demo's baseline is its first 12 complete months; the improvement starts after them.
    value = date(start.year + 1, start.month, 1)
    con.execute("INSERT INTO store_setting VALUES ('go_live', ?)", [value.isoformat()])
    return value


def store_is_empty(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute("SELECT count(*) FROM load_run WHERE status = 'ok'").fetchall()[0][0] == 0
