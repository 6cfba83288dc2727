"""Targets and thresholds: a status (good, warn, bad) that respects each KPI's direction.

Targets come from the editable `kpi_target` table (per KPI, unit and the date they apply from).
Without one, an outcome KPI falls back to its default: the baseline improved by the MIIT 2015
pilot targets (cost −20 %, efficiency +20 %, defects −10 %, energy −10 %), and says so.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

import pandas as pd

from kpis.registry import Kpi

COLUMNS = ("kpi_id", "unit_id", "valid_from", "target", "warn", "note")
ALWAYS = date(2000, 1, 1)  # valid_from of a row that names none: in force for every period


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


def _number(value, what: str, i: int) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(str(value).strip().replace(",", ""))
    except ValueError:
        raise ValueError(f"target row {i}: {what} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"target row {i}: {what} {value!r} is not a finite number")
    return number


def clean_rows(rows: Iterable[Mapping], kpis: Mapping[str, Kpi], units: set[str]) -> list[tuple]:
    """Target rows as stored (kpi_id, unit_id, valid_from, target, warn, note), or ValueError naming the row.

    One check for every way targets arrive (CSV import, the admin table), so neither can store a
    target the status logic would misread: the warning threshold must lie on the worse side.
    """
    clean, seen = [], {}
    for i, row in enumerate(rows, 1):
        k = kpis.get(str(row.get("kpi_id") or "").strip())
        if k is None:
            raise ValueError(f"target row {i}: unknown KPI {row.get('kpi_id')!r}")
        unit = str(row.get("unit_id") or "").strip()
        if unit not in units:
            raise ValueError(f"target row {i}: unknown org unit {row.get('unit_id')!r}")
        target = _number(row.get("target"), "target", i)
        if target is None:
            raise ValueError(f"target row {i}: no target value")
        warn = _number(row.get("warn"), "warning threshold", i)
        warn = target if warn is None else warn
        if (k.direction == "lower" and warn < target) or (k.direction == "higher" and warn > target):
            raise ValueError(f"target row {i}: the warning threshold {warn:g} must be on the worse side of "
                             f"the target {target:g} ({k.direction} is better for {k.id})")
        text = str(row.get("valid_from") or "").strip()[:10]
        try:
            valid_from = date.fromisoformat(text) if text else ALWAYS
        except ValueError:
            raise ValueError(f"target row {i}: valid_from {row.get('valid_from')!r} is not a date (YYYY-MM-DD)") from None
        key = (k.id, unit, valid_from)
        if key in seen:
            raise ValueError(f"target row {i}: {k.id} for {unit} from {valid_from} is already row {seen[key]}")
        seen[key] = i
        note = str(row.get("note") or "").strip() or None
        clean.append((k.id, unit, valid_from, target, warn, note))
    return clean


def as_text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, (int, float)):
        return repr(float(value))
    if hasattr(value, "isoformat"):  # date, datetime, pandas Timestamp: the day is what is stored
        return value.isoformat()[:10]
    return str(value)


def fingerprint(rows: Iterable[Iterable]) -> str:
    """A hash of stored target rows, so an editor can tell the table changed since it was read.

    Rows read from the store and from the published copy (through pandas) hash alike.
    """
    normal = sorted([as_text(v) for v in r] for r in rows)
    return hashlib.sha256(json.dumps(normal, ensure_ascii=False).encode()).hexdigest()[:16]
