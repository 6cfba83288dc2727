"""Validation as SQL over a staged batch: typed values, a reason for every rejected row, duplicates.

Rules come from the column declarations in connectors/schema.py, so a rule is written once and
documented with the table. Every value reaches SQL as data or as a bound parameter, never as text.
"""

from __future__ import annotations

import re

from connectors.base import SOURCE_FILE, SOURCE_LINE
from connectors.schema import Column, Table

_NUMERIC = ("DOUBLE", "INTEGER", "BIGINT")


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _raw(col: Column, alias: str = "s") -> str:
    return f"NULLIF(trim(CAST({alias}.\"{col.name}\" AS VARCHAR)), '')"


def _typed(col: Column, staged_type: str) -> str:
    if staged_type == col.type or (col.type == "DOUBLE" and staged_type in _NUMERIC):
        return f's."{col.name}"::{col.type}'
    raw = _raw(col)
    if col.type in _NUMERIC:
        # Exports write thousands separators (1,234.5); strip them before the cast.
        raw = f"replace({raw}, ',', '')"
    if col.type == "DATE":
        return f"COALESCE(TRY_CAST({raw} AS DATE), CAST(TRY_CAST({raw} AS TIMESTAMP) AS DATE))"
    return f"TRY_CAST({raw} AS {col.type})"


def _checks(col: Column, table: Table) -> list[str]:
    name, raw, val = col.name, _raw(col), f't."{col.name}"'
    checks = []
    if col.required:
        checks.append(f"CASE WHEN {raw} IS NULL THEN '{name}: missing value' END")
    checks.append(
        f"CASE WHEN {raw} IS NOT NULL AND {val} IS NULL "
        f"THEN '{name}: not a valid {col.type.lower()}: ' || {raw} END"
    )
    if col.min_value is not None:
        checks.append(f"CASE WHEN {val} < {float(col.min_value)} THEN '{name}: below {col.min_value:g}: ' || {raw} END")
    if col.accepted:
        values = ", ".join(_quote(v) for v in col.accepted)
        checks.append(f"CASE WHEN {val} NOT IN ({values}) THEN '{name}: not one of {'/'.join(col.accepted)}: ' || {raw} END")
    if col.references and col.references != table.name:
        key = {"org_unit": "unit_id", "product": "product_id", "meter": "meter_id"}[col.references]
        checks.append(
            f"CASE WHEN {val} IS NOT NULL AND {val} NOT IN (SELECT {key} FROM {col.references}) "
            f"THEN '{name}: unknown {col.references} ' || {raw} END"
        )
    if col.not_future:
        checks.append(f"CASE WHEN {val} > $now THEN '{name}: in the future: ' || {raw} END")
    return checks


def stage_sql(table: Table, staged_types: dict[str, str]) -> str:
    """SQL creating temp table `checked` from temp table `staged`: typed columns + `_errors` list."""
    typed_cols = ", ".join(f'{_typed(c, staged_types.get(c.name, "VARCHAR"))} AS "{c.name}"' for c in table.columns)
    checks = [chk for c in table.columns for chk in _checks(c, table)]
    # Row checks are written against canonical names; qualify them with the typed relation.
    names = sorted(table.column_names, key=len, reverse=True)
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    row_checks = [
        f"CASE WHEN COALESCE({pattern.sub(lambda m: 't.' + m.group(1), sql)}, false) THEN {_quote(reason)} END"
        for reason, sql in table.row_checks
    ]
    return f"""
CREATE OR REPLACE TEMP TABLE checked AS
    WITH s AS (SELECT *, row_number() OVER () AS _rn FROM staged),
         t AS (SELECT _rn, {typed_cols} FROM s)
    SELECT s.{SOURCE_FILE}, s.{SOURCE_LINE}, t.*, to_json(s) AS _raw_json,
           list_filter([{', '.join(checks + row_checks)}], lambda x: x IS NOT NULL) AS _errors
    FROM s JOIN t USING (_rn);
"""


def duplicate_sql(table: Table) -> str:
    """Among valid rows, every earlier row with the same natural key is rejected; the last line wins."""
    key = ", ".join(f'"{k}"' for k in table.key)
    return f"""
CREATE OR REPLACE TEMP TABLE ranked AS
    SELECT *, row_number() OVER (PARTITION BY {key} ORDER BY _rn DESC) AS _dup_rank,
              last_value({SOURCE_LINE}) OVER (PARTITION BY {key} ORDER BY _rn
                  ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS _winner_line
    FROM checked WHERE len(_errors) = 0;
"""
