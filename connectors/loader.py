"""One load run = one transaction: stage, validate, quarantine, upsert what changed, record the run.

Either the whole run commits or nothing does, so a failed or cut-off export never leaves half a
batch behind and the previous good data keeps serving.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb

from connectors import registry
from connectors.base import SOURCE_FILE, SOURCE_LINE, Connector, ConnectorError, ConnectorSpec, RunContext
from connectors.schema import Table
from connectors.validate import duplicate_sql, stage_sql

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    run_id: int
    connector: str
    stream: str
    status: str  # ok | unchanged | failed
    rows_in: int = 0
    rows_loaded: int = 0
    rows_unchanged: int = 0
    rows_quarantined: int = 0
    error: str | None = None
    data_as_of: datetime | None = None
    sources: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.status == "ok" and self.rows_loaded > 0


def _state(con: duckdb.DuckDBPyConnection, connector: str) -> dict[str, str]:
    rows = con.execute("SELECT key, value FROM connector_state WHERE connector = ?", [connector]).fetchall()
    return dict(rows)


def _seen(con: duckdb.DuckDBPyConnection, connector: str) -> frozenset[str]:
    rows = con.execute("SELECT fingerprint FROM source_file WHERE connector = ?", [connector]).fetchall()
    return frozenset(r[0] for r in rows)


def _load_batch(con, table: Table, frame, run_id: int, spec: ConnectorSpec, result: RunResult, now: datetime) -> None:
    con.register("batch_df", frame)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE staged AS SELECT * FROM batch_df")
    finally:
        con.unregister("batch_df")
    types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE staged)").fetchall())
    sql = stage_sql(table, types)
    con.execute(sql, {"now": now} if "$now" in sql else None)
    con.execute(duplicate_sql(table))
    cols = ", ".join(f'"{c}"' for c in table.column_names)
    key = ", ".join(table.key)
    con.execute(
        f"""INSERT INTO quarantine
        SELECT $run, $name, $table, {SOURCE_FILE}, {SOURCE_LINE}, split_part(_errors[1], ':', 1),
               array_to_string(_errors, '; '), _raw_json, $now
        FROM checked WHERE len(_errors) > 0
        UNION ALL
        SELECT $run, $name, $table, {SOURCE_FILE}, {SOURCE_LINE}, '{table.key[0]}',
               'duplicate key ({key}); line ' || _winner_line || ' of the same run wins', _raw_json,
               $now
        FROM ranked WHERE _dup_rank > 1""",
        {"run": run_id, "name": spec.name, "table": table.name, "now": now},
    )
    counts = con.execute(
        "SELECT (SELECT count(*) FROM checked), (SELECT count(*) FROM checked WHERE len(_errors) > 0)"
        " + (SELECT count(*) FROM ranked WHERE _dup_rank > 1)"
    ).fetchall()[0]
    # Only rows that differ from what is stored are written: a re-delivered export changes nothing,
    # and a corrected row replaces exactly its predecessor.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE changed AS
        SELECT {cols} FROM ranked WHERE _dup_rank = 1
        EXCEPT SELECT {cols} FROM {table.name}"""
    )
    n_changed = con.execute("SELECT count(*) FROM changed").fetchall()[0][0]
    if n_changed:
        con.execute(f"INSERT OR REPLACE INTO {table.name} ({cols}, run_id) SELECT {cols}, ? FROM changed", [run_id])
    n_good = con.execute("SELECT count(*) FROM ranked WHERE _dup_rank = 1").fetchall()[0][0]
    result.rows_in += counts[0]
    result.rows_quarantined += counts[1]
    result.rows_loaded += n_changed
    result.rows_unchanged += n_good - n_changed
    if table.time_column:
        as_of = con.execute(f'SELECT max("{table.time_column}") FROM ranked WHERE _dup_rank = 1').fetchall()[0][0]
        if as_of is not None:
            as_of = as_of if isinstance(as_of, datetime) else datetime.combine(as_of, datetime.min.time())
            result.data_as_of = max(filter(None, [result.data_as_of, as_of]))


def run_connector(
    con: duckdb.DuckDBPyConnection, spec: ConnectorSpec, now: datetime, connector: Connector | None = None
) -> RunResult:
    """Run one connector into the store; never raises for bad data, it records a failed run instead."""
    connector = connector or registry.create(spec)
    table = spec.table
    run_id = con.execute("SELECT nextval('load_run_seq')").fetchall()[0][0]
    result = RunResult(run_id, spec.name, spec.stream, "ok")
    clock = time.monotonic()
    ctx = RunContext(now=now, state=_state(con, spec.name), seen_fingerprints=_seen(con, spec.name))
    con.begin()
    try:
        for batch in connector.batches(ctx):
            if batch.source not in result.sources:
                result.sources.append(batch.source)
                if batch.fingerprint:
                    con.execute(
                        "INSERT OR IGNORE INTO source_file VALUES (?, ?, ?, ?, ?, ?)",
                        [spec.name, batch.fingerprint, batch.source, batch.size_bytes, run_id, now],
                    )
            _load_batch(con, table, batch.frame, run_id, spec, result, now)
        if result.rows_in and result.rows_quarantined / result.rows_in > spec.max_reject_share:
            first = con.execute(
                "SELECT source_file, source_line, reason FROM quarantine WHERE run_id = ? ORDER BY source_line LIMIT 1",
                [run_id],
            ).fetchall()[0]
            raise ConnectorError(
                f"{result.rows_quarantined} of {result.rows_in} rows rejected, more than the allowed "
                f"{spec.max_reject_share:.0%}; first: {first[0]} line {first[1]}: {first[2]}"
            )
        for key, value in connector.new_state.items():
            con.execute("INSERT OR REPLACE INTO connector_state VALUES (?, ?, ?)", [spec.name, key, value])
        if not result.sources:
            result.status = "unchanged"
        _record(con, spec, result, now, clock)
        con.commit()
    except Exception as exc:  # noqa: BLE001 - any failure must roll back and be recorded, not crash the scheduler
        con.rollback()
        result = RunResult(run_id, spec.name, spec.stream, "failed", error=_message(exc), sources=result.sources)
        if not isinstance(exc, ConnectorError):
            log.exception("connector %s failed", spec.name)
        _record(con, spec, result, now, clock)
    finally:
        for temp in ("staged", "checked", "ranked", "changed"):
            con.execute(f"DROP TABLE IF EXISTS temp.{temp}")
    return result


def _message(exc: Exception) -> str:
    text = str(exc) if isinstance(exc, ConnectorError) else f"{type(exc).__name__}: {exc}"
    return text[:2000]


def _record(con, spec: ConnectorSpec, r: RunResult, started: datetime, clock: float) -> None:
    finished = started + timedelta(seconds=time.monotonic() - clock)
    con.execute(
        "INSERT INTO load_run VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [r.run_id, spec.name, spec.system, spec.stream, spec.kind, started, finished, r.status, r.rows_in, r.rows_loaded,
         r.rows_unchanged, r.rows_quarantined, r.error, None, "; ".join(r.sources)[:2000], r.data_as_of],
    )
