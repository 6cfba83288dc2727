"""One load run = one transaction: stage, validate, quarantine, upsert what changed, record the run.

Either the whole run commits or nothing does, so a failed or cut-off export never leaves half a
batch behind and the previous good data keeps serving. A big file arrives as several bounded
batches (chunks); they all belong to the same transaction.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb

from connectors import registry
from connectors.base import (
    SOURCE_FILE,
    SOURCE_LINE,
    Connector,
    ConnectorError,
    ConnectorSpec,
    RawBatch,
    RunContext,
)
from connectors.parsing import ParseOptions, serial_probe_sql
from connectors.schema import Table
from connectors.validate import stage_sql

log = logging.getLogger(__name__)
TEMP_TABLES = ("staged", "rejected", "checked", "dups", "matched", "csv_rejects", "csv_reject_scans", "csv_skips")


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


def _ensure_bookkeeping(con: duckdb.DuckDBPyConnection) -> None:
    """Row count and first-record hash of each loaded file, to notice an export that shrank."""
    for column, type_ in (("row_count", "BIGINT"), ("head_hash", "VARCHAR")):
        con.execute(f"ALTER TABLE source_file ADD COLUMN IF NOT EXISTS {column} {type_}")


def _check_shrink(con, spec: ConnectorSpec, batch: RawBatch) -> None:
    """The same export (same name, same first record) with fewer rows than last time: cut short?"""
    if batch.rows is None or spec.options.get("allow_shrink", False):
        return
    prev = con.execute(
        "SELECT row_count, size_bytes, head_hash, run_id, loaded_at FROM source_file WHERE connector = ? AND path = ? "
        "AND row_count IS NOT NULL ORDER BY loaded_at DESC, run_id DESC LIMIT 1", [spec.name, batch.source]).fetchall()
    if not prev:
        return
    rows, size, head, run, at = prev[0]
    if batch.rows < rows and (head is None or head == batch.head):
        raise ConnectorError(
            f"{batch.source}: the file shrank from {rows} rows ({size} bytes, loaded by run {run} at {at}) to "
            f"{batch.rows} rows ({batch.size_bytes} bytes): an export cut short? Nothing was loaded; "
            f"set allow_shrink = true on [connectors.{spec.name}] to load it anyway")


def _stage(con, batch: RawBatch) -> None:
    if batch.stage is not None:
        batch.stage(con)
        return
    con.register("batch_df", batch.frame)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE staged AS SELECT *, row_number() OVER () AS _rn FROM batch_df")
    finally:
        con.unregister("batch_df")
    con.execute("CREATE OR REPLACE TEMP TABLE rejected (source_file VARCHAR, source_line BIGINT, column_name VARCHAR, "
                "reason VARCHAR, raw_record VARCHAR)")


def _with_serials(con, table: Table, types: dict[str, str], opts: ParseOptions) -> ParseOptions:
    """excel_serial_dates = "auto": a date column whose first values are all 5-digit numbers holds Excel serials."""
    if opts.excel_serial_mode != "auto":
        return opts
    fields = [c.name for c in table.columns if c.type in ("DATE", "TIMESTAMP") and types.get(c.name) == "VARCHAR"]
    if not fields:
        return opts
    flags = con.execute(serial_probe_sql(fields)).fetchall()[0]
    found = {f for f, flag in zip(fields, flags) if flag}
    return opts.with_serial(found) if found else opts


def _load_batch(con, table: Table, batch: RawBatch, run_id: int, spec: ConnectorSpec, opts: ParseOptions,
                result: RunResult, now: datetime) -> None:
    _stage(con, batch)
    types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE staged)").fetchall())
    sql = stage_sql(table, types, _with_serials(con, table, types, opts))
    con.execute(sql, {"now": now} if "$now" in sql else None)
    cols = ", ".join(f'"{c}"' for c in table.column_names)
    key = ", ".join(f'"{k}"' for k in table.key)
    # Duplicate keys among valid rows: the last line wins, earlier ones are quarantined naming it.
    con.execute(f"""CREATE OR REPLACE TEMP TABLE dups AS SELECT {key}, max(_rn) AS _win
        FROM checked WHERE _errors = '' GROUP BY {key} HAVING count(*) > 1""")
    has_dups = con.execute("SELECT count(*) FROM dups").fetchall()[0][0] > 0
    present = [c for c in table.column_names if c in types]
    raw_json = "CAST(to_json({" + ", ".join(f"'{c}': st.\"{c}\"" for c in present) + "}) AS VARCHAR)"
    params = {"run": run_id, "name": spec.name, "table": table.name, "now": now}
    # The column of the first reason ("good_qty: below 0"); a reason about the whole row gets "row".
    first = "split_part(split_part(c._errors, '; ', 1), ':', 1)"
    fields = ", ".join(f"'{c}'" for c in table.column_names)
    column = f"CASE WHEN {first} IN ({fields}) THEN {first} ELSE 'row' END"
    quarantine = [f"""SELECT $run, $name, $table, c.{SOURCE_FILE}, c.{SOURCE_LINE}, {column},
               c._errors, {raw_json}, $now
        FROM checked c JOIN staged st USING (_rn) WHERE c._errors <> ''""",
                  "SELECT $run, $name, $table, source_file, source_line, column_name, reason, raw_record, $now FROM rejected"]
    if has_dups:
        on = " AND ".join(f'c."{k}" = d."{k}"' for k in table.key)
        quarantine.append(f"""SELECT $run, $name, $table, c.{SOURCE_FILE}, c.{SOURCE_LINE}, '{table.key[0]}',
               'duplicate key ({', '.join(table.key)}); line ' || w.{SOURCE_LINE} || ' of the same run wins', {raw_json}, $now
        FROM checked c JOIN dups d ON {on} JOIN checked w ON w._rn = d._win JOIN staged st ON st._rn = c._rn
        WHERE c._errors = '' AND c._rn <> d._win""")
    con.execute("INSERT INTO quarantine " + " UNION ALL ".join(quarantine), params)
    winners = "c._errors = ''" + (
        " AND NOT EXISTS (SELECT 1 FROM dups d WHERE " + " AND ".join(f'd."{k}" = c."{k}"' for k in table.key)
        + " AND d._win <> c._rn)" if has_dups else "")
    # Only rows that differ from what is stored are written: a re-delivered export changes nothing,
    # and a corrected row replaces exactly its predecessor. A key this run already wrote (an earlier
    # chunk of a big file) is a duplicate too: the later line wins, as inside a chunk. Rows whose key
    # is stored are compared in one join; rows with new keys then take a plain INSERT (measured faster
    # than INSERT OR REPLACE or OR IGNORE, which look up the key index row by row).
    join = " AND ".join(f'c."{k}" = t."{k}"' for k in table.key)
    same = " AND ".join(f'c."{c}" IS NOT DISTINCT FROM t."{c}"' for c in table.column_names)
    c_cols = ", ".join(f'c."{c}"' for c in table.column_names)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE matched AS
        SELECT {c_cols}, c.{SOURCE_FILE}, c.{SOURCE_LINE}, t.run_id = $run AS _again, {same} AS _same,
               CASE WHEN t.run_id = $run THEN CAST(to_json(t) AS VARCHAR) END AS _stored
        FROM checked c JOIN {table.name} t ON {join} WHERE {winners}""", {"run": run_id})
    again = con.execute("SELECT count(*) FROM matched WHERE _again").fetchall()[0][0]
    if again:
        con.execute(f"""INSERT INTO quarantine SELECT $run, $name, $table, {SOURCE_FILE}, NULL, '{table.key[0]}',
            'duplicate key ({', '.join(table.key)}): an earlier line of this run had it; line ' || {SOURCE_LINE} || ' wins',
            _stored, $now FROM matched WHERE _again""", params)
    n_changed = con.execute(f"""INSERT OR REPLACE INTO {table.name} ({cols}, run_id) SELECT {cols}, $run
        FROM matched WHERE _again OR NOT _same""", {"run": run_id}).fetchall()[0][0]
    n_changed += con.execute(f"""INSERT INTO {table.name} ({cols}, run_id) SELECT {c_cols}, $run FROM checked c
        WHERE {winners} AND NOT EXISTS (SELECT 1 FROM {table.name} t WHERE {join})""", {"run": run_id}).fetchall()[0][0]
    counts = con.execute(
        f"""SELECT count(*), count(*) FILTER (WHERE c._errors <> ''), count(*) FILTER (WHERE {winners}),
                   {f'max(c."{table.time_column}") FILTER (WHERE {winners})' if table.time_column else 'NULL'},
                   (SELECT count(*) FROM rejected)
            FROM checked c""").fetchall()[0]
    n_in, n_bad, n_good, as_of, n_rejected = counts
    n_losers = n_in - n_bad - n_good
    result.rows_in += n_in + n_rejected
    result.rows_quarantined += n_bad + n_losers + n_rejected + again
    result.rows_loaded += n_changed - again
    result.rows_unchanged += n_good - n_changed
    if as_of is not None:
        as_of = as_of if isinstance(as_of, datetime) else datetime.combine(as_of, datetime.min.time())
        result.data_as_of = max(filter(None, [result.data_as_of, as_of]))


def run_connector(
    con: duckdb.DuckDBPyConnection, spec: ConnectorSpec, now: datetime, connector: Connector | None = None
) -> RunResult:
    """Run one connector into the store; never raises for bad data, it records a failed run instead."""
    table = spec.table
    _ensure_bookkeeping(con)
    run_id = con.execute("SELECT nextval('load_run_seq')").fetchall()[0][0]
    result = RunResult(run_id, spec.name, spec.stream, "ok")
    clock = time.monotonic()
    ctx = RunContext(now=now, state=_state(con, spec.name), seen_fingerprints=_seen(con, spec.name))
    con.begin()
    try:
        # Created inside the try: a kind that rejects its options records a failed run, not a crash.
        connector = connector or registry.create(spec)
        opts = ParseOptions.from_spec(spec)
        for batch in connector.batches(ctx):
            if batch.source not in result.sources:
                result.sources.append(batch.source)
                _check_shrink(con, spec, batch)
                if batch.fingerprint:
                    con.execute(
                        "INSERT OR IGNORE INTO source_file (connector, fingerprint, path, size_bytes, run_id, loaded_at, "
                        "row_count, head_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [spec.name, batch.fingerprint, batch.source, batch.size_bytes, run_id, now, batch.rows, batch.head],
                    )
            _load_batch(con, table, batch, run_id, spec, opts, result, now)
        if result.rows_in and result.rows_quarantined / result.rows_in > spec.max_reject_share:
            first = con.execute(
                "SELECT source_file, source_line, column_name, reason FROM quarantine WHERE run_id = ? "
                "ORDER BY source_line NULLS LAST LIMIT 1", [run_id]).fetchall()[0]
            raise ConnectorError(
                f"{result.rows_quarantined} of {result.rows_in} rows rejected, more than the allowed "
                f"{spec.max_reject_share:.0%}; first: {first[0]} line {first[1]}, column {first[2]}: {first[3]}"
            )
        for key, value in connector.new_state.items():
            con.execute("INSERT OR REPLACE INTO connector_state VALUES (?, ?, ?)", [spec.name, key, value])
        if not result.sources:
            result.status = "unchanged"
        _record(con, spec, result, now, clock)
        con.commit()
    except Exception as exc:
        con.rollback()
        result = RunResult(run_id, spec.name, spec.stream, "failed", error=_message(exc), sources=result.sources)
        if not isinstance(exc, ConnectorError):
            log.exception("connector %s failed", spec.name)
        _record(con, spec, result, now, clock)
    finally:
        for temp in TEMP_TABLES:
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
