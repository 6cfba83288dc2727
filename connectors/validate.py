"""Validation as SQL over a staged batch: typed values, a reason for every rejected row, duplicates.

Rules come from the column declarations in connectors/schema.py, so a rule is written once and
documented with the table; how text is parsed (numbers, dates, units, zones) comes from
connectors/parsing.py. Every value reaches SQL as data, never as text of the statement.
"""

from __future__ import annotations

import re

from connectors.base import SOURCE_FILE, SOURCE_LINE
from connectors.parsing import ParseOptions, number_sql, quote, temporal_sql
from connectors.schema import Column, Table

_NUMERIC = ("DOUBLE", "INTEGER", "BIGINT")
_KEYS = {"org_unit": "unit_id", "product": "product_id", "meter": "meter_id"}


def _raw(col: Column) -> str:
    """The trimmed source text of a field, NULL when empty (computed once per row in the `r` step)."""
    return f'"{col.name}__raw"'


def _val(col: Column) -> str:
    return f'"{col.name}__t"'


def _typed(col: Column, staged_type: str, opts: ParseOptions) -> str:
    if col.type == "VARCHAR":
        return _raw(col)  # codes are compared trimmed: " L1" from a padded export is L1
    if staged_type == col.type or (col.type == "DOUBLE" and staged_type in _NUMERIC):
        expr = f'"{col.name}"::{col.type}'
        factor = opts.factors.get(col.name)
        return f"({expr} * {float(factor)!r})" if factor not in (None, 1) else expr
    raw = _raw(col)
    if col.type in _NUMERIC:
        return number_sql(raw, col.type, col.name, opts)
    if col.type in ("DATE", "TIMESTAMP"):
        return temporal_sql(raw, col.type, col.name, opts)
    return f"TRY_CAST({raw} AS {col.type})"


def _checks(col: Column, table: Table) -> list[str]:
    name, raw, val = col.name, _raw(col), _val(col)
    checks = []
    if col.required:
        checks.append(f"CASE WHEN {raw} IS NULL THEN '{name}: missing value' END")
    hint = ""
    if col.type in _NUMERIC:
        hint = (f" || CASE WHEN {raw} LIKE '%\\%%' ESCAPE '\\' OR {raw} LIKE '%％%' "
                f"THEN ' (a percent sign: list {name} in percent_columns to read it as a share)' ELSE '' END")
    checks.append(
        f"CASE WHEN {raw} IS NOT NULL AND {val} IS NULL "
        f"THEN '{name}: not a valid {col.type.lower()}: ' || {raw}{hint} END"
    )
    if col.type == "DOUBLE":
        checks.append(f"CASE WHEN isnan({val}) OR isinf({val}) THEN '{name}: not a finite number: ' || {raw} END")
    if col.min_value is not None:
        checks.append(f"CASE WHEN {val} < {float(col.min_value)} THEN '{name}: below {col.min_value:g}: ' || {raw} END")
    if col.accepted:
        values = ", ".join(quote(v) for v in col.accepted)
        checks.append(f"CASE WHEN {val} NOT IN ({values}) THEN '{name}: not one of {'/'.join(col.accepted)}: ' || {raw} END")
    if col.references and col.references != table.name:
        key = _KEYS[col.references]
        checks.append(
            f"CASE WHEN {val} IS NOT NULL AND {val} NOT IN (SELECT {key} FROM {col.references}) "
            f"THEN '{name}: unknown {col.references} ' || {raw} END"
        )
    if col.not_future:
        checks.append(f"CASE WHEN {val} > $now THEN '{name}: in the future: ' || {raw} END")
    return checks


def stage_sql(table: Table, staged_types: dict[str, str], opts: ParseOptions | None = None) -> str:
    """SQL creating temp table `checked` from temp table `staged`: _rn, typed columns and `_errors`.

    `staged` may carry `_rn` (row order) and `_row_error` (a reason found while reading, such as a
    total row). `_errors` holds the reasons joined by '; ', empty for a valid row; raw records are not
    copied here, the quarantine step joins back to `staged` for them.
    """
    opts = opts or ParseOptions()
    typed = {c.name: _typed(c, staged_types.get(c.name, "VARCHAR"), opts) for c in table.columns}
    if opts.interval_end and "start_at" in typed and "interval_s" in typed:
        # The export stamps the end of each interval; the canonical key is its start.
        start = typed["start_at"]
        if opts.midnight_closes_date:
            # 'D 00:00' written after 'D 23:45' is 24:00 of day D: the next day's midnight.
            start = f"CASE WHEN CAST({start} AS TIME) = TIME '00:00' THEN {start} + INTERVAL 1 DAY ELSE {start} END"
        typed["start_at"] = f"({start}) - to_seconds(CAST({typed['interval_s']} AS BIGINT))"
    checks = [chk for c in table.columns for chk in _checks(c, table)]
    if "_row_error" in staged_types:
        checks.insert(0, "_row_error")
    # Row checks are written against canonical names; point them at the typed values.
    names = sorted(table.column_names, key=len, reverse=True)
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    checks += [
        f"CASE WHEN COALESCE({pattern.sub(lambda m: chr(34) + m.group(1) + '__t' + chr(34), sql)}, false) "
        f"THEN {quote(reason)} END"
        for reason, sql in table.row_checks
    ]
    rn = "" if "_rn" in staged_types else "row_number() OVER () AS _rn, "
    raws = ", ".join(f"NULLIF(trim(CAST(\"{c.name}\" AS VARCHAR)), '') AS {_raw(c)}" for c in table.columns)
    typed_cols = ", ".join(f"{expr} AS {_val(table.column(name))}" for name, expr in typed.items())
    # Three projections, no join: the raw text once per row, the typed values from it, then the reasons.
    # concat_ws skips the NULLs of passing checks, so a valid row has an empty _errors string.
    return f"""
CREATE OR REPLACE TEMP TABLE checked AS
    WITH r AS (SELECT *, {rn}{raws} FROM staged),
         t AS (SELECT *, {typed_cols} FROM r)
    SELECT {SOURCE_FILE}, {SOURCE_LINE}, _rn, {', '.join(f'{_val(c)} AS "{c.name}"' for c in table.columns)},
           concat_ws('; ', {', '.join(checks)}) AS _errors
    FROM t;
"""
