"""Read-only access to the published serving file: the only way pages and `cockpit kpis` get numbers."""

from __future__ import annotations

import os
import threading
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from connectors.schema import LEVELS
from kpis import targets
from kpis.periods import Window, baseline_window, report_window
from kpis.reference import GAS_TABLES, GAS_VARIANTS, NCV_VARIANT
from kpis.registry import all_kpis
from kpis.windows import compare, regrain, window_values


class NotPublished(Exception):
    """Nothing has been published yet (first build still running, or no scheduler)."""


class Serving:
    """Attaches the serving file read-only and re-attaches after the writer swaps in a new one."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._stamp: tuple[int, int] | None = None
        self._cache: dict = {}

    def _connection(self) -> duckdb.DuckDBPyConnection:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            raise NotPublished(str(self.path)) from None
        stamp = (st.st_ino, st.st_mtime_ns)
        with self._lock:
            if stamp != self._stamp:
                # Never close the old connection here: other threads may still run queries on its
                # cursors (DuckDB refuses close() while busy). It is freed when the last query drops it.
                con = duckdb.connect(":memory:")
                con.execute("ATTACH ? AS srv (READ_ONLY)", [str(self.path)])
                con.execute("USE srv")
                self._con, self._stamp, self._cache = con, stamp, {}
            return self._con

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        con = self._connection()  # held until the query ends, so a swap on another thread cannot free it
        cur = con.cursor()  # a cursor per call: Dash serves callbacks from several threads
        try:
            cur.execute("USE srv")
            return cur.execute(sql, params or []).df()
        finally:
            cur.close()

    def cached(self, key, build):
        self._connection()
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    # --- what the pages and the CLI ask ---

    def meta(self) -> dict[str, str | None]:
        return self.cached("meta", lambda: {
            k: (None if v is None or pd.isna(v) else v)
            for k, v in self.query("SELECT key, value FROM meta").itertuples(index=False)})

    def version(self) -> str:
        return self.meta().get("version") or "0"

    def org_units(self) -> pd.DataFrame:
        return self.cached("org", lambda: self.query("SELECT * FROM org_unit ORDER BY sort_order, unit_id"))

    def enterprise_id(self) -> str | None:
        org = self.org_units()
        top = org[org["level"] == "enterprise"]
        return None if top.empty else str(top.iloc[0]["unit_id"])

    def children(self, unit_id: str) -> pd.DataFrame:
        org = self.org_units()
        return org[org["parent_id"] == unit_id]

    def monthly(self) -> pd.DataFrame:
        return self.cached("monthly", lambda: self.query(
            "SELECT kpi_id, unit_id, period_start, value, numerator, denominator, status, n_units, n_complete "
            "FROM kpi_value WHERE grain = 'month'"))

    def capability_samples(self, unit_id: str) -> pd.DataFrame:
        """One unit's monthly capability samples, for Cp/Cpk over windows longer than a month."""
        samples = self.cached("capability_samples", lambda: self._newer_table(
            "SELECT * FROM capability_sample", [], ["kpi_id", "unit_id", "period_start", "characteristic", "lsl",
                                                    "usl", "n", "sum_d", "sum_dd"]))
        return samples[samples["unit_id"] == unit_id]

    def series(self, kpi_id: str, unit_id: str, grain: str, since: date | None = None) -> pd.DataFrame:
        """A KPI's values over time; week, quarter and year are rolled up from day and month snapshots."""
        if grain in ("week", "quarter", "year"):
            base = "day" if grain == "week" else "month"
            kpi = all_kpis()[kpi_id]
            ids = [kpi_id, *kpi.components]
            rows = self.query(
                "SELECT kpi_id, unit_id, period_start, value, numerator, denominator, status FROM kpi_value "
                "WHERE kpi_id IN (SELECT unnest(?)) AND unit_id = ? AND grain = ?", [ids, unit_id, base])
            out = regrain(rows, grain, self.capability_samples(unit_id) if kpi.kind == "capability" else None)
            out = out[out["kpi_id"] == kpi_id].sort_values("period_start")
            if since:
                out = out[out["period_start"] >= pd.Timestamp(since)]
            return out[["period_start", "value", "status", "numerator", "denominator"]].reset_index(drop=True)
        if grain == "shift":
            return self._shifts(kpi_id, unit_id, since)
        return self._series(kpi_id, unit_id, grain, since)

    def _shifts(self, kpi_id: str, unit_id: str, since: date | None = None) -> pd.DataFrame:
        """Shift values of the recent production days (plant.shift_history_days), oldest first."""
        sql = ("SELECT shift_start AS period_start, value, status, numerator, denominator, shift_code, day "
               "FROM kpi_shift_value WHERE kpi_id = ? AND unit_id = ?")
        params: list = [kpi_id, unit_id]
        if since:
            sql += " AND day >= ?"
            params.append(since)
        return self._newer_table(sql + " ORDER BY shift_start", params, ["period_start", "value", "status",
                                                                         "numerator", "denominator", "shift_code", "day"])

    def _newer_table(self, sql: str, params: list, columns: list[str]) -> pd.DataFrame:
        """A query on a table newer releases publish: empty on a serving file published before it existed."""
        try:
            return self.query(sql, params)
        except duckdb.CatalogException:
            return pd.DataFrame(columns=columns)

    def _series(self, kpi_id: str, unit_id: str, grain: str, since: date | None = None) -> pd.DataFrame:
        sql = ("SELECT period_start, value, status, numerator, denominator FROM kpi_value "
               "WHERE kpi_id = ? AND unit_id = ? AND grain = ?")
        params: list = [kpi_id, unit_id, grain]
        if since:
            sql += " AND period_start >= ?"
            params.append(since)
        return self.query(sql + " ORDER BY period_start", params)

    def sources(self) -> pd.DataFrame:
        """Per connector state as of the last publish; read once per published file (the wall asks twice a refresh)."""
        return self.cached("sources", lambda: self.query("SELECT * FROM source_status ORDER BY system, connector"))

    def runs(self, limit: int = 200) -> pd.DataFrame:
        return self.query("SELECT * FROM load_run ORDER BY run_id DESC LIMIT ?", [limit])

    def baselines(self) -> pd.DataFrame:
        return self.cached("baselines", lambda: self.query("SELECT * FROM kpi_baseline"))

    def windows(self, kind: str) -> tuple[Window, Window] | None:
        meta = self.meta()
        if not meta.get("anchor_month"):
            return None
        anchor = date.fromisoformat(meta["anchor_month"])
        configured = Window(date.fromisoformat(meta["baseline_from"]), date.fromisoformat(meta["baseline_to"]))
        return report_window(kind, anchor), baseline_window(kind, anchor, configured, None)

    def comparison(self, kind: str = "month", unit_id: str | None = None, kpi_ids: list[str] | None = None) -> dict:
        """The `cockpit kpis --json` document (ARCHITECTURE.md): report vs baseline per KPI for one unit."""
        return self.cached(("comparison", kind, unit_id, tuple(kpi_ids or ())), lambda: self._comparison(kind, unit_id, kpi_ids))

    def _comparison(self, kind, unit_id, kpi_ids) -> dict:
        meta = self.meta()
        unit_id = unit_id or self.enterprise_id()
        windows = self.windows(kind)
        kpis = all_kpis()
        ids = kpi_ids or [k for k, v in kpis.items() if v.kind != "sum"]
        doc = {"as_of": meta.get("last_data_day"), "published_at": meta.get("published_at"),
               "unit_id": unit_id, "baseline": None, "report": None, "kpis": []}
        level = self._level(unit_id)
        if windows is None:
            rep_vals = base_vals = pd.DataFrame(columns=["kpi_id", "unit_id", "value", "status"])
        else:
            report, base = windows
            doc["report"] = {"from": report.first.isoformat(), "to": report.last.isoformat(), "kind": kind}
            doc["baseline"] = {"from": base.first.isoformat(), "to": base.last.isoformat()}
            monthly = self.monthly()
            monthly = monthly[monthly["unit_id"] == unit_id]
            samples = self.capability_samples(unit_id)
            rep_vals = window_values(monthly, report, samples)
            base_vals = window_values(monthly, base, samples) if kind == "yoy" else self._frozen(unit_id)
        for kpi_id in ids:
            k = kpis[kpi_id]
            rep = _pick(rep_vals, kpi_id)
            base = _pick(base_vals, kpi_id)
            status = rep["status"] if rep else "no_data"
            if level is not None and not k.applies_to(level):
                status = "not_applicable"
            rv = rep["value"] if rep and status == "ok" else None
            bv = base["value"] if base and base["status"] == "ok" else None
            per_month = None
            if k.kind == "sum" and bv is not None and windows is not None:
                # A total (tCO2, tce) of a report month against a 12-month baseline total: compare per month, and
                # state the baseline for a period as long as the report's
                per_month = bv / _months(base, windows[1])
                if rv is not None:
                    bv = per_month * _months(rep, windows[0])
            change, improvement = compare(k.direction, bv, rv)
            target = None
            if doc["report"]:
                target = targets.effective(k, unit_id, date.fromisoformat(doc["report"]["from"]), self.targets(),
                                           _num(base["value"]) if base and base["status"] == "ok" else None)
            doc["kpis"].append({
                "id": k.id, "name_zh": k.name_zh, "name_en": k.name_en, "unit": k.unit, "direction": k.direction,
                "unit_id": unit_id, "baseline": _num(bv), "report": _num(rv),
                "change_pct": _num(change), "improvement_pct": _num(improvement), "status": status,
                "baseline_status": base["status"] if base else "no_data",
                "baseline_per_month": _num(per_month),
                "late_correction": bool(base.get("late_correction")) if base else False,
                "coverage": _num(rep.get("coverage")) if rep else None,
                "target": target.target if target else None, "target_warn": target.warn if target else None,
                "target_source": target.source if target else None,
                "target_status": targets.status(k, _num(rv), target),
                "group": k.group, "variant": self.variant(k.id),
            })
        return doc

    def variant(self, kpi_id: str) -> str | None:
        """The coefficient set the engine stored with a KPI's snapshots (`electricity=equivalent;carbon=national`)."""
        variants = self.cached("variants", lambda: dict(
            self.query("SELECT kpi_id, variant FROM snapshot_kpi WHERE variant IS NOT NULL").itertuples(index=False)))
        return variants.get(kpi_id)

    def coefficients(self, kpi_id: str, on: date) -> list[dict]:
        """The coefficients and factors behind an energy or carbon KPI for a period starting `on`.

        Only media the plant meters; a carbon factor is the one the engine takes for that year (the
        latest published year at or before it), so a page can say "2023 factor used for 2025".
        """
        parts = dict(p.split("=", 1) for p in (self.variant(kpi_id) or "").split(";") if "=" in p)
        if not parts:
            return []
        k = all_kpis()[kpi_id]
        out: list[dict] = []
        try:
            if "electricity" in parts and "energy_kgce" in k.elements:
                gas = GAS_TABLES[next((g for g, v in GAS_VARIANTS.items() if v == parts.get("natural_gas")), "oil_field")]
                rows = self.query(
                    "SELECT c.medium, c.uom, c.variant, c.kgce_per_unit, c.source FROM energy_coefficient c "
                    "WHERE c.medium IN (SELECT medium FROM meter) AND c.variant = CASE c.medium "
                    "WHEN 'electricity' THEN ? WHEN 'natural_gas' THEN ? ELSE 'default' END "
                    "OR (c.variant = ? AND c.medium = 'natural_gas' AND c.medium IN (SELECT medium FROM meter)) "
                    "ORDER BY c.medium, c.variant",
                    [parts["electricity"], gas, NCV_VARIANT])
                out += [{"kind": "energy", "medium": r.medium, "uom": r.uom, "variant": r.variant,
                         "value": float(r.kgce_per_unit), "source": r.source} for r in rows.itertuples(index=False)]
            scopes = [s for s, e in ((1, "co2_scope1_kg"), (2, "co2_scope2_kg")) if e in k.elements]
            if "carbon" in parts and scopes:
                rows = self.query(
                    "SELECT medium, uom, year, scope, kgco2_per_unit, source FROM carbon_factor "
                    "WHERE series = ? AND year <= ? AND medium IN (SELECT medium FROM meter) "
                    "QUALIFY row_number() OVER (PARTITION BY medium ORDER BY year DESC) = 1 ORDER BY scope, medium",
                    [parts["carbon"], on.year])
                out += [{"kind": "carbon", "medium": r.medium, "uom": r.uom, "year": int(r.year), "scope": int(r.scope),
                         "series": parts["carbon"], "value": float(r.kgco2_per_unit), "source": r.source}
                        for r in rows.itertuples(index=False) if r.scope in scopes]
        except duckdb.CatalogException:  # a serving file published before the tables were
            return []
        return out

    def targets(self) -> pd.DataFrame:
        def build():
            try:
                return self.query("SELECT * FROM kpi_target")
            except duckdb.CatalogException:  # a serving file published before targets existed
                return pd.DataFrame(columns=["kpi_id", "unit_id", "valid_from", "target", "warn", "note"])
        return self.cached("targets", build)

    def _frozen(self, unit_id: str) -> pd.DataFrame:
        b = self.baselines()
        return b[b["unit_id"] == unit_id]

    def _level(self, unit_id: str) -> str | None:
        org = self.org_units()
        row = org[org["unit_id"] == unit_id]
        return None if row.empty else str(row.iloc[0]["level"])

    def breakdown(self, kpi_id: str, unit_id: str, kind: str = "month") -> list[dict]:
        """The KPI for each child unit, so a plant lead sees where a movement comes from."""
        kids = self.children(unit_id)
        out = []
        for child in kids.itertuples(index=False):
            doc = self.comparison(kind, child.unit_id, [kpi_id])
            kpi_fields = {k: v for k, v in doc["kpis"][0].items() if k not in ("unit_id", "name_zh", "name_en")}
            out.append({**kpi_fields, "unit_id": child.unit_id, "name_zh": child.name_zh, "name_en": child.name_en,
                        "level": child.level})
        return out


def scenario_report(serving: Serving) -> dict:
    """Scenario coverage of both seeds from what this plant has loaded and computed."""
    from kpis.coverage import report

    doc = serving.comparison("month", kpi_ids=list(all_kpis()))
    status = {k["id"]: k["status"] for k in doc["kpis"]}
    if doc.get("report"):
        # A KPI that stops below the enterprise (Cpk per line) is measured when any unit has it.
        monthly = serving.monthly()
        month = monthly[(monthly["period_start"] == pd.Timestamp(doc["report"]["from"])) & (monthly["status"] == "ok")]
        for kpi_id in set(month["kpi_id"]):
            status[kpi_id] = "ok"
    sources = serving.sources()
    loaded = sources[sources["rows_loaded"] > 0]
    return report(status, set(loaded["stream"]), set(loaded["system"]))


def _pick(frame: pd.DataFrame, kpi_id: str) -> dict | None:
    rows = frame[frame["kpi_id"] == kpi_id]
    if rows.empty:
        return None
    row = rows.iloc[0].to_dict()
    if row.get("value") is not None and pd.isna(row["value"]):
        row["value"] = None
    return row


def _months(row, window: Window) -> float:
    """Months a window total covers: those with data (the denominator of a sum), else the whole window."""
    den = _num(row.get("denominator")) if row is not None else None
    return den if den else float(len(window.months()))


def _num(v) -> float | None:
    if v is None or pd.isna(v):
        return None
    return float(v)


LEVEL_ORDER = LEVELS
