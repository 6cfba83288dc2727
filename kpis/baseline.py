"""Frozen baselines: computed once, then kept; later corrections to the baseline months are flagged.

A baseline that moved silently would move every improvement figure on the wall; refreezing is
a deliberate act (`cockpit baseline --refreeze`).
"""

from __future__ import annotations

import math
from datetime import datetime

import duckdb
import pandas as pd

from kpis.periods import Window
from kpis.windows import window_values


def monthly_values(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(
        "SELECT kpi_id, unit_id, period_start, value, numerator, denominator, status, n_units, n_complete "
        "FROM kpi_value WHERE grain = 'month'"
    ).df()


def capability_samples(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute("SELECT * FROM capability_sample").df()


def _differs(a: float | None, b: float | None) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
        return (a is None) != (b is None)
    return not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def freeze(con: duckdb.DuckDBPyConnection, window: Window, now: datetime, refreeze: bool = False) -> dict[str, int]:
    """Freeze baselines not frozen yet (or all, on refreeze), and those frozen without a value that now have one;
    flag late corrections. Returns counts."""
    current = window_values(monthly_values(con), window, capability_samples(con))
    frozen = {
        (r[0], r[1]): r for r in con.execute(
            "SELECT kpi_id, unit_id, value, period_from, period_to FROM kpi_baseline").fetchall()
    }
    counts = {"frozen": 0, "filled": 0, "kept": 0, "late_corrections": 0}
    con.begin()
    try:
        if refreeze:
            con.execute("DELETE FROM kpi_baseline")
            frozen = {}
        for row in current.itertuples(index=False):
            value = None if row.value is None or pd.isna(row.value) else float(row.value)
            old = frozen.get((row.kpi_id, row.unit_id))
            same_period = old is not None and old[3] == window.first and old[4] == window.last
            if not same_period:
                con.execute(
                    "INSERT OR REPLACE INTO kpi_baseline VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, false)",
                    [row.kpi_id, row.unit_id, window.first, window.last, value,
                     None if pd.isna(row.numerator) else row.numerator,
                     None if pd.isna(row.denominator) else row.denominator, row.status, now, value],
                )
                counts["frozen"] += 1
            elif old[2] is None and value is not None:
                # Never computed before (its export was connected later, or the KPI could not be computed over
                # months yet): this is the first computed value, so it is frozen now, not a correction.
                con.execute(
                    "UPDATE kpi_baseline SET value = ?, numerator = ?, denominator = ?, status = ?, frozen_at = ?, "
                    "recomputed_value = ?, late_correction = false WHERE kpi_id = ? AND unit_id = ?",
                    [value, None if pd.isna(row.numerator) else row.numerator,
                     None if pd.isna(row.denominator) else row.denominator, row.status, now, value,
                     row.kpi_id, row.unit_id])
                counts["filled"] += 1
            else:
                late = _differs(old[2], value)
                con.execute(
                    "UPDATE kpi_baseline SET recomputed_value = ?, late_correction = ? WHERE kpi_id = ? AND unit_id = ?",
                    [value, late, row.kpi_id, row.unit_id],
                )
                counts["kept"] += 1
                counts["late_corrections"] += int(late)
        con.commit()
    except Exception:
        con.rollback()
        raise
    return counts
