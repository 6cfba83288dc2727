"""KPI values over a window of months, rolled up from the monthly numerators and denominators.

Capability KPIs (Cp, Cpk, Cm, Cmk) are statistics of a sample, never means of monthly values: a longer
window pools each characteristic's n, Σd and Σd² of its months (capability_sample) and computes the
statistic again.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpis.engine import STATUS_PRIORITY
from kpis.periods import Window
from kpis.registry import all_kpis

COLUMNS = ["kpi_id", "unit_id", "value", "numerator", "denominator", "status", "months", "coverage"]


def pooled_capability(k, samples: pd.DataFrame) -> tuple[float | None, float | None, str]:
    """(value, n, status) of a capability KPI over several months' samples of one unit.

    The engine's statistic (kpis.engine._capability_sql) on the pooled sums: per characteristic and limits
    n, mean and overall sample deviation; the unit shows its least capable characteristic.
    """
    if samples.empty:
        return None, None, "no_data"
    g = samples.groupby(["characteristic", "lsl", "usl"], dropna=False)[["n", "sum_d", "sum_dd"]].sum().reset_index()
    n = g["n"].astype(float)
    lsl, usl = g["lsl"].astype(float), g["usl"].astype(float)
    ref = ((lsl + usl) / 2).fillna(lsl).fillna(usl)
    mean_d = g["sum_d"] / n
    sd = np.sqrt(np.maximum(g["sum_dd"] - g["sum_d"] ** 2 / n, 0) / (n - 1)).where(n > 1)
    enough = (n >= k.min_denominator) & (sd > 0)
    if k.capability == "cp":
        cap = (usl - lsl) / (6 * sd)
    else:  # the nearer limit; a one-sided characteristic has one (np.fmin skips the missing side, like least())
        cap = np.fmin((usl - ref) - mean_d, mean_d - (lsl - ref)) / (3 * sd)
    cap = cap.where(enough)
    if cap.notna().any():
        i = cap.idxmin()
        return float(cap[i]), float(n[i]), "ok"
    return None, float(n.max()), "not_applicable" if enough.any() else "insufficient"


def window_values(monthly: pd.DataFrame, window: Window, samples: pd.DataFrame | None = None) -> pd.DataFrame:
    """`monthly`: kpi_value rows of grain 'month'; `samples`: capability_sample rows (for capability KPIs over
    more than a month). Returns one row per (kpi_id, unit_id) seen in the window."""
    kpis = all_kpis()
    rows = monthly[(monthly["period_start"] >= pd.Timestamp(window.first))
                   & (monthly["period_start"] <= pd.Timestamp(window.last))]
    if samples is not None:
        samples = samples[(pd.to_datetime(samples["period_start"]) >= pd.Timestamp(window.first))
                          & (pd.to_datetime(samples["period_start"]) <= pd.Timestamp(window.last))]
    out: dict[tuple[str, str], dict] = {}
    for (kpi_id, unit_id), g in rows.groupby(["kpi_id", "unit_id"], sort=False):
        k = kpis.get(kpi_id)
        if k is None or k.kind == "product":
            continue
        # A partial month (its daily data starts inside the month, its monthly data covers all of it)
        # would pair a whole month's cost with part of its output: it is left out of every window.
        has = g[~g["status"].isin(("no_data", "partial"))]
        num = has["numerator"].sum() if len(has) else None
        den = has["denominator"].sum() if (len(has) and k.kind == "ratio") else None
        if not len(has):
            value, status = None, "no_data"
        elif k.kind == "capability":
            # A statistic of a sample: one month's snapshot, or the months' pooled samples; averaging
            # monthly Cpk would be wrong. Units above the KPI's level stay 'not_applicable'.
            num = None
            if len(window.months()) == 1:
                row = has.iloc[0]
                den, status = row["denominator"], row["status"]
                value = row["value"] if status == "ok" else None
            elif samples is not None and (has["status"] != "not_applicable").any():
                mine = samples[(samples["kpi_id"] == kpi_id) & (samples["unit_id"] == unit_id)]
                value, den, status = pooled_capability(k, mine)
            else:
                value, den, status = None, None, "not_applicable"
        elif k.kind == "sum":
            # a total over the window; its denominator is the months it covers, so totals over windows of
            # different lengths (a report month against a 12-month baseline) compare per month
            value, den, status = num, float(len(has)), "ok"
        elif den == 0:
            value, status = None, k.zero_denominator
        elif den < k.min_denominator:
            value, status = None, "insufficient"
        else:
            value, status = k.scale * num / den, "ok"
        coverage = None
        if "n_units" in g and g["n_units"].notna().any() and g["n_units"].sum() > 0:
            coverage = float(g["n_complete"].sum() / g["n_units"].sum())
        out[(kpi_id, unit_id)] = dict(value=value, numerator=num, denominator=den, status=status, months=len(has),
                                      coverage=coverage)
    for k in kpis.values():
        if k.kind != "product":
            continue
        units = {u for (kid, u) in out if kid in k.components}
        for unit_id in units:
            parts = [out.get((c, unit_id)) for c in k.components]
            if any(p is None for p in parts):
                value, status = None, "no_data"
            elif all(p["status"] == "ok" for p in parts):
                value, status = k.scale, "ok"
                for p in parts:
                    value *= p["value"]
            else:
                value = None
                status = min((p["status"] for p in parts), key=STATUS_PRIORITY.index)
            months = min((p["months"] for p in parts if p), default=0)
            covered = [p["coverage"] for p in parts if p and p.get("coverage") is not None]
            out[(k.id, unit_id)] = dict(value=value, numerator=None, denominator=None, status=status, months=months,
                                        coverage=min(covered) if covered else None)
    return pd.DataFrame([{"kpi_id": kid, "unit_id": u, **v} for (kid, u), v in out.items()], columns=COLUMNS)


def compare(direction: str, baseline: float | None, report: float | None) -> tuple[float | None, float | None]:
    """(change_pct, improvement_pct): raw movement, and the 降低率 / 提升率 where positive is better."""
    if baseline is None or report is None or baseline == 0:
        return None, None
    change = (report - baseline) / abs(baseline) * 100
    return change, (-change if direction == "lower" else change)


REGRAIN = {"week": "W-SUN", "quarter": "QS", "year": "YS"}


def regrain(rows: pd.DataFrame, grain: str, samples: pd.DataFrame | None = None) -> pd.DataFrame:
    """Week, quarter or year values of one unit's KPIs from day (week) or month (quarter, year) snapshots.

    Each bucket is rolled up like any window: Σ numerator / Σ denominator, products of rolled factors.
    """
    if rows.empty:
        return pd.DataFrame(columns=["period_start", *COLUMNS])
    starts = pd.to_datetime(rows["period_start"])
    if grain == "week":
        bucket = (starts - pd.to_timedelta(starts.dt.day_of_week, unit="D")).dt.normalize()  # weeks start Monday
    elif grain == "quarter":
        bucket = starts.dt.to_period("Q").dt.start_time
    elif grain == "year":
        bucket = starts.dt.to_period("Y").dt.start_time
    else:
        raise ValueError(f"grain must be week, quarter or year, not {grain}")
    out = []
    for first, part in rows.assign(period_start=starts).groupby(bucket):
        values = window_values(part, Window(first.date(), part["period_start"].max().date()), samples)
        out.append(values.assign(period_start=first))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=["period_start", *COLUMNS])
