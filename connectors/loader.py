"""One load run = one transaction: stage, validate, quarantine, write what changed, record the run.

Either the whole run commits or nothing does, so a failed or cut-off export never leaves half a
batch behind and the previous good data keeps serving. A big file arrives as several bounded
batches (chunks); they all belong to the same transaction.

How rows reach a canonical table depends on whether DuckDB keeps a unique index on its key:

* keyed (a PRIMARY KEY, as the master tables have): each batch is compared with the stored rows and
  upserted; the index finds the rows to replace.
* unkeyed (no index: nothing to hold in memory or rewrite at every checkpoint): each batch's valid
  rows are appended as they are, and once all batches are in, set-based SQL over the run's rows keeps
  the key unique: the last line of a key repeated within the run wins, a row identical to the stored
  one is dropped again (the stored row and its lineage stay), and a changed row replaces its stored
  predecessor. The cost is one pass over the keys of the run and of the table, not a lookup per row;
  an export whose batches cover ascending key ranges without a repeat (most do) skips the pass over the
  run's keys (see _AppendWriter).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
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
    mask_secrets,
)
from connectors.parsing import ParseOptions, serial_probe_sql
from connectors.schema import STREAMS, Table
from connectors.validate import lookup_type_sql, stage_sql

log = logging.getLogger(__name__)
TEMP_TABLES = ("staged", "rejected", "checked", "checked_rows", "dups", "matched", "csv_raw", "csv_rejects",
               "csv_reject_scans", "csv_skips", "run_keys", "run_ranges", "run_batches", "run_cand", "run_dups", "run_match", "run_cmp")
MASTER_TABLES = frozenset(name for name, t in STREAMS.items() if t.system == "master")


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
    # The earliest time-column value among the rows this run inserted or replaced (both the new and the
    # replaced value), midnight for a DATE: KPIs need recomputing from there on. None when nothing
    # changed or the stream has no time column. Master data has no time: changed_master says it changed.
    changed_from: datetime | None = None
    changed_master: bool = False

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
    _drop_temp(con, "staged")
    con.register("batch_df", batch.frame)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE staged AS SELECT *, row_number() OVER () AS _rn FROM batch_df")
    finally:
        con.unregister("batch_df")
    con.execute("CREATE OR REPLACE TEMP TABLE rejected (source_file VARCHAR, source_line BIGINT, column_name VARCHAR, "
                "reason VARCHAR, raw_record VARCHAR)")


def _with_serials(con, table: Table, types: dict[str, str], opts: ParseOptions, known: dict | None = None,
                  source: str | None = None) -> ParseOptions:
    """excel_serial_dates = "auto": a date column whose first values are all 5-digit numbers holds Excel serials.

    Decided on the first batch of a source (`known` remembers it per source for the later chunks).
    """
    if opts.excel_serial_mode != "auto":
        return opts
    fields = [c.name for c in table.columns if c.type in ("DATE", "TIMESTAMP") and types.get(c.name) == "VARCHAR"]
    if not fields:
        return opts
    if known is not None and source in known:
        found = known[source]
    else:
        flags = con.execute(serial_probe_sql(fields)).fetchall()[0]
        found = {f for f, flag in zip(fields, flags) if flag}
        if known is not None:
            known[source] = found
    return opts.with_serial(found) if found else opts


def _hash_sql(columns, types: dict[str, str]) -> str:
    """DuckDB's hash of the named columns at the table's types, so a batch and the table hash alike."""
    return "hash(" + ", ".join(f'CAST("{c}" AS {types[c]})' for c in columns) + ")"


def _as_datetime(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.combine(value, datetime.min.time())  # a DATE counts from its midnight


def _earliest(*values) -> datetime | None:
    found = [v for v in map(_as_datetime, values) if v is not None]
    return min(found) if found else None


def _validate_sql(con, table: Table, ctx: _Run, source: str) -> str:
    """SQL creating temp table `checked` from `staged` (validate.stage_sql)."""
    _drop_temp(con, "checked")
    _drop_temp(con, "checked_rows")
    types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE staged)").fetchall())
    opts = _with_serials(con, table, types, ctx.opts, ctx.serials, source)
    return stage_sql(table, types, opts, ctx.lookups)


def _validate(con, table: Table, ctx: _Run, source: str) -> None:
    sql = _validate_sql(con, table, ctx, source)
    con.execute(sql, {"now": ctx.now} if "$now" in sql else None)


def _keeps_order(con, sql: str, now: datetime) -> bool:
    """Whether DuckDB writes the table in the order it reads (an order-preserving batch insert).

    A join, for instance, gives that up; then row numbers cannot come from the written order.
    """
    plan = con.execute("EXPLAIN (FORMAT JSON) " + sql.strip().rstrip(";"), {"now": now} if "$now" in sql else None)
    return [node.get("name") for node in json.loads(plan.fetchall()[0][1])] == ["BATCH_CREATE_TABLE_AS"]


def _check_batch(con, table: Table, batch: RawBatch, ctx: _Run) -> tuple[int, int, int]:
    """Stage and validate one batch into `checked`; quarantine its bad and unreadable rows.

    A kind may stage lazily (csv_kind.ChunkStage.view): `staged` is then a view over its reader, so
    the rows are parsed and validated as they are read, with no copy in between. `checked` then gets
    its row numbers from the order it was written in, once the plan shows DuckDB keeps that order
    and the count shows that no record went missing; otherwise the batch is staged again the ordinary
    way (a table with row numbers and rejects).

    Returns (rows read, rows with errors, rows DuckDB could not read).
    """
    lazy = getattr(batch.stage, "view", None)
    try:
        expected = lazy(con) if lazy is not None else _stage(con, batch)
        sql = _validate_sql(con, table, ctx, batch.source)
        if expected is not None and sql not in ctx.ordered:
            ctx.ordered[sql] = _keeps_order(con, sql, ctx.now)
        if expected is not None and not ctx.ordered[sql]:
            log.debug("%s: staged as a table (the validation would not keep the read order)", batch.source)
            batch.stage(con)
            expected, sql = None, _validate_sql(con, table, ctx, batch.source)
        con.execute(sql, {"now": ctx.now} if "$now" in sql else None)
        if expected is not None:
            records, first_line = expected
            n, low, high = con.execute("SELECT count(*), min(rowid), max(rowid) FROM checked").fetchall()[0]
            if n and n == records and high - low + 1 == n:
                con.execute("ALTER TABLE checked RENAME TO checked_rows")
                con.execute(f"""CREATE TEMP VIEW checked AS SELECT * REPLACE (rowid - {low - first_line} AS {SOURCE_LINE},
                    rowid - {low - 1} AS _rn) FROM checked_rows""")
            else:  # a line was blank, unreadable or quoted across lines: stage again, keeping rejects
                log.debug("%s: %s records where %s lines were expected, staged again", batch.source, n, records)
                batch.stage(con)
                _validate(con, table, ctx, batch.source)
    finally:
        close = getattr(batch.stage, "close", None)
        if close is not None:
            close()
    # The column of the first reason ("good_qty: below 0"); a reason about the whole row gets "row".
    first = "split_part(split_part(c._errors, '; ', 1), ':', 1)"
    fields = ", ".join(f"'{c}'" for c in table.column_names)
    column = f"CASE WHEN {first} IN ({fields}) THEN {first} ELSE 'row' END"
    con.execute(f"""INSERT INTO quarantine
        SELECT $run, $name, $table, c.{SOURCE_FILE}, c.{SOURCE_LINE}, {column}, c._errors, c._raw, $now
        FROM checked c WHERE c._errors <> ''
        UNION ALL SELECT $run, $name, $table, source_file, source_line, column_name, reason, raw_record, $now
        FROM rejected""", ctx.params)
    return con.execute("SELECT count(_errors), count(*) FILTER (WHERE _errors <> ''), (SELECT count(*) FROM rejected) "
                       "FROM checked").fetchall()[0]


@dataclass
class _Run:
    """What the batches of one run share."""

    con: duckdb.DuckDBPyConnection
    table: Table
    run_id: int
    spec: ConnectorSpec
    opts: ParseOptions
    now: datetime
    result: RunResult
    had_rows: bool  # the table held rows before this run
    batches: int = 0
    serials: dict[str, set[str]] = field(default_factory=dict)  # source -> its Excel-serial date fields
    lookups: dict[str, str] = field(default_factory=dict)  # master table -> temp ENUM type of its keys
    ordered: dict[str, bool] = field(default_factory=dict)  # validation SQL -> DuckDB writes it in read order

    @property
    def params(self) -> dict:
        return {"run": self.run_id, "name": self.spec.name, "table": self.table.name, "now": self.now}

    def sql(self) -> dict[str, str]:
        t = self.table
        return {
            "cols": ", ".join(f'"{c}"' for c in t.column_names),
            "key": ", ".join(f'"{k}"' for k in t.key),
            "key_list": ", ".join(t.key),
            "key0": t.key[0],
            "time": f'"{t.time_column}"' if t.time_column else "NULL",
        }


class _KeyedWriter:
    """Per batch: duplicates within the batch, a join with the stored rows, an upsert (the PK finds them)."""

    def __init__(self, run: _Run):
        self.run = run
        self.replaced_from: datetime | None = None  # earliest time of a stored row this run replaced

    def load(self, batch: RawBatch) -> None:
        run, con, table = self.run, self.run.con, self.run.table
        result, q = run.result, run.sql()
        n_in, n_bad, n_rejected = _check_batch(con, table, batch, run)
        cols, key, params = q["cols"], q["key"], run.params
        # Duplicate keys among valid rows: the last line wins, earlier ones are quarantined naming it.
        con.execute(f"""CREATE OR REPLACE TEMP TABLE dups AS SELECT {key}, max(_rn) AS _win
            FROM checked WHERE _errors = '' GROUP BY {key} HAVING count(*) > 1""")
        has_dups = con.execute("SELECT count(*) FROM dups").fetchall()[0][0] > 0
        if has_dups:
            raw_json = "CAST(to_json({" + ", ".join(f"'{c}': c.\"{c}\"" for c in table.column_names) + "}) AS VARCHAR)"
            on = " AND ".join(f'c."{k}" = d."{k}"' for k in table.key)
            con.execute(f"""INSERT INTO quarantine SELECT $run, $name, $table, $file, c.{SOURCE_LINE},
                   '{q['key0']}', 'duplicate key ({q['key_list']}); line ' || w.{SOURCE_LINE} || ' of the same run wins',
                   {raw_json}, $now
                FROM checked c JOIN dups d ON {on} JOIN checked w ON w._rn = d._win
                WHERE c._errors = '' AND c._rn <> d._win""", {**params, "file": batch.source})
        winners = "c._errors = ''" + (
            " AND NOT EXISTS (SELECT 1 FROM dups d WHERE " + " AND ".join(f'd."{k}" = c."{k}"' for k in table.key)
            + " AND d._win <> c._rn)" if has_dups else "")
        c_cols = ", ".join(f'c."{c}"' for c in table.column_names)
        again = 0
        if not run.had_rows and run.batches == 0:
            # The first batch into an empty table: nothing to compare with, every winner is new.
            n_changed = con.execute(f"""INSERT INTO {table.name} ({cols}, run_id) SELECT {c_cols}, $run
                FROM checked c WHERE {winners}""", {"run": run.run_id}).fetchall()[0][0]
        else:
            # Only rows that differ from what is stored are written: a re-delivered export changes nothing,
            # and a corrected row replaces exactly its predecessor. A key this run already wrote (an earlier
            # chunk of a big file) is a duplicate too: the later line wins, as inside a chunk. Rows whose key
            # is stored are found in one join; the others take a plain INSERT (an anti-join with that small
            # result, not with the table).
            join = " AND ".join(f'c."{k}" = t."{k}"' for k in table.key)
            same = " AND ".join(f'c."{c}" IS NOT DISTINCT FROM t."{c}"' for c in table.column_names)
            old_time = f't."{table.time_column}"' if table.time_column else "NULL"
            con.execute(f"""CREATE OR REPLACE TEMP TABLE matched AS
                SELECT {c_cols}, c._rn, c.{SOURCE_LINE}, t.run_id = $run AS _again, {same} AS _same,
                       {old_time} AS _old_time, CASE WHEN t.run_id = $run THEN CAST(to_json(t) AS VARCHAR) END AS _stored
                FROM checked c JOIN {table.name} t ON {join} WHERE {winners}""", {"run": run.run_id})
            again, replaced_from = con.execute(
                "SELECT count(*) FILTER (WHERE _again), min(_old_time) FILTER (WHERE NOT _same AND NOT _again) "
                "FROM matched").fetchall()[0]
            self.replaced_from = _earliest(self.replaced_from, replaced_from)
            if again:
                con.execute(f"""INSERT INTO quarantine SELECT $run, $name, $table, $file, NULL, '{q['key0']}',
                    'duplicate key ({q['key_list']}): an earlier line of this run had it; line ' || {SOURCE_LINE} || ' wins',
                    _stored, $now FROM matched WHERE _again""", {**params, "file": batch.source})
            n_changed = con.execute(f"""INSERT OR REPLACE INTO {table.name} ({cols}, run_id) SELECT {cols}, $run
                FROM matched WHERE _again OR NOT _same""", {"run": run.run_id}).fetchall()[0][0]
            n_changed += con.execute(f"""INSERT INTO {table.name} ({cols}, run_id) SELECT {c_cols}, $run FROM checked c
                WHERE {winners} AND c._rn NOT IN (SELECT _rn FROM matched)""", {"run": run.run_id}).fetchall()[0][0]
        n_good = con.execute(f"SELECT count(*) FROM checked c WHERE {winners}").fetchall()[0][0]
        n_losers = n_in - n_bad - n_good
        result.rows_in += n_in + n_rejected
        result.rows_quarantined += n_bad + n_losers + n_rejected + again
        result.rows_loaded += n_changed - again
        result.rows_unchanged += n_good - n_changed
        if table.time_column:
            as_of = con.execute(f'SELECT max(c."{table.time_column}") FROM checked c WHERE {winners}').fetchall()[0][0]
            if as_of is not None:
                result.data_as_of = max(filter(None, [result.data_as_of, _as_datetime(as_of)]))

    def finish(self) -> None:
        run, table = self.run, self.run.table
        if table.time_column and run.result.rows_loaded > 0:
            first = run.con.execute(f'SELECT min("{table.time_column}") FROM {table.name} WHERE run_id = ?',
                                    [run.run_id]).fetchall()[0][0]
            run.result.changed_from = _earliest(first, self.replaced_from)


class _AppendWriter:
    """Per batch: append the valid rows; at the end make the key unique again if it may repeat.

    Most exports number their records in order, so each batch first notes the range of its first key
    column and whether a key repeats inside it (`run_ranges`). While no batch repeats a key and no
    two ranges overlap, no key can occur twice in the run, and nothing else is kept: a well-ordered
    export costs one small aggregation per batch and no pass over the whole run.

    Otherwise, from that batch on, `run_keys` holds a hash of the key and of the whole row for every
    row appended, and where it came from (batch, position, line); the rows appended before it get an
    entry too, hashed from the table, with batch -1: they hold distinct keys and are older than any
    later line. At the end, a key hash seen twice points at the few rows to look at: the table's rows
    of this run with that key are paired with their entries by (key hash, row hash); rows with equal
    hashes hold the same values, so which of them pairs with which entry does not matter, and the
    append needs no particular order. A row that finds no partner fails the run.
    """

    def __init__(self, run: _Run):
        self.run = run
        self.sources: list[str] = []
        self.rows = 0  # valid rows appended
        self.keyed = False  # run_keys is being kept (a key may repeat)
        typed = {c.name: c.type for c in run.table.columns}
        self.key_hash = _hash_sql(run.table.key, typed)
        self.row_hash = _hash_sql(run.table.column_names, typed)
        # Ranges need a first key column that a valid row always has (NULLs would escape min and max).
        first = next(c for c in run.table.columns if c.name == run.table.key[0])
        if first.required:
            run.con.execute(f"CREATE OR REPLACE TEMP TABLE run_ranges (_batch INTEGER, _lo {first.type}, "
                            f"_hi {first.type}, _repeats BOOLEAN)")
        else:
            self._keep_keys()

    def _keep_keys(self) -> None:
        """Start `run_keys`, with an entry for each row this run appended so far (see the class)."""
        run, con = self.run, self.run.con
        # 32 bytes a row (a batch holds far fewer than 2^31 rows); spilled to the temp_directory if need be.
        con.execute("CREATE OR REPLACE TEMP TABLE run_keys (_k UBIGINT, _h UBIGINT, _batch INTEGER, _rn UINTEGER, "
                    "_line BIGINT)")
        if self.rows:
            con.execute(f"""INSERT INTO run_keys SELECT {self.key_hash}, {self.row_hash}, -1, NULL, NULL
                FROM {run.table.name} WHERE run_id = $run""", {"run": run.run_id})
        self.keyed = True

    def _may_repeat(self, batch: int) -> bool:
        """Note this batch's key range; whether a key of it may repeat within it or an earlier batch."""
        con, key0 = self.run.con, self.run.table.key[0]
        # Grouped by the key's hash (cheaper than by its text; a collision only errs on the safe side), and
        # by GROUP BY, not count(DISTINCT): DuckDB runs it on all threads.
        con.execute(f"""INSERT INTO run_ranges SELECT {batch}, min("{key0}"), max("{key0}"),
            EXISTS (SELECT 1 FROM checked WHERE _errors = '' GROUP BY {self.key_hash} HAVING count(*) > 1)
            FROM checked WHERE _errors = ''""")
        return con.execute("""SELECT bool_or(b._repeats OR a._batch IS NOT NULL) FROM run_ranges b
            LEFT JOIN run_ranges a ON a._batch < b._batch AND a._lo <= b._hi AND b._lo <= a._hi
            WHERE b._batch = ?""", [batch]).fetchall()[0][0]

    def load(self, batch: RawBatch) -> None:
        run, con, table = self.run, self.run.con, self.run.table
        q = run.sql()
        n_in, n_bad, n_rejected = _check_batch(con, table, batch, run)
        n_good = n_in - n_bad
        if n_good:
            index = len(self.sources)
            if not self.keyed and self._may_repeat(index):
                self._keep_keys()  # before this batch is appended: its rows get their own entries
            # Order does not matter here (see the class): let DuckDB write row groups as they come.
            con.execute("SET preserve_insertion_order = false")
            con.execute(f"""INSERT INTO {table.name} ({q['cols']}, run_id) SELECT {q['cols']}, $run
                FROM checked WHERE _errors = ''""", {"run": run.run_id})
            con.execute("SET preserve_insertion_order = true")
            if self.keyed:
                con.execute(f"""INSERT INTO run_keys SELECT {self.key_hash}, {self.row_hash}, {index}, _rn,
                    {SOURCE_LINE} FROM checked WHERE _errors = ''""")
        self.sources.append(batch.source)
        self.rows += n_good
        run.result.rows_in += n_in + n_rejected
        run.result.rows_quarantined += n_bad + n_rejected

    def finish(self) -> None:
        run, con, table, result = self.run, self.run.con, self.run.table, self.run.result
        if not self.rows:
            return
        q, params = run.sql(), run.params
        losers = self._deduplicate(q, params) if self._repeats() else 0
        # One pass over the run's rows for the count and both ends of its time span.
        stats = f"SELECT count(*), min({q['time']}), max({q['time']}) FROM {table.name} WHERE run_id = $run"
        loaded, first, as_of = con.execute(stats, {"run": run.run_id}).fetchall()[0]
        if as_of is not None:
            result.data_as_of = max(filter(None, [result.data_as_of, _as_datetime(as_of)]))
        unchanged, replaced_from = self._against_stored(q) if run.had_rows else (0, None)
        if unchanged:  # rows identical to stored ones left the run again
            loaded, first, _ = con.execute(stats, {"run": run.run_id}).fetchall()[0]
        if loaded != self.rows - losers - unchanged:
            raise RuntimeError(f"{table.name}: {loaded} rows of this run where {self.rows} - {losers} - {unchanged} "
                               "were expected; nothing was loaded")
        result.rows_quarantined += losers
        result.rows_unchanged += unchanged
        result.rows_loaded += loaded
        if table.time_column and loaded:
            result.changed_from = _earliest(first, replaced_from)

    def _repeats(self) -> bool:
        """Whether a key hash occurs twice in the run; if so, `run_cand` holds those hashes."""
        con = self.run.con
        if not self.keyed:  # no batch repeated a key and no two key ranges overlapped
            return False
        con.execute("CREATE OR REPLACE TEMP TABLE run_cand AS SELECT _k FROM run_keys GROUP BY _k HAVING count(*) > 1")
        return con.execute("SELECT count(*) FROM run_cand").fetchall()[0][0] > 0

    def _deduplicate(self, q: dict[str, str], params: dict) -> int:
        """A key this run appended twice or more: the last line wins, the others leave the table."""
        run, con, table = self.run, self.run.con, self.run.table
        con.execute("CREATE OR REPLACE TEMP TABLE run_batches (_batch INTEGER, _file VARCHAR)")
        con.executemany("INSERT INTO run_batches VALUES (?, ?)", list(enumerate(self.sources)))
        stored = "CAST(to_json({" + ", ".join(f"'{c}': \"{c}\"" for c in table.column_names) + "}) AS VARCHAR)"
        # The table's rows with a repeated key hash, paired with run_keys rows by key hash, row hash and rank.
        con.execute(f"""CREATE OR REPLACE TEMP TABLE run_dups AS
            WITH t AS (SELECT rowid AS _rid, {q['key']}, {self.key_hash} AS _k, {self.row_hash} AS _h, {stored} AS _stored
                       FROM {table.name} WHERE run_id = $run AND {self.key_hash} IN (SELECT _k FROM run_cand)),
                 r AS (SELECT _k, _h, _batch, _rn, _line FROM run_keys WHERE _k IN (SELECT _k FROM run_cand))
            SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY _k, _h ORDER BY _rid) AS _i FROM t)
            FULL JOIN (SELECT *, row_number() OVER (PARTITION BY _k, _h ORDER BY _batch, _rn) AS _i FROM r)
            USING (_k, _h, _i)""", {"run": run.run_id})
        bad = con.execute("SELECT count(*) FROM run_dups WHERE _rid IS NULL OR _batch IS NULL").fetchall()[0][0]
        if bad:
            raise RuntimeError(f"{table.name}: {bad} appended rows do not pair with their source lines; "
                               "nothing was loaded")
        con.execute(f"""CREATE OR REPLACE TEMP TABLE run_dups AS
            SELECT *, row_number() OVER w AS _pos, first_value(_line) OVER w AS _win_line,
                   first_value(_batch) OVER w AS _win_batch
            FROM run_dups WINDOW w AS (PARTITION BY {q['key']} ORDER BY _batch DESC, _rn DESC)""")
        con.execute(f"""INSERT INTO quarantine
            SELECT $run, $name, $table, b._file, CASE WHEN d._batch = d._win_batch THEN d._line END, '{q['key0']}',
                   CASE WHEN d._batch = d._win_batch
                        THEN 'duplicate key ({q['key_list']}); line ' || d._win_line || ' of the same run wins'
                        ELSE 'duplicate key ({q['key_list']}): an earlier line of this run had it; line '
                             || d._win_line || ' wins' END,
                   d._stored, $now
            FROM run_dups d JOIN run_batches b ON b._batch = d._win_batch WHERE d._pos > 1""", params)
        return con.execute(f"DELETE FROM {table.name} WHERE rowid IN (SELECT _rid FROM run_dups WHERE _pos > 1)"
                           ).fetchall()[0][0]

    def _against_stored(self, q: dict[str, str]) -> tuple[int, datetime | None]:
        """Rows of this run whose key was stored before: identical ones go again, changed ones replace."""
        run, con, table = self.run, self.run.con, self.run.table
        on = " AND ".join(f'n."{k}" = o."{k}"' for k in table.key)
        # Keys first (two narrow scans), whole rows only for the keys found.
        con.execute(f"""CREATE OR REPLACE TEMP TABLE run_match AS
            SELECT n._rid AS _new, o._rid AS _old
            FROM (SELECT rowid AS _rid, {q['key']} FROM {table.name} WHERE run_id = $run) n
            JOIN (SELECT rowid AS _rid, {q['key']} FROM {table.name} WHERE run_id IS DISTINCT FROM $run) o ON {on}""",
                    {"run": run.run_id})
        if not con.execute("SELECT count(*) FROM run_match").fetchall()[0][0]:
            return 0, None
        same = " AND ".join(f'n."{c}" IS NOT DISTINCT FROM o."{c}"' for c in table.column_names)
        old_time = f'o."{table.time_column}"' if table.time_column else "NULL"
        con.execute(f"""CREATE OR REPLACE TEMP TABLE run_cmp AS
            SELECT m._new, m._old, {same} AS _same, {old_time} AS _old_time
            FROM run_match m JOIN {table.name} n ON n.rowid = m._new JOIN {table.name} o ON o.rowid = m._old""")
        unchanged, replaced_from = con.execute(
            "SELECT count(*) FILTER (WHERE _same), min(_old_time) FILTER (WHERE NOT _same) FROM run_cmp").fetchall()[0]
        con.execute(f"DELETE FROM {table.name} WHERE rowid IN (SELECT _new FROM run_cmp WHERE _same)")
        con.execute(f"DELETE FROM {table.name} WHERE rowid IN (SELECT _old FROM run_cmp WHERE NOT _same)")
        return unchanged, replaced_from


def _keyed(con, table: Table) -> bool:
    """Whether DuckDB keeps a unique index on the table (a PRIMARY KEY or UNIQUE constraint)."""
    return con.execute(
        "SELECT count(*) FROM duckdb_constraints() WHERE database_name = current_database() AND schema_name = 'main' "
        "AND table_name = ? AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')", [table.name]).fetchall()[0][0] > 0


def run_connector(
    con: duckdb.DuckDBPyConnection, spec: ConnectorSpec, now: datetime, connector: Connector | None = None,
    on_batch: Callable[[RawBatch, RunResult], None] | None = None,
) -> RunResult:
    """Run one connector into the store; never raises for bad data, it records a failed run instead.

    `on_batch(batch, result so far)` is called after each batch is checked and written (a progress bar).
    """
    table = spec.table
    _ensure_bookkeeping(con)
    run_id = con.execute("SELECT nextval('load_run_seq')").fetchall()[0][0]
    result = RunResult(run_id, spec.name, spec.stream, "ok")
    clock = time.monotonic()
    ctx = RunContext(now=now, state=_state(con, spec.name), seen_fingerprints=_seen(con, spec.name))
    lookups: dict[str, str] = {}
    ordered = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    if not ordered:  # line numbers and "the last line wins" rely on order-preserving reads
        con.execute("SET preserve_insertion_order = true")
    con.begin()
    try:
        # Created inside the try: a kind that rejects its options records a failed run, not a crash.
        connector = connector or registry.create(spec)
        opts = ParseOptions.from_spec(spec)
        had_rows = con.execute(f"SELECT EXISTS (SELECT 1 FROM {table.name})").fetchall()[0][0]
        run = _Run(con, table, run_id, spec, opts, now, result, had_rows)
        for reference in sorted({c.references for c in table.columns if c.references and c.references != table.name}):
            lookups[reference] = f"_cockpit_keys_{reference}"
            con.execute(f'DROP TYPE IF EXISTS "{lookups[reference]}"')
            con.execute(lookup_type_sql(reference, lookups[reference]))
        run.lookups = lookups
        writer = _KeyedWriter(run) if _keyed(con, table) else _AppendWriter(run)
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
            writer.load(batch)
            run.batches += 1
            if on_batch is not None:
                on_batch(batch, result)
        writer.finish()
        result.changed_master = table.name in MASTER_TABLES and result.rows_loaded > 0
        if result.data_as_of is not None and result.data_as_of > now:
            result.data_as_of = now  # a forecast for next month: the data is as of now, not of next month
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
        result = RunResult(run_id, spec.name, spec.stream, "failed", error=_message(exc, spec.secrets), sources=result.sources)
        if not isinstance(exc, ConnectorError):
            log.exception("connector %s failed", spec.name)
        _record(con, spec, result, now, clock)
    finally:
        for temp in TEMP_TABLES:
            _drop_temp(con, temp)
        for name in lookups.values():
            con.execute(f'DROP TYPE IF EXISTS "{name}"')
        con.execute(f"SET preserve_insertion_order = {str(bool(ordered)).lower()}")
    return result


def _drop_temp(con, name: str) -> None:
    """Drop temp table or view `name`, whichever it is (DuckDB's DROP names the kind)."""
    kinds = con.execute("SELECT 'VIEW' FROM duckdb_views() WHERE temporary AND view_name = ? UNION ALL "
                        "SELECT 'TABLE' FROM duckdb_tables() WHERE temporary AND table_name = ?", [name, name]).fetchall()
    for (kind,) in kinds:
        con.execute(f"DROP {kind} IF EXISTS temp.{name}")


def _message(exc: Exception, secrets: tuple[str, ...] = ()) -> str:
    """The error as recorded in load_run and shown on the wall and admin pages: never a secret's value.

    Kinds mask what they know (connectors.http.Redactor); this is the last line for any other path,
    such as a database driver echoing its connection string.
    """
    text = str(exc) if isinstance(exc, ConnectorError) else f"{type(exc).__name__}: {exc}"
    return mask_secrets(text, secrets)[:2000]


def _record(con, spec: ConnectorSpec, r: RunResult, started: datetime, clock: float) -> None:
    finished = started + timedelta(seconds=time.monotonic() - clock)
    con.execute(
        "INSERT INTO load_run VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [r.run_id, spec.name, spec.system, spec.stream, spec.kind, started, finished, r.status, r.rows_in, r.rows_loaded,
         r.rows_unchanged, r.rows_quarantined, r.error, None, "; ".join(r.sources)[:2000], r.data_as_of],
    )
