"""Validation as SQL over a staged batch: typed values, a reason for every rejected row, duplicates.

Rules come from the column declarations in connectors/schema.py, so a rule is written once and
documented with the table; how text is parsed (numbers, dates, units, zones) comes from
connectors/parsing.py. Every value reaches SQL as data, never as text of the statement.

Most rows are valid, so the SQL is shaped for them: a numeric or date field is first cast as it
stands (DuckDB's casts accept surrounding spaces) and its text is trimmed and normalised only where
that cast failed; the reasons of a row are assembled only when one of its checks fails. Expressions
inside CASE branches are evaluated for the rows that reach them and are not hoisted by DuckDB's
common-subexpression step, which is why the fallbacks live there.
"""

from __future__ import annotations

import re

from connectors.base import SOURCE_FILE, SOURCE_LINE
from connectors.parsing import ParseOptions, fast_cast_ok, fast_cast_sql, number_sql, quote, temporal_sql
from connectors.schema import Column, Table

_NUMERIC = ("DOUBLE", "INTEGER", "BIGINT")
_KEYS = {"org_unit": "unit_id", "product": "product_id", "meter": "meter_id"}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _val(col: Column) -> str:
    return _q(f"{col.name}__t")


def _fast(col: Column) -> str:
    return _q(f"{col.name}__f")


def _cast(col: Column) -> str:
    return _q(f"{col.name}__c")


def _known(col: Column) -> str:
    return _q(f"{col.name}__k")


def _accepted(col: Column) -> str:
    # list_contains, not IN: DuckDB turns an IN list of five or more values into a join, and a join
    # does not keep the rows in the order read (see loader._check_batch).
    return f"list_contains([{', '.join(quote(v) for v in col.accepted)}], {_val(col)})"


def lookup_sql(col: Column, lookups: dict[str, str] | None) -> str:
    """Whether a reference field's value is known master data (NULL stays NULL).

    With `lookups` (master table -> an ENUM type of its keys) it is a cast, which keeps the row order;
    without, a subquery, which DuckDB plans as a join.
    """
    val = _val(col)
    if lookups and col.references in lookups:
        return f"CASE WHEN {val} IS NOT NULL THEN TRY_CAST({val} AS {_q(lookups[col.references])}) IS NOT NULL END"
    return f"{val} IN (SELECT {_KEYS[col.references]} FROM {col.references})"


def lookup_type_sql(reference: str, name: str) -> str:
    """A temp ENUM type of a master table's keys, for lookup_sql."""
    key = _KEYS[reference]
    return f"CREATE TEMP TYPE {_q(name)} AS ENUM (SELECT DISTINCT {key} FROM {reference} WHERE {key} IS NOT NULL)"


def _text(col: Column) -> str:
    return f"NULLIF(trim(CAST({_q(col.name)} AS VARCHAR)), '')"


def _trimmed(text: str) -> str:
    """trim(text), skipping the costly call for ASCII text without a space.

    DuckDB's trim removes the Unicode space separators (Zs); the only one in ASCII is the space.
    """
    return f"CASE WHEN strlen({text}) = length({text}) AND NOT contains({text}, ' ') THEN {text} ELSE trim({text}) END"


def _raw(col: Column) -> str:
    """The trimmed source text of a field, NULL when empty.

    A text field's value is that text (computed for every row); for other fields the expression is
    repeated where needed, inside CASE branches, so it is evaluated only for rows that fail a check.
    """
    return _val(col) if col.type == "VARCHAR" else _text(col)


def _has_fast(col: Column, staged_type: str, opts: ParseOptions) -> bool:
    return staged_type == "VARCHAR" and col.type != "VARCHAR" and fast_cast_ok(col.type, col.name, opts)


def _typed(col: Column, staged_type: str, opts: ParseOptions) -> str:
    if col.type == "VARCHAR":
        return _text(col)  # codes are compared trimmed: " L1" from a padded export is L1
    if staged_type == col.type or (col.type == "DOUBLE" and staged_type in _NUMERIC):
        expr = f"{_q(col.name)}::{col.type}"
        factor = opts.factors.get(col.name)
        return f"({expr} * {float(factor)!r})" if factor not in (None, 1) else expr
    raw = _raw(col)
    fast = _fast(col) if _has_fast(col, staged_type, opts) else None
    if col.type in _NUMERIC:
        return number_sql(raw, col.type, col.name, opts, fast)
    if col.type in ("DATE", "TIMESTAMP"):
        return temporal_sql(raw, col.type, col.name, opts, fast)
    return f"TRY_CAST({raw} AS {col.type})"


def _ok(col: Column, table: Table) -> str:
    """TRUE exactly when none of the column's _checks holds: the few conjuncts a valid row is tested with."""
    val = _val(col)
    good = []
    if col.type == "DOUBLE":
        good.append(f"isfinite({val})")
    if col.min_value is not None:
        good.append(f"{val} >= {float(col.min_value)}")
    if col.accepted:
        good.append(_accepted(col))
    if col.references and col.references != table.name:
        good.append(_known(col))
    if col.not_future:
        good.append(f"{val} <= $now")
    if col.required:  # NULL (missing or not parsed) fails
        return f"coalesce({' AND '.join(good)}, false)" if good else f"{val} IS NOT NULL"
    unset = f"{val} IS NULL" if col.type == "VARCHAR" else f"{val} IS NULL AND {_raw(col)} IS NULL"
    if not good:
        return f"({unset})" if col.type != "VARCHAR" else "true"
    return f"(({unset}) OR ({val} IS NOT NULL AND {' AND '.join(good)}))"


def _checks(col: Column, table: Table) -> list[tuple[str, str]]:
    """(condition, reason) pairs; a condition is TRUE for a bad value (NULL counts as passing)."""
    name, raw, val = col.name, _raw(col), _val(col)
    checks = []
    if col.required:
        missing = f"{val} IS NULL" if col.type == "VARCHAR" else f"{val} IS NULL AND {raw} IS NULL"
        checks.append((missing, f"'{name}: missing value'"))
    hint = ""
    if col.type in _NUMERIC:
        hint = (f" || CASE WHEN {raw} LIKE '%\\%%' ESCAPE '\\' OR {raw} LIKE '%％%' "
                f"THEN ' (a percent sign: list {name} in percent_columns to read it as a share)' ELSE '' END")
    if col.type != "VARCHAR":  # a text field is its own text: it cannot fail to parse
        checks.append((f"{val} IS NULL AND {raw} IS NOT NULL", f"'{name}: not a valid {col.type.lower()}: ' || {raw}{hint}"))
    if col.type == "DOUBLE":
        checks.append((f"isnan({val}) OR isinf({val})", f"'{name}: not a finite number: ' || {raw}"))
    if col.min_value is not None:
        checks.append((f"{val} < {float(col.min_value)}", f"'{name}: below {col.min_value:g}: ' || {raw}"))
    if col.accepted:
        checks.append((f"{val} IS NOT NULL AND NOT {_accepted(col)}",
                       f"'{name}: not one of {'/'.join(col.accepted)}: ' || {raw}"))
    if col.references and col.references != table.name:
        checks.append((f"NOT {_known(col)}", f"'{name}: unknown {col.references} ' || {raw}"))
    if col.not_future:
        checks.append((f"{val} > $now", f"'{name}: in the future: ' || {raw}"))
    return checks


def stage_sql(table: Table, staged_types: dict[str, str], opts: ParseOptions | None = None,
              lookups: dict[str, str] | None = None) -> str:
    """SQL creating temp table `checked` from temp table `staged`.

    `checked` holds _source_file (only for a rejected row: it is the batch's source, and a long text
    repeated on every row costs), _source_line, _rn, the typed columns, `_errors` (the reasons joined
    by '; ', empty for a valid row, NULL for a row to skip) and `_raw` (the row's source text as JSON,
    only for a rejected row). `staged` may carry `_rn` (row order), `_row_error` (a reason found while
    reading, such as a total row) and `_drop` (TRUE for a row to skip, such as a blank one).
    `lookups` names ENUM types of master keys (lookup_type_sql) to check references without a join.
    """
    opts = opts or ParseOptions()
    types = {c.name: staged_types.get(c.name, "VARCHAR") for c in table.columns}
    typed = {c.name: _typed(c, types[c.name], opts) for c in table.columns}
    if opts.interval_end and "start_at" in typed and "interval_s" in typed:
        # The export stamps the end of each interval; the canonical key is its start.
        start = typed["start_at"]
        if opts.midnight_closes_date:
            # 'D 00:00' written after 'D 23:45' is 24:00 of day D: the next day's midnight.
            start = f"CASE WHEN CAST({start} AS TIME) = TIME '00:00' THEN {start} + INTERVAL 1 DAY ELSE {start} END"
        typed["start_at"] = f"({start}) - to_seconds(CAST({typed['interval_s']} AS BIGINT))"
    checks = [chk for c in table.columns for chk in _checks(c, table)]
    oks = [_ok(c, table) for c in table.columns]
    if "_row_error" in staged_types:
        checks.insert(0, ("_row_error IS NOT NULL", "_row_error"))
        oks.insert(0, "_row_error IS NULL")
    # Row checks are written against canonical names; point them at the typed values.
    names = sorted(table.column_names, key=len, reverse=True)
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    for reason, sql in table.row_checks:
        bad = f"COALESCE({pattern.sub(lambda m: _q(m.group(1) + '__t'), sql)}, false)"
        checks.append((bad, quote(reason)))
        oks.append(f"NOT {bad}")
    rn = "" if "_rn" in staged_types else "row_number() OVER () AS _rn, "
    text = [c for c in table.columns if c.type == "VARCHAR"]
    # Step s: text fields trimmed (trim is the costly part; NULLIF would evaluate it twice) and the
    # plain casts, for every row. Step f: empty text as NULL, the year check of plain date casts.
    # Step t: the other typed values (their
    # fallbacks only where the plain cast failed) and master-data lookups. Step e: the reasons, only
    # for a row that fails one of the conjuncts in `oks`.
    first = [f"{_trimmed(f'CAST({_q(c.name)} AS VARCHAR)')} AS {_q(c.name + '__s')}" for c in text]
    fast = [c for c in table.columns if _has_fast(c, types[c.name], opts)]
    dated = [c for c in fast if c.type in ("DATE", "TIMESTAMP")]
    first += [f"{fast_cast_sql(_q(c.name), c.type)} AS {_fast(c)}" for c in fast if c not in dated]
    first += [f"TRY_CAST({_q(c.name)} AS {c.type}) AS {_cast(c)}" for c in dated]
    empty = [f"NULLIF({_q(c.name + '__s')}, '') AS {_val(c)}" for c in text]
    empty += [f"{fast_cast_sql(_q(c.name), c.type, _cast(c))} AS {_fast(c)}" for c in dated]
    second = [f"{typed[c.name]} AS {_val(c)}" for c in table.columns if c.type != "VARCHAR"]
    second += [f"{lookup_sql(c, lookups)} AS {_known(c)}" for c in table.columns
               if c.references and c.references != table.name]
    reasons = ", ".join(f"CASE WHEN {cond} THEN {msg} END" for cond, msg in checks)
    errors = f"CASE WHEN {' AND '.join(oks)} THEN '' ELSE concat_ws('; ', {reasons}) END" if checks else "''"
    if "_drop" in staged_types:  # a row to skip silently (a blank or footer row): neither valid nor rejected
        errors = f"CASE WHEN NOT _drop THEN {errors} END"
    present = [c for c in table.column_names if c in staged_types]
    raw_json = "CAST(to_json({" + ", ".join(f"'{c}': {_q(c)}" for c in present) + "}) AS VARCHAR)"
    return f"""
CREATE OR REPLACE TEMP TABLE checked AS
    WITH s AS (SELECT *, {rn}{', '.join(first) or 'NULL AS _nothing'} FROM staged),
         f AS (SELECT *{''.join(', ' + x for x in empty)} FROM s),
         t AS (SELECT *{''.join(', ' + x for x in second)} FROM f),
         e AS (SELECT *, {errors} AS _errors FROM t)
    SELECT CASE WHEN _errors <> '' THEN {SOURCE_FILE} END AS {SOURCE_FILE}, {SOURCE_LINE}, _rn,
           {', '.join(f'{_val(c)} AS {_q(c.name)}' for c in table.columns)},
           _errors, CASE WHEN _errors <> '' THEN {raw_json} END AS _raw
    FROM e;
"""
