"""The KPI engine: elements once per (unit, production day), then every KPI, grain and level in one pass.

Roll-ups walk the org tree through a closure table and add numerators and denominators; a
product KPI (OEE) multiplies its rolled-up factors; a capability KPI (Cp, Cpk) is a statistic per
characteristic at its lowest level, not rolled up. Nothing here knows about Dash or files.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import pandas as pd

from connectors.schema import LEVELS
from kpis.registry import all_elements, all_kpis

STATUS_PRIORITY = ("error", "not_planned", "insufficient", "no_data", "ok")


def prepare(con: duckdb.DuckDBPyConnection, day_start_minutes: int, energy_variant: str,
            carbon_series: str = "national") -> None:
    """Session macros and variables the element SQL relies on."""
    minutes = int(day_start_minutes)  # an int from validated config; the only value formatted into SQL
    con.execute(f"CREATE OR REPLACE TEMP MACRO prod_day(ts) AS CAST(ts - INTERVAL {minutes} MINUTE AS DATE)")
    con.execute("SET VARIABLE energy_variant = ?", [energy_variant])
    con.execute("SET VARIABLE carbon_series = ?", [carbon_series])
    con.execute(
        """CREATE OR REPLACE TEMP TABLE org_closure AS
        WITH RECURSIVE walk(ancestor, descendant) AS (
            SELECT unit_id, unit_id FROM org_unit
            UNION ALL
            SELECT o.parent_id, w.descendant FROM walk w JOIN org_unit o ON o.unit_id = w.ancestor
            WHERE o.parent_id IS NOT NULL AND o.parent_id <> '')
        SELECT DISTINCT w.ancestor, w.descendant, list_position(?, a.level) AS ancestor_rank
        FROM walk w JOIN org_unit a ON a.unit_id = w.ancestor""",
        [list(LEVELS)],
    )


def _terms() -> pd.DataFrame:
    rows = []
    for k in all_kpis().values():
        if k.kind == "capability":
            continue  # a statistic of its sample, not a sum of elements: see _capability_sql
        for side, combo in (("num", k.numerator), ("den", k.denominator)):
            for el, coef in combo.items():
                for grain in k.grains:
                    rows.append((k.id, side, el, float(coef), grain, LEVELS.index(k.lowest_level) + 1))
    return pd.DataFrame(rows, columns=["kpi_id", "side", "element", "coef", "grain", "lowest_rank"])


def _meta() -> pd.DataFrame:
    return pd.DataFrame(
        [(k.id, k.kind, k.scale, k.zero_denominator, len(k.components), k.min_denominator)
         for k in all_kpis().values()],
        columns=["kpi_id", "kind", "scale", "zero_status", "n_components", "min_den"],
    )


def _components() -> pd.DataFrame:
    rows = [(k.id, c) for k in all_kpis().values() for c in k.components]
    return pd.DataFrame(rows, columns=["kpi_id", "component_id"])


def _variants(energy_variant: str, carbon_series: str) -> dict[str, str]:
    """Which coefficient set produced each energy or carbon KPI, stored with every snapshot."""
    out = {}
    for k in all_kpis().values():
        parts = []
        if "energy_kgce" in k.elements:
            parts.append(f"electricity={energy_variant}")
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
    return list(RECENT_ONLY)


def element_sql() -> str:
    """One UNION ALL of every element's SQL, tagged with the element name."""
    parts = [
        f"SELECT '{name}' AS element, unit_id, day, value FROM ({e.sql})"
        for name, e in sorted(all_elements().items())
    ]
    return "\nUNION ALL\n".join(parts)


def _capability_sql(kpi_id: str) -> str:
    """Snapshots of one capability KPI: per unit at its lowest level, characteristic by characteristic.

    Each characteristic (name and limits) gets its own n, mean and overall sample deviation; the unit
    shows its least capable characteristic, named in `variant`. Units above are 'not_applicable'.
    """
    k = all_kpis()[kpi_id]
    sample = all_elements()[next(iter(k.denominator))].sample_sql
    rank = LEVELS.index(k.lowest_level) + 1
    stat = ("(usl - lsl) / (6 * sd)" if k.capability == "cp"
            else "least((usl - ref) - mean_d, mean_d - (lsl - ref)) / (3 * sd)")
    start = {"day": "day", "month": "date_trunc('month', day)"}
    periods = " UNION ALL ".join(f"SELECT '{g}' AS grain, {start[g]} AS period_start, * FROM s" for g in k.grains)
    return f"""
        WITH s AS (SELECT * FROM ({sample}) WHERE $first IS NULL OR day >= $first),
        per_group AS (
            SELECT p.grain, c.ancestor AS unit_id, p.period_start, p.characteristic, p.lsl, p.usl,
                   SUM(p.n) AS n, SUM(p.sum_d) AS sum_d, SUM(p.sum_dd) AS sum_dd, max(p.day) AS last_day
            FROM ({periods}) p JOIN org_closure c ON c.descendant = p.unit_id
            WHERE c.ancestor_rank = {rank} GROUP BY ALL),
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


def compute(
    con: duckdb.DuckDBPyConnection, *, day_start_minutes: int = 480, energy_variant: str = "equivalent",
    carbon_series: str = "national",
    now: datetime | None = None, since: date | None = None,
) -> int:
    """Recompute kpi_value for every KPI, grain and org level; returns the number of snapshot rows written.

    With `since`, only the months from the one containing `since` are recomputed (a load that added
    or corrected recent data); earlier snapshots stay as they are.
    """
    now = now or datetime.now()
    prepare(con, day_start_minutes, energy_variant, carbon_series)
    first = since.replace(day=1) if since else None
    where = " WHERE day >= $first" if first else ""
    shadowed = _shadow_recent(con, first) if first else []
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE element_day AS SELECT * FROM ({element_sql()}){where}",
                    {"first": first} if first else None)
    finally:
        for name in shadowed:
            con.execute(f"DROP VIEW IF EXISTS temp.{name}")
    con.register("kpi_term_df", _terms())
    con.register("kpi_meta_df", _meta())
    con.register("kpi_component_df", _components())
    try:
        # Step 1: numerator and denominator per unit at the KPI's lowest level. A unit counts only
        # when both sides have data there, so a plant without a cost export cannot pull the
        # enterprise's unit cost down by adding its output to the denominator alone.
        con.execute(
            """CREATE OR REPLACE TEMP TABLE element_at AS
            WITH g AS (
                SELECT 'day' AS grain, element, unit_id, day AS period_start, value, day AS last_day
                FROM element_day
                UNION ALL  -- months from element sums, not from days x terms: 30x fewer rows to join
                SELECT 'month', element, unit_id, date_trunc('month', day), SUM(value), max(day)
                FROM element_day GROUP BY ALL)
            SELECT g.grain, g.element, c.ancestor AS unit_id, c.ancestor_rank AS rank, g.period_start,
                   SUM(g.value) AS value, count(*) AS n, max(g.last_day) AS last_day
            FROM g JOIN org_closure c ON c.descendant = g.unit_id
            WHERE c.ancestor_rank IN (SELECT DISTINCT lowest_rank FROM kpi_term_df)
            GROUP BY ALL"""
        )
        con.execute(
            """CREATE OR REPLACE TEMP TABLE kpi_base AS
            SELECT t.kpi_id, a.unit_id, a.grain, a.period_start,
                   SUM(CASE WHEN t.side = 'num' THEN t.coef * a.value END) AS numerator,
                   SUM(CASE WHEN t.side = 'num' THEN a.n ELSE 0 END) AS n_num,
                   SUM(CASE WHEN t.side = 'den' THEN t.coef * a.value END) AS denominator,
                   SUM(CASE WHEN t.side = 'den' THEN a.n ELSE 0 END) AS n_den,
                   max(a.last_day) AS last_day
            FROM element_at a
            JOIN kpi_term_df t ON t.element = a.element AND t.grain = a.grain AND t.lowest_rank = a.rank
            GROUP BY ALL"""
        )
        # Step 2: roll complete units up the tree by adding their numerators and denominators.
        con.execute(
            """CREATE OR REPLACE TEMP TABLE kpi_sums AS
            WITH flagged AS (
                SELECT b.*, CASE WHEN m.kind = 'sum' THEN b.n_num > 0 ELSE b.n_num > 0 AND b.n_den > 0 END AS complete
                FROM kpi_base b JOIN kpi_meta_df m USING (kpi_id))
            SELECT f.kpi_id, c.ancestor AS unit_id, f.grain, f.period_start,
                   SUM(f.numerator) FILTER (WHERE f.complete) AS numerator,
                   COALESCE(SUM(f.n_num) FILTER (WHERE f.complete), 0) AS n_num,
                   SUM(f.denominator) FILTER (WHERE f.complete) AS denominator,
                   COALESCE(SUM(f.n_den) FILTER (WHERE f.complete), 0) AS n_den,
                   count(*) AS n_units, count(*) FILTER (WHERE f.complete) AS n_complete,
                   max(f.last_day) AS last_day,
                   bool_or(f.n_den > 0) AS any_den, SUM(f.denominator) AS raw_denominator
            FROM flagged f JOIN org_closure c ON c.descendant = f.unit_id
            GROUP BY ALL"""
        )
        con.execute(
            """CREATE OR REPLACE TEMP TABLE kpi_new AS
            SELECT s.kpi_id, s.unit_id, s.grain, s.period_start,
                CASE WHEN m.kind = 'sum' THEN s.numerator
                     WHEN s.n_num > 0 AND s.n_den > 0 AND s.denominator <> 0 AND s.denominator >= m.min_den
                     THEN m.scale * s.numerator / s.denominator END AS value,
                s.numerator, CASE WHEN m.kind = 'ratio' THEN s.denominator END AS denominator,
                CASE WHEN m.kind = 'sum' THEN CASE WHEN s.n_complete = 0 THEN 'no_data' ELSE 'ok' END
                     WHEN s.n_complete = 0 AND s.any_den AND s.raw_denominator = 0 THEN m.zero_status
                     WHEN s.n_complete = 0 THEN 'no_data'
                     WHEN s.denominator = 0 THEN m.zero_status  -- e.g. PBT = 0 is 'not planned'
                     WHEN s.denominator < m.min_den THEN 'insufficient'
                     ELSE 'ok' END AS status,
                s.last_day, s.n_units, s.n_complete
            FROM kpi_sums s JOIN kpi_meta_df m USING (kpi_id)"""
        )
        con.execute(
            """INSERT INTO kpi_new
            SELECT p.kpi_id, n.unit_id, n.grain, n.period_start,
                CASE WHEN count(*) = any_value(m.n_components) AND bool_and(n.status = 'ok')
                     THEN any_value(m.scale) * product(n.value) END,
                NULL, NULL,
                CASE WHEN count(*) < any_value(m.n_components) THEN 'no_data'
                     ELSE arg_min(n.status, list_position(?, n.status)) END,
                max(n.last_day), min(n.n_units), min(n.n_complete)
            FROM kpi_new n
            JOIN kpi_component_df p ON p.component_id = n.kpi_id
            JOIN kpi_meta_df m ON m.kpi_id = p.kpi_id
            GROUP BY p.kpi_id, n.unit_id, n.grain, n.period_start""",
            [list(STATUS_PRIORITY)],
        )
        caps = [k.id for k in all_kpis().values() if k.kind == "capability"]
        if caps:
            con.execute("CREATE OR REPLACE TEMP TABLE kpi_capability AS "
                        + " UNION ALL ".join(f"({_capability_sql(c)})" for c in caps), {"first": first})
        variants = _variants(energy_variant, carbon_series)
        con.begin()
        if first:
            con.execute("DELETE FROM kpi_value WHERE period_start >= ?", [first])
        else:
            con.execute("DELETE FROM kpi_value")
        con.execute(
            """INSERT INTO kpi_value
            SELECT kpi_id, unit_id, grain, period_start, value, numerator, denominator, status,
                   map_extract(map(?, ?), kpi_id)[1], ?, CAST(last_day AS TIMESTAMP),
                   n_units, n_complete
            FROM kpi_new""",
            [list(variants), list(variants.values()), now],
        )
        if caps:
            con.execute("""INSERT INTO kpi_value SELECT kpi_id, unit_id, grain, period_start, value, numerator,
                denominator, status, variant, ?, CAST(last_day AS TIMESTAMP), n_units, n_complete
                FROM kpi_capability""", [now])
        written = sum(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                      for t in ("kpi_new", *(["kpi_capability"] if caps else [])))
        con.commit()
        return written
    finally:
        for name in ("kpi_term_df", "kpi_meta_df", "kpi_component_df"):
            con.unregister(name)
        for temp in ("element_day", "element_at", "kpi_base", "kpi_sums", "kpi_new", "kpi_capability"):
            con.execute(f"DROP TABLE IF EXISTS temp.{temp}")
