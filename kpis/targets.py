"""Targets and thresholds: a status (good, warn, bad) that respects each KPI's direction.

Targets come from the editable `kpi_target` table (per KPI, unit and the date they apply from).
Without one, an outcome KPI falls back to its default: the baseline improved by the MIIT 2015
pilot targets (cost −20 %, efficiency +20 %, defects −10 %, energy −10 %), and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from kpis.registry import Kpi


@dataclass(frozen=True)
class Target:
    target: float
    warn: float
    source: str  # "configured" or "default"


def effective(k: Kpi, unit_id: str, period_start: date, targets: pd.DataFrame, baseline: float | None) -> Target | None:
    """The target in force for a unit and period: the newest configured row, else the default."""
    if len(targets):
        rows = targets[(targets["kpi_id"] == k.id) & (targets["unit_id"] == unit_id)
                       & (pd.to_datetime(targets["valid_from"]) <= pd.Timestamp(period_start))]
        if len(rows):
            row = rows.sort_values("valid_from").iloc[-1]
            warn = row["warn"] if pd.notna(row["warn"]) else row["target"]
            return Target(float(row["target"]), float(warn), "configured")
    if k.default_target_pct is None or baseline is None:
        return None
    sign = -1 if k.direction == "lower" else 1
    target = baseline * (1 + sign * k.default_target_pct / 100)
    return Target(target, (target + baseline) / 2, "default")


def status(k: Kpi, value: float | None, t: Target | None) -> str | None:
    """good when the target is met, warn when the warning threshold is, else bad; None without either."""
    if value is None or t is None:
        return None
    better = (lambda a, b: a <= b) if k.direction == "lower" else (lambda a, b: a >= b)
    if better(value, t.target):
        return "good"
    return "warn" if better(value, t.warn) else "bad"
