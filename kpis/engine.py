"""The KPI engine: elements once per (unit, production day), then every KPI, grain and level, set-based.

A few SQL statements over integer keys, written as they are (kpi_value and kpi_shift_value are views):
  element_day   every element per (unit, production day); shared daily sums (kpis.elements.SHARED)
                are materialised first, so a big fact table is scanned once
  kpi_day       numerator and denominator of every KPI with a day grain per (unit at its lowest level,
                day), one GROUP BY per KPI
  kpi_month     months from those day sums (30x fewer rows than from elements); month-only KPIs from
                their elements' month sums
  roll-up       complete units added into every ancestor (org closure), one GROUP BY per KPI, streamed
                with the units' own rows into one INSERT of kpi_snapshot (integer keys and
                status codes; the view kpi_value names them), with values and statuses
  shift pass    the same statements once more over the recent days, with prod_day() redefined as the
                start of the shift a timestamp falls in, for the KPIs whose elements all exist per shift
                (kpis.shifts); written to kpi_shift_snapshot in the same transaction
A product KPI (OEE) multiplies its rolled-up factors; a capability KPI (Cp, Cpk) is a statistic per
characteristic at its lowest level, not rolled up. Nothing here knows about Dash or files.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import duckdb
import pandas as pd

from connectors.schema import LEVELS, SNAPSHOT_STATUSES
from kpis.elements import SHARED
from kpis.reference import GAS_TABLES, GAS_VARIANTS
from kpis.registry import all_elements, all_kpis
from kpis.shifts import SHIFT_DAYS, Shift, default_shifts, shift_code_sql, shift_start_sql

PARTIAL_AFTER_DAYS = 7  # a mixed KPI's first month is partial when its daily data starts later than this
STATUS_PRIORITY = ("error", "not_planned", "insufficient", "partial", "no_data", "ok")
GRAIN_KEY = {"day": 0, "month": 1}
PER_KPI_ROWS = 500_000  # element rows from which one GROUP BY per KPI beats one for all KPIs


def prepare(con: duckdb.DuckDBPyConnection, day_start_minutes: int, energy_variant: str,
            carbon_series: str = "national", shifts: tuple[Shift, ...] | None = None,
            natural_gas: str = "oil_field") -> None:
    """Session macros, variables, shared views and the org closure the element SQL and compute() rely on."""
    _bucket_by_day(con, day_start_minutes)
    # plan_shift(ts): the configured shift a timestamp falls in, in both passes (prod_day changes meaning)
    con.execute("CREATE OR REPLACE TEMP MACRO plan_shift(ts) AS "
                + shift_start_sql(day_start_minutes, shifts or default_shifts()))
    _whole_orders(con, None)
    con.execute("SET VARIABLE energy_variant = ?", [energy_variant])
    con.execute("SET VARIABLE carbon_series = ?", [carbon_series])
    con.execute("SET VARIABLE gas_table = ?", [GAS_TABLES[natural_gas]])
    con.execute("SET VARIABLE kpi_first = CAST(NULL AS DATE)")  # compute(since=...) sets the first day
    con.execute(
        """CREATE OR REPLACE TEMP TABLE org_closure AS
        WITH RECURSIVE walk(ancestor, descendant) AS (
            SELECT unit_id, unit_id FROM org_unit
            UNION ALL
            SELECT o.parent_id, w.descendant FROM walk w JOIN org_unit o ON o.unit_id = w.ancestor
            WHERE o.parent_id IS NOT NULL AND o.parent_id <> '')
        SELECT DISTINCT w.ancestor, w.descendant, CAST(list_position(?, a.level) AS INTEGER) AS ancestor_rank
        FROM walk w JOIN org_unit a ON a.unit_id = w.ancestor""",
        [list(LEVELS)],
    )
    # The same tree on integer keys, the stored snapshots' (a unit seen for the first time gets the next).
    # unit_rollup is what a unit's sums are added into: its proper ancestors, and itself only when a
    # descendant has its level too (an irregular tree), so that in a regular tree a unit's own row is
    # copied instead of going through the aggregation.
    con.execute("""INSERT INTO snapshot_unit
        SELECT (SELECT COALESCE(max(unit_key), 0) FROM snapshot_unit) + row_number() OVER (ORDER BY unit_id), unit_id
        FROM (SELECT DISTINCT descendant AS unit_id FROM org_closure)
        WHERE unit_id NOT IN (SELECT unit_id FROM snapshot_unit)""")
    con.execute("""CREATE OR REPLACE TEMP TABLE unit_dim AS SELECT unit_key, unit_id FROM snapshot_unit
        WHERE unit_id IN (SELECT descendant FROM org_closure)""")
    # `nearest`: the deepest of a unit's ancestors (or itself) at that level, the one its data counts at
    # for KPIs of that level (in a regular tree the only one; a line under a line keeps its own data).
    con.execute("""CREATE OR REPLACE TEMP TABLE unit_closure AS
        WITH depth AS (SELECT descendant AS unit_id, count(*) AS depth FROM org_closure GROUP BY ALL)
        SELECT a.unit_key AS ancestor_key, d.unit_key AS descendant_key, c.ancestor_rank,
               c.ancestor = c.descendant AS self,
               h.depth = max(h.depth) OVER (PARTITION BY c.descendant, c.ancestor_rank) AS nearest
        FROM org_closure c JOIN unit_dim a ON a.unit_id = c.ancestor JOIN unit_dim d ON d.unit_id = c.descendant
        JOIN depth h ON h.unit_id = c.ancestor""")
    con.execute("""CREATE OR REPLACE TEMP TABLE unit_irregular AS
        SELECT DISTINCT c.ancestor_key AS unit_key FROM unit_closure c
        JOIN unit_closure d ON d.ancestor_key = c.descendant_key AND d.self
        WHERE NOT c.self AND d.ancestor_rank = c.ancestor_rank""")
    con.execute("""CREATE OR REPLACE TEMP TABLE unit_rollup AS
        SELECT ancestor_key, descendant_key FROM unit_closure
        WHERE NOT self OR ancestor_key IN (SELECT unit_key FROM unit_irregular)""")
    _shared_views(con)


def _bucket_by_day(con: duckdb.DuckDBPyConnection, day_start_minutes: int) -> None:
    """prod_day(ts): the production day a timestamp belongs to."""
    micros = int(day_start_minutes) * 60_000_000  # an int from validated config; the only value formatted into SQL
    # Integer arithmetic on the timestamp: the same day as CAST(ts - INTERVAL n MINUTE AS DATE), twice as fast.
    con.execute(f"CREATE OR REPLACE TEMP MACRO prod_day(ts) AS CAST(make_timestamp(epoch_us(ts) - {micros}) AS DATE)")


def _bucket_by_shift(con: duckdb.DuckDBPyConnection, day_start_minutes: int, shifts: tuple[Shift, ...]) -> None:
    """prod_day(ts) redefined for the shift pass: the start of the shift a timestamp falls in."""
    con.execute(f"CREATE OR REPLACE TEMP MACRO prod_day(ts) AS {shift_start_sql(day_start_minutes, shifts)}")


def _drop_shared(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the shared daily sums, views or tables, latest first (later ones may read earlier ones)."""
    kinds = dict(con.execute("SELECT table_name, 'TABLE' FROM duckdb_tables() WHERE temporary UNION ALL "
                             "SELECT view_name, 'VIEW' FROM duckdb_views() WHERE temporary").fetchall())
    for name in reversed(SHARED):
        if name in kinds:
            con.execute(f"DROP {kinds[name]} temp.{name}")


def _shared_views(con: duckdb.DuckDBPyConnection) -> None:
    """The shared daily sums as views, so element SQL binds outside compute() too."""
    _drop_shared(con)
    for name, sql in SHARED.items():
        con.execute(f"CREATE TEMP VIEW {name} AS {sql}")


def _shared_needed(sqls: list[str]) -> set[str]:
    """The shared sums the given SQL reads, directly or through other shared sums."""
    needed: set[str] = set()
    todo = list(sqls)
    while todo:
        sql = todo.pop()
        for name in SHARED:
            if name not in needed and re.search(rf"\b{name}\b", sql):
                needed.add(name)
                todo.append(SHARED[name])
    return needed


def _materialise_shared(con: duckdb.DuckDBPyConnection, needed: set[str] | None = None) -> None:
    """Each shared daily sum (of those needed) computed once, in declaration order, as a temp table."""
    _drop_shared(con)
    for name, sql in SHARED.items():
        kind = "TABLE" if needed is None or name in needed else "VIEW"
        con.execute(f"CREATE TEMP {kind} {name} AS {sql}")


def _variants(energy_variant: str, carbon_series: str, natural_gas: str = "oil_field") -> dict[str, str]:
    """Which coefficient set produced each energy or carbon KPI, stored with every snapshot."""
    out = {}
    for k in all_kpis().values():
        parts = []
        if "energy_kgce" in k.elements:
            parts.append(f"electricity={energy_variant}")
        if {"energy_kgce", "co2_scope1_kg"} & k.elements:
            # gas: the measured low calorific value where a reading or its meter has one, else the table
            parts.append(f"natural_gas={GAS_VARIANTS[natural_gas]}")
        if {"co2_scope1_kg", "co2_scope2_kg"} & k.elements:
            parts.append(f"carbon={carbon_series}")
        if parts:
            out[k.id] = ";".join(parts)
    return out


# Big fact tables whose elements are plain per-row sums: an incremental recompute reads only their
# recent rows (zone maps skip the rest). Tables with look-back logic (equipment_state for time to
# failure, maintenance_event) are always read whole.
RECENT_ONLY = {"production_record": "start_at", "energy_reading": "start_at", "planned_time": "shift_start_at",
               "labor_time": "shift_start_at", "quality_inspection": "inspected_at"}


def _shadow_recent(con: duckdb.DuckDBPyConnection, first: date) -> list[str]:
    """Temp views named like the fact tables, holding rows from `first` on; element SQL picks them up."""
    catalog = con.execute("SELECT current_database()").fetchall()[0][0]
    for table, column in RECENT_ONLY.items():
        con.execute(f'CREATE OR REPLACE TEMP VIEW {table} AS SELECT * FROM "{catalog}".main.{table} '
                    f"WHERE {column} >= TIMESTAMP '{first.isoformat()}'")  # a date object, not user text
    _whole_orders(con, first)
    return list(RECENT_ONLY)


def _whole_orders(con: duckdb.DuckDBPyConnection, first: date | None) -> None:
    """production_record_whole: every record of the orders with records from `first` on (all records without).

    Order elements (AOET, fall-off) book an order on the day it started with its whole span, so an
    incremental compute must see the early records of an order that runs into the recomputed months.
    """
    catalog = con.execute("SELECT current_database()").fetchall()[0][0]
    whole = f'"{catalog}".main.production_record'
    recent = (f" WHERE order_id IN (SELECT order_id FROM {whole} WHERE start_at >= TIMESTAMP '{first.isoformat()}')"
              if first else "")  # a date object, not user text
    con.execute(f"CREATE OR REPLACE TEMP VIEW production_record_whole AS SELECT * FROM {whole}{recent}")


def _reach_back_for_orders(con: duckdb.DuckDBPyConnection, first: date) -> date:
    """The first month to recompute: an order running into the months from `first` on is booked on the day it
    started, so the month of that day is recomputed too (its order spans changed)."""
    earliest = con.execute(
        "SELECT prod_day(min(start_at)) FROM production_record WHERE order_id IN "
        "(SELECT order_id FROM production_record WHERE start_at >= ? AND order_id IS NOT NULL)",
        [first]).fetchall()[0][0]
    return min(first, earliest.replace(day=1)) if earliest else first


def element_sql() -> str:
    """One UNION ALL of every element's SQL, tagged with the element name."""
    parts = [
        f"SELECT '{name}' AS element, unit_id, day, value FROM ({e.sql})"
        for name, e in sorted(all_elements().items())
    ]
    return "\nUNION ALL\n".join(parts)


def _capability_groups_sql(kpi_id: str) -> str:
    """n, Σd and Σd² of one capability KPI's sample per characteristic (and limits), unit at its lowest level
    and period of each grain. The month rows are kept (capability_sample), so windows can pool them."""
    k = all_kpis()[kpi_id]
    sample = all_elements()[next(iter(k.denominator))].sample_sql
    rank = LEVELS.index(k.lowest_level) + 1
    start = {"day": "day", "month": "date_trunc('month', day)"}
    periods = " UNION ALL ".join(f"SELECT '{g}' AS grain, {start[g]} AS period_start, * FROM s" for g in k.grains)
    return f"""
        WITH s AS (SELECT * FROM ({sample}) WHERE $first IS NULL OR day >= $first)
        SELECT '{kpi_id}' AS kpi_id, p.grain, c.ancestor AS unit_id, CAST(p.period_start AS DATE) AS period_start,
               p.characteristic, p.lsl, p.usl, SUM(p.n) AS n, SUM(p.sum_d) AS sum_d, SUM(p.sum_dd) AS sum_dd,
               max(p.day) AS last_day
        FROM ({periods}) p JOIN org_closure c ON c.descendant = p.unit_id
        WHERE c.ancestor_rank = {rank} GROUP BY ALL"""


def _capability_sql(kpi_id: str) -> str:
    """Snapshots of one capability KPI from its groups (capability_group): per unit at its lowest level,
    characteristic by characteristic.

    Each characteristic (name and limits) gets its own n, mean and overall sample deviation; the unit
    shows its least capable characteristic, named in `variant`. Units above are 'not_applicable'.
    kpis.windows.pooled_capability is the same statistic over several months, in pandas.
    """
    k = all_kpis()[kpi_id]
    rank = LEVELS.index(k.lowest_level) + 1
    stat = ("(usl - lsl) / (6 * sd)" if k.capability == "cp"
            else "least((usl - ref) - mean_d, mean_d - (lsl - ref)) / (3 * sd)")
    return f"""
        WITH per_group AS (SELECT * EXCLUDE (kpi_id) FROM capability_group WHERE kpi_id = '{kpi_id}'),
        stats AS (
            SELECT *, COALESCE((lsl + usl) / 2, lsl, usl) AS ref, sum_d / n AS mean_d,
                   CASE WHEN n > 1 THEN sqrt(greatest(sum_dd - sum_d * sum_d / n, 0) / (n - 1)) END AS sd
            FROM per_group),
        groups AS (
            SELECT *, CASE WHEN n >= {float(k.min_denominator)!r} AND sd > 0 THEN {stat} END AS cap,
                   n >= {float(k.min_denominator)!r} AND sd > 0 AS enough,
                   characteristic || ' [' || COALESCE(CAST(lsl AS VARCHAR), '') || ', '
                       || COALESCE(CAST(usl AS VARCHAR), '') || ']' AS label
            FROM stats),
        units AS (
            SELECT '{kpi_id}' AS kpi_id, unit_id, grain, period_start, min(cap) AS value,
                   CAST(NULL AS DOUBLE) AS numerator, CAST(COALESCE(arg_min(n, cap), max(n)) AS DOUBLE) AS denominator,
                   CASE WHEN count(cap) > 0 THEN 'ok' WHEN bool_or(enough) THEN 'not_applicable'
                        ELSE 'insufficient' END AS status,
                   'characteristic=' || arg_min(label, cap) AS variant,
                   max(last_day) AS last_day, count(*) AS n_units, count(cap) AS n_complete
            FROM groups GROUP BY ALL)
        SELECT * FROM units
        UNION ALL  -- never pooled across characteristics or units: above the lowest level it does not apply
        SELECT u.kpi_id, c.ancestor, u.grain, u.period_start, NULL, NULL, NULL, 'not_applicable', NULL,
               max(u.last_day), NULL, NULL
        FROM units u JOIN org_closure c ON c.descendant = u.unit_id
        WHERE c.ancestor_rank < {rank} GROUP BY ALL"""


def _kpi_keys(con: duckdb.DuckDBPyConnection, variants: dict[str, str]) -> dict[str, int]:
    """The stored snapshots' key of every KPI (a new KPI gets the next), with its current variant."""
    keys = dict(con.execute("SELECT kpi_id, kpi_key FROM snapshot_kpi").fetchall())
    for kpi_id in all_kpis():
        keys.setdefault(kpi_id, max(keys.values(), default=0) + 1)
    frame = pd.DataFrame({"kpi_key": list(keys.values()), "kpi_id": list(keys), "variant": [
        variants.get(k) for k in keys]}).astype({"kpi_key": "int32", "variant": "object"})
    con.register("kpi_keys_frame", frame)
    try:
        con.execute("DELETE FROM snapshot_kpi")
        con.execute("INSERT INTO snapshot_kpi SELECT kpi_key, kpi_id, variant FROM kpi_keys_frame")
    finally:
        con.unregister("kpi_keys_frame")
    return keys


def _registry_frames(names: list[str], variants: dict[str, str], key: dict[str, int]) -> dict[str, pd.DataFrame]:
    """The registry as small integer-keyed tables: the big joins and groups run on integers."""
    kpis = list(all_kpis().values())
    element_key = {n: i for i, n in enumerate(names)}
    kpi_dim = pd.DataFrame(
        [(key[k.id], k.id, k.kind, float(k.scale), k.zero_denominator, len(k.components), float(k.min_denominator),
          "day" in k.grains, "month" in k.grains, variants.get(k.id)) for k in kpis],
        columns=["kpi_key", "kpi_id", "kind", "scale", "zero_status", "n_components", "min_den", "daily", "monthly",
                 "variant"])
    # A term's coefficient sits in the column of its side (the other is NULL, so SUM skips it); `side`
    # is a bit (1 numerator, 2 denominator) whose bit_or says which sides a unit has data for.
    terms = [(key[k.id], element_key[el], float(coef) if side == 1 else None, float(coef) if side == 2 else None,
              side, LEVELS.index(k.lowest_level) + 1, "day" in k.grains)
             for k in kpis if k.kind in ("ratio", "sum")  # capability: see _capability_sql; product: components
             for side, combo in ((1, k.numerator), (2, k.denominator)) for el, coef in combo.items()]
    term = pd.DataFrame(terms, columns=["kpi_key", "element_key", "num_coef", "den_coef", "side", "lowest_rank",
                                        "daily"]).astype({"num_coef": "float64", "den_coef": "float64"})
    component = pd.DataFrame([(key[k.id], key[c]) for k in kpis for c in k.components],
                             columns=["kpi_key", "component_key"]).astype("int64")
    return {"kpi_dim": kpi_dim, "kpi_term": term, "kpi_component": component}


def _load_frames(con: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame]) -> None:
    """Small registry tables copied into typed temp tables."""
    for name, frame in frames.items():
        columns = ", ".join(f"CAST({c} AS INTEGER) AS {c}" if str(t) == "int64" else c
                            for c, t in frame.dtypes.items())  # integer keys join integer keys without casts
        con.register("registry_frame", frame)
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {columns} FROM registry_frame")
        finally:
            con.unregister("registry_frame")


def _keyed_elements(only: set[str] | None = None) -> str:
    """One UNION ALL of every element's SQL (or of those named), tagged with the element's integer key (its
    sorted position among all elements)."""
    parts = [f"SELECT {i} AS element_key, unit_id, day, value FROM ({e.sql})"
             for i, (name, e) in enumerate(sorted(all_elements().items())) if only is None or name in only]
    return "\nUNION ALL\n".join(parts)


def _status_sql(source: str) -> str:
    """Value and status of ratio and sum KPIs from rolled-up sums in `source`."""
    return f"""SELECT s.kpi_key, s.unit_key, s.grain, s.period_start,
    CASE WHEN m.kind = 'sum' THEN s.numerator
         WHEN s.n_complete > 0 AND s.denominator <> 0 AND s.denominator >= m.min_den
         THEN m.scale * s.numerator / s.denominator END AS value,
    s.numerator, CASE WHEN m.kind = 'ratio' THEN s.denominator END AS denominator,
    CASE WHEN m.kind = 'sum' THEN CASE WHEN s.n_complete = 0 THEN 'no_data' ELSE 'ok' END
         WHEN s.n_complete = 0 AND s.any_den AND s.raw_denominator = 0 THEN m.zero_status
         WHEN s.n_complete = 0 THEN 'no_data'
         WHEN s.denominator = 0 THEN m.zero_status  -- e.g. PBT = 0 is 'not planned'
         WHEN s.denominator < m.min_den THEN 'insufficient'
         ELSE 'ok' END AS status,
    s.last_day, s.n_units, s.n_complete
FROM {source} s JOIN kpi_dim m USING (kpi_key)"""


_TEMPS = ("element_day", "kpi_day", "kpi_month", "kpi_factor_sums", "kpi_product", "kpi_capability",
          "capability_group", "kpi_dim", "kpi_term", "kpi_component", "element_names")


def _elements(con: duckdb.DuckDBPyConnection, first: date | None, only: set[str] | None = None) -> None:
    """element_day: every element (or those named) per (unit key, production day), from `first` on when given."""
    elements = _keyed_elements(only)
    con.execute("SET VARIABLE kpi_first = ?", [first])
    shadowed = _shadow_recent(con, first) if first else []
    try:
        _materialise_shared(con, None if only is None else _shared_needed([all_elements()[n].sql for n in only]))
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE element_day AS
            SELECT e.element_key, u.unit_key, e.day, e.value
            FROM ({elements}) e JOIN unit_dim u USING (unit_id){" WHERE e.day >= $first" if first else ""}""",
            {"first": first} if first else None)
    finally:
        for name in shadowed:
            con.execute(f"DROP VIEW IF EXISTS temp.{name}")
        _whole_orders(con, None)
        _shared_views(con)
        con.execute("SET VARIABLE kpi_first = CAST(NULL AS DATE)")


def _roll_up(con: duckdb.DuckDBPyConnection, term: pd.DataFrame, per_kpi: bool) -> None:
    """kpi_day, kpi_month and the kpi_base view: numerators and denominators per unit at each KPI's lowest
    level, day and month."""
    # Numerator and denominator of the KPIs with a day grain per unit at the KPI's lowest level and
    # day: each element row meets the terms that use it and its one ancestor at the KPI's level
    # (itself when the data arrives there).
    # Big inputs: one GROUP BY per KPI, over its own elements' rows only (element_day is clustered by
    # element), so each hash table holds one KPI's units and days: faster than one table for all KPIs.
    # Small inputs (an incremental month): one GROUP BY, as the per-KPI statements' overhead dominates.
    daily = term[term["daily"]]
    parts = [
        f"""SELECT t.kpi_key, c.ancestor_key AS unit_key, e.day, SUM(t.num_coef * e.value) AS numerator,
               SUM(t.den_coef * e.value) AS denominator, bit_or(t.side) AS sides
        FROM element_day e
        JOIN kpi_term t ON t.element_key = e.element_key AND t.daily{f" AND t.kpi_key = {int(kpi_key)}" if per_kpi else ""}
        JOIN unit_closure c ON c.descendant_key = e.unit_key AND c.ancestor_rank = t.lowest_rank AND c.nearest
        WHERE e.element_key IN ({", ".join(str(int(k)) for k in sorted(set(rows["element_key"]))) or "NULL"})
        GROUP BY t.kpi_key, c.ancestor_key, e.day"""
        for kpi_key, rows in (daily.groupby("kpi_key") if per_kpi else [(None, daily)])]
    con.execute("CREATE OR REPLACE TEMP TABLE kpi_day AS " + "\nUNION ALL\n".join(parts))
    # Month rows per unit at the lowest level: from the KPI's day sums, or for a month-only KPI from
    # its elements' month sums.
    con.execute(
        """CREATE OR REPLACE TEMP TABLE kpi_month AS
        WITH element_month AS (
            SELECT element_key, unit_key, CAST(date_trunc('month', day) AS DATE) AS month, SUM(value) AS value,
                   max(day) AS last_day
            FROM element_day WHERE element_key IN (SELECT element_key FROM kpi_term WHERE NOT daily)
            GROUP BY ALL)
        SELECT d.kpi_key, d.unit_key, CAST(date_trunc('month', d.day) AS DATE) AS period_start,
               SUM(d.numerator) AS numerator, SUM(d.denominator) AS denominator, bit_or(d.sides) AS sides,
               max(d.day) AS last_day
        FROM kpi_day d JOIN kpi_dim m USING (kpi_key) WHERE m.monthly
        GROUP BY d.kpi_key, d.unit_key, CAST(date_trunc('month', d.day) AS DATE)
        UNION ALL
        SELECT t.kpi_key, c.ancestor_key, e.month, SUM(t.num_coef * e.value), SUM(t.den_coef * e.value),
               bit_or(t.side), max(e.last_day)
        FROM element_month e
        JOIN kpi_term t ON t.element_key = e.element_key AND NOT t.daily
        JOIN unit_closure c ON c.descendant_key = e.unit_key AND c.ancestor_rank = t.lowest_rank AND c.nearest
        GROUP BY t.kpi_key, c.ancestor_key, e.month"""
    )
    # Day and month rows per unit at the lowest level, as the roll-up adds them. A unit counts only
    # when both sides have data there, so a plant without a cost export cannot pull the enterprise's
    # unit cost down by adding its output to the denominator alone: sums are filtered to complete
    # units. A view (read per KPI, its rows clustered by KPI), so the day rows are not copied.
    con.execute(
        """CREATE OR REPLACE TEMP VIEW kpi_base AS
        WITH b AS (
            SELECT kpi_key, unit_key, 0 AS grain, day AS period_start, numerator, denominator, sides,
                   day AS last_day
            FROM kpi_day
            UNION ALL
            SELECT kpi_key, unit_key, 1, period_start, numerator, denominator, sides, last_day FROM kpi_month),
        f AS (SELECT b.*, CASE WHEN m.kind = 'sum' THEN b.sides & 1 = 1 ELSE b.sides = 3 END AS complete
              FROM b JOIN kpi_dim m USING (kpi_key))
        SELECT kpi_key, unit_key, grain, period_start,
               CASE WHEN complete THEN numerator END AS numerator,
               CASE WHEN complete THEN denominator END AS denominator,
               1 AS n_units, CAST(complete AS INTEGER) AS n_complete, last_day,
               sides & 2 = 2 AS any_den, denominator AS raw_denominator
        FROM f"""
    )


def _sums_sql(kpi_keys: list[int], per_kpi: bool) -> str:
    """Rolled-up sums of the given KPIs: every unit's own row, and complete units added into their
    ancestors (a base row is one unit), one GROUP BY per KPI for big inputs like kpi_day."""
    def keys(ks: list[int]) -> str:
        return ", ".join(str(int(k)) for k in ks) or "NULL"
    own = f"SELECT * FROM kpi_base WHERE kpi_key IN ({keys(kpi_keys)}) AND unit_key NOT IN (SELECT unit_key FROM unit_irregular)"
    parts = [own]
    parts += [f"""SELECT b.kpi_key, r.ancestor_key, b.grain, b.period_start, SUM(b.numerator), SUM(b.denominator),
               count(*), SUM(b.n_complete), max(b.last_day), bool_or(b.any_den), SUM(b.raw_denominator)
        FROM kpi_base b JOIN unit_rollup r ON r.descendant_key = b.unit_key WHERE b.kpi_key IN ({keys(group)})
        GROUP BY b.kpi_key, r.ancestor_key, b.grain, b.period_start"""
              for group in ([[k] for k in kpi_keys] if per_kpi else [kpi_keys])]
    return "(" + "\nUNION ALL\n".join(parts) + ")"


def _products(con: duckdb.DuckDBPyConnection, factors: list[int], per_kpi: bool) -> None:
    """kpi_product: a product KPI (OEE) per unit and period, the product of its rolled-up factors."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE kpi_factor_sums AS SELECT * FROM {_sums_sql(factors, per_kpi)}")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE kpi_product AS
        WITH n AS ({_status_sql("kpi_factor_sums")})
        SELECT p.kpi_key, n.unit_key, n.grain, n.period_start,
            CASE WHEN count(*) = any_value(m.n_components) AND bool_and(n.status = 'ok')
                 THEN any_value(m.scale) * product(n.value) END AS value,
            CAST(NULL AS DOUBLE) AS numerator, CAST(NULL AS DOUBLE) AS denominator,
            CASE WHEN count(*) < any_value(m.n_components) THEN 'no_data'
                 ELSE arg_min(n.status, list_position(?, n.status)) END AS status,
            max(n.last_day) AS last_day, min(n.n_units) AS n_units, min(n.n_complete) AS n_complete
        FROM n
        JOIN kpi_component p ON p.component_key = n.kpi_key
        JOIN kpi_dim m ON m.kpi_key = p.kpi_key
        GROUP BY p.kpi_key, n.unit_key, n.grain, n.period_start""",
        [list(STATUS_PRIORITY)],
    )


def _roll_up_all(con: duckdb.DuckDBPyConnection, term: pd.DataFrame, component: pd.DataFrame,
                 per_kpi: bool) -> list[int]:
    """Roll-up and products of the KPIs in `term` and `component`; returns the summed KPIs that are not a
    product's factor (written from their own sums; factors are in kpi_factor_sums)."""
    _roll_up(con, term, per_kpi)
    summed = sorted(set(term["kpi_key"]))
    factors = sorted(set(component["component_key"]) & set(summed))
    _products(con, factors, per_kpi)
    return [k for k in summed if k not in factors]


def _snapshot_rows(rest: list[int], per_kpi: bool) -> str:
    """FROM clause of the snapshot rows `n` (keys, value, status, counts): the day pass's and the shift pass's,
    from the sums _roll_up_all left."""
    return f"""({_status_sql(_sums_sql(rest, per_kpi))}
              UNION ALL {_status_sql("kpi_factor_sums")} UNION ALL SELECT * FROM kpi_product) n"""


def _status_code(expr: str) -> str:
    """A status name as the code kpi_snapshot stores (connectors.schema.SNAPSHOT_STATUSES)."""
    return f"CAST(list_position([{', '.join(repr(s) for s in SNAPSHOT_STATUSES)}], {expr}) AS UTINYINT)"


# Streams with records on every working day, so their first day says when the data starts. Event streams
# (maintenance postings, complaints) start with their first event, which says nothing about coverage.
CONTINUOUS = frozenset({"production_record", "equipment_state", "energy_reading", "inventory_snapshot",
                        "planned_time", "labor_time"})


def mixed_kpis() -> dict[str, list[str]]:
    """KPIs pairing monthly ERP data with daily data: id -> the names of their daily elements.

    Such a KPI is wrong in the month its daily data starts (a whole month's cost over part of its output).
    """
    from connectors.schema import STREAMS

    elements = all_elements()

    def monthly(name: str) -> bool:
        tables = {s.split(".")[0] for s in elements[name].source}
        return bool(tables) and all(t in STREAMS and STREAMS[t].time_column == "month_on" for t in tables)

    def continuous(name: str) -> bool:
        return any(s.split(".")[0] in CONTINUOUS for s in elements[name].source)

    out = {}
    for k in all_kpis().values():
        names = sorted(set(k.numerator) | set(k.denominator))
        daily = [n for n in names if not monthly(n) and continuous(n)]
        if k.kind == "ratio" and daily and any(monthly(n) for n in names):
            out[k.id] = daily
    return out


def _data_starts(con: duckdb.DuckDBPyConnection, first: date | None) -> None:
    """Keep element_data_start: the first production day each element has data for each unit.

    Rebuilt by a full compute; an incremental one only adds units and elements seen for the first
    time, or an earlier day (older data loaded late: `since` then reaches back to it).
    """
    con.execute("CREATE TABLE IF NOT EXISTS element_data_start (element VARCHAR, unit_id VARCHAR, first_day DATE)")
    names = sorted(all_elements())
    con.execute("CREATE OR REPLACE TEMP TABLE element_names AS SELECT unnest(?) AS element, "
                "CAST(generate_subscripts(?, 1) - 1 AS INTEGER) AS element_key", [names, names])
    found = """SELECT n.element, u.unit_id, min(e.day) AS first_day FROM element_day e
               JOIN element_names n USING (element_key) JOIN unit_dim u USING (unit_key) GROUP BY ALL"""
    if not first:
        con.execute("DELETE FROM element_data_start")
        con.execute(f"INSERT INTO element_data_start {found}")
        return
    con.execute(f"""CREATE OR REPLACE TEMP TABLE element_found AS {found}""")
    con.execute("""UPDATE element_data_start s SET first_day = f.first_day FROM element_found f
                   WHERE s.element = f.element AND s.unit_id = f.unit_id AND f.first_day < s.first_day""")
    con.execute("""INSERT INTO element_data_start SELECT * FROM element_found f WHERE NOT EXISTS (
                   SELECT 1 FROM element_data_start s WHERE s.element = f.element AND s.unit_id = f.unit_id)""")
    con.execute("DROP TABLE IF EXISTS temp.element_found")


def _mark_partial_months(con: duckdb.DuckDBPyConnection, first: date | None) -> None:
    """A mixed KPI's month in which its daily data starts after the first week is 'partial'.

    Such a month has no value and is kept out of every window. The first week is allowed to be empty
    because a plant may simply not produce then (国庆 is 1-7 October), which is no reason to drop a month.
    A unit's start is the latest of its daily elements' starts, each the earliest over its subtree.
    """
    pairs = [(k, e) for k, names in mixed_kpis().items() for e in names]
    if not pairs:
        return
    con.execute(
        f"""UPDATE kpi_snapshot v SET status = {_status_code("'partial'")}, value = NULL FROM (
            WITH p AS (SELECT unnest($kpis) AS kpi_id, unnest($elements) AS element),
            per_element AS (
                SELECT p.kpi_id, c.ancestor AS unit_id, p.element, min(s.first_day) AS first_day
                FROM p JOIN element_data_start s USING (element) JOIN org_closure c ON c.descendant = s.unit_id
                GROUP BY ALL)
            SELECT k.kpi_key, u.unit_key, max(e.first_day) AS first_day FROM per_element e
            JOIN snapshot_kpi k USING (kpi_id) JOIN unit_dim u USING (unit_id) GROUP BY ALL) d
        WHERE v.grain = 1 AND v.kpi_key = d.kpi_key AND v.unit_key = d.unit_key AND v.status = {_status_code("'ok'")}
          AND d.first_day > v.period_start + INTERVAL ({PARTIAL_AFTER_DAYS}) DAY
          AND d.first_day < v.period_start + INTERVAL 1 MONTH
          AND v.period_start >= COALESCE($first, DATE '0001-01-01')""",
        {"kpis": [k for k, _ in pairs], "elements": [e for _, e in pairs], "first": first})


def shift_horizon(con: duckdb.DuckDBPyConnection, shift_days: int) -> date | None:
    """First production day with shift snapshots: `shift_days` back from the latest production day of MES
    production data (of the other shift data where a site has none: an energy meter exporting ahead of the
    MES must not push the production shifts out of the window)."""
    if shift_days <= 0:
        return None
    production = "SELECT prod_day(max(start_at)) FROM production_record"
    others = " UNION ALL ".join(f"SELECT prod_day(max({column})) AS day FROM {table}"
                                for table, column in RECENT_ONLY.items() if table != "production_record")
    last = con.execute(f"SELECT COALESCE(({production}), (SELECT max(day) FROM ({others})))").fetchall()[0][0]
    return None if last is None else last - timedelta(days=int(shift_days) - 1)


def _shift_pass(con: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame], first: date,
                day_start_minutes: int, shifts: tuple[Shift, ...], now: datetime) -> None:
    """Insert into kpi_shift_snapshot every KPI with a shift grain per unit and shift of the production days from
    `first` on.

    The day pass's statements, run on the KPIs whose elements all exist per shift while prod_day() means
    the shift start: one definition per KPI, so a day's shifts add up to the day. Runs after the day pass
    has written (it replaces the day pass's temp tables), inside the same transaction.
    """
    kpis = all_kpis()
    dim = frames["kpi_dim"]
    keys = [key for key, kpi_id in zip(dim["kpi_key"], dim["kpi_id"]) if kpis[kpi_id].per_shift]
    term = frames["kpi_term"][frames["kpi_term"]["kpi_key"].isin(keys) & frames["kpi_term"]["daily"]]
    component = frames["kpi_component"][frames["kpi_component"]["kpi_key"].isin(keys)]
    _load_frames(con, {"kpi_dim": dim.assign(monthly=False), "kpi_term": term, "kpi_component": component})
    names = sorted(all_elements())
    _bucket_by_shift(con, day_start_minutes, shifts)
    try:
        _elements(con, first, {names[k] for k in set(term["element_key"])})
    finally:
        _bucket_by_day(con, day_start_minutes)
    per_kpi = False  # a few weeks of shifts: one GROUP BY for all KPIs is faster (0.3 s less at 50 M fact rows)
    rest = _roll_up_all(con, term, component, per_kpi)
    con.execute("SET VARIABLE shift_codes = ?", [[s.code for s in shifts]])
    con.execute(
        f"""INSERT INTO kpi_shift_snapshot
        SELECT n.kpi_key, n.unit_key, n.period_start, {shift_code_sql("n.period_start", day_start_minutes, shifts)},
               prod_day(n.period_start), n.value, n.numerator, n.denominator, {_status_code("n.status")}, $now,
               n.last_day, n.n_units, n.n_complete
        FROM {_snapshot_rows(rest, per_kpi)}
        WHERE prod_day(n.period_start) >= $first""",  # the night shift before `first` belongs to the day before
        {"first": first, "now": now})


def _write_shifts(con: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame], shift_from: date | None,
                  horizon: date | None, day_start_minutes: int, shifts: tuple[Shift, ...], now: datetime) -> None:
    """Replace the shift snapshots from `shift_from` on and drop those older than the horizon."""
    if horizon is None:
        con.execute("DELETE FROM kpi_shift_snapshot")
        return
    con.execute("DELETE FROM kpi_shift_snapshot WHERE day < ? OR day >= ?", [horizon, shift_from])
    _shift_pass(con, frames, shift_from, day_start_minutes, shifts, now)


def _write(con: duckdb.DuckDBPyConnection, first: date | None, now: datetime, rest: list[int], per_kpi: bool,
           caps: list[str], then=None) -> int:
    """Replace the snapshots (all, or from `first` on) in one transaction, running `then()` in it last (the shift
    snapshots); returns the snapshot rows written."""
    con.begin()
    try:
        if first:
            con.execute("DELETE FROM kpi_snapshot WHERE period_start >= ?", [first])
        else:
            con.execute("DELETE FROM kpi_snapshot")
        written = con.execute(
            f"""INSERT INTO kpi_snapshot
            SELECT n.kpi_key, n.unit_key, n.grain, n.period_start, n.value, n.numerator, n.denominator,
                   {_status_code("n.status")}, NULL, $now, n.last_day, n.n_units, n.n_complete
            FROM {_snapshot_rows(rest, per_kpi)}""",
            {"now": now},
        ).fetchall()[0][0]
        if caps:
            written += con.execute(f"""INSERT INTO kpi_snapshot SELECT k.kpi_key, u.unit_key,
                CASE c.grain WHEN 'day' THEN 0 ELSE 1 END, c.period_start, c.value, c.numerator, c.denominator,
                {_status_code("c.status")}, c.variant, ?, c.last_day, c.n_units, c.n_complete
                FROM kpi_capability c JOIN snapshot_kpi k USING (kpi_id) JOIN unit_dim u USING (unit_id)""",
                                   [now]).fetchall()[0][0]
            con.execute("DELETE FROM capability_sample WHERE period_start >= ?", [first or date.min])
            con.execute("""INSERT INTO capability_sample SELECT kpi_id, unit_id, period_start, characteristic, lsl, usl,
                n, sum_d, sum_dd FROM capability_group WHERE grain = 'month'""")
        _data_starts(con, first)
        _mark_partial_months(con, first)
        if then:
            then()
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return written


def compute(
    con: duckdb.DuckDBPyConnection, *, day_start_minutes: int = 480, energy_variant: str = "equivalent",
    carbon_series: str = "national",
    now: datetime | None = None, since: date | None = None,
    shifts: tuple[Shift, ...] | None = None, shift_days: int = SHIFT_DAYS, natural_gas: str = "oil_field",
) -> int:
    """Recompute the snapshots (kpi_value) of every KPI, grain and org level, and the shift snapshots
    (kpi_shift_value) of the last `shift_days` production days; returns the number of kpi_value rows written.

    With `since`, only the months from the one containing `since` are recomputed (a load that added
    or corrected recent data); earlier snapshots stay as they are.
    """
    now = now or datetime.now()
    prepare(con, day_start_minutes, energy_variant, carbon_series, shifts, natural_gas)
    first = _reach_back_for_orders(con, since.replace(day=1)) if since else None
    variants = _variants(energy_variant, carbon_series, natural_gas)
    frames = _registry_frames(sorted(all_elements()), variants, _kpi_keys(con, variants))
    try:
        horizon = shift_horizon(con, shift_days)
        # shifts have no month to complete: an incremental compute redoes them from the changed day only
        shift_from = max(horizon, since) if horizon and since else horizon
        _load_frames(con, frames)
        _elements(con, first)
        per_kpi = con.execute("SELECT count(*) FROM element_day").fetchall()[0][0] > PER_KPI_ROWS
        rest = _roll_up_all(con, frames["kpi_term"], frames["kpi_component"], per_kpi)
        caps = [k.id for k in all_kpis().values() if k.kind == "capability"]
        if caps:
            con.execute("CREATE OR REPLACE TEMP TABLE capability_group AS "
                        + " UNION ALL ".join(f"({_capability_groups_sql(c)})" for c in caps), {"first": first})
            con.execute("CREATE OR REPLACE TEMP TABLE kpi_capability AS "
                        + " UNION ALL ".join(f"({_capability_sql(c)})" for c in caps))
        return _write(con, first, now, rest, per_kpi, caps,
                      lambda: _write_shifts(con, frames, shift_from, horizon, day_start_minutes,
                                            shifts or default_shifts(), now))
    finally:
        con.execute("DROP VIEW IF EXISTS temp.kpi_base")
        for temp in _TEMPS:
            con.execute(f"DROP TABLE IF EXISTS temp.{temp}")
