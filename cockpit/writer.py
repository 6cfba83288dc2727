"""What the one writer does: run connectors, compute KPIs, freeze baselines, publish for the web."""

from __future__ import annotations

import dataclasses
import logging
from datetime import date, timedelta

import duckdb

from cockpit import quarantine_export
from cockpit.config import Settings, plant_now
from cockpit.publish import publish
from cockpit.store import go_live, open_store
from connectors.base import ConnectorSpec
from connectors.loader import RunResult, run_connector
from kpis import engine, targets
from kpis.baseline import freeze
from kpis.periods import Window, add_months, anchor_month

log = logging.getLogger(__name__)


class Writer:
    """Owns the store connection. Use only while holding the writer lock (cockpit.store.writer_lock)."""

    def __init__(self, settings: Settings, con: duckdb.DuckDBPyConnection | None = None, clock=None):
        self.settings = settings
        self.con = con or open_store(settings)
        self.clock = clock or (lambda: plant_now(settings))
        self.go_live: date = go_live(settings, self.con)

    def spec(self, name: str) -> ConnectorSpec:
        spec = self.settings.connectors[name]
        if spec.kind == "mock":
            spec = dataclasses.replace(spec, options={**spec.options, "go_live": self.go_live})
        return spec

    def load(self, names: list[str] | None = None, on_batch=None) -> list[RunResult]:
        """Run the named connectors (all by default); one failing never stops the others.

        `on_batch(batch, result so far)` follows every written batch (a progress bar).
        """
        names = names or list(self.settings.connectors)
        unknown = [n for n in names if n not in self.settings.connectors]
        if unknown:
            raise KeyError(f"unknown connector(s): {', '.join(unknown)}; known: {', '.join(self.settings.connectors)}")
        ordered = sorted(names, key=lambda n: self.settings.connectors[n].system != "master")  # master data first
        results = []
        for name in ordered:
            result = run_connector(self.con, self.spec(name), self.clock(), on_batch=on_batch)
            log.info("load %s: %s in=%d loaded=%d unchanged=%d quarantined=%d%s", name, result.status,
                     result.rows_in, result.rows_loaded, result.rows_unchanged, result.rows_quarantined,
                     f" error={result.error}" if result.error else "")
            results.append(result)
        return results

    def baseline_window(self) -> Window:
        s = self.settings
        if s.baseline_from and s.baseline_to:
            return Window(s.baseline_from, s.baseline_to)
        # Without a configured period: the 12 complete months before go-live.
        return Window(add_months(self.go_live, -12), self.go_live - timedelta(days=1))

    def last_data_day(self) -> date | None:
        rows = self.con.execute(
            "SELECT max(period_start) FROM kpi_value WHERE grain = 'day' AND kpi_id = 'good_output' AND status = 'ok'"
        ).fetchall()
        return rows[0][0]

    def last_complete_day(self) -> date | None:
        """Production day D is complete once MES data reaches D+1 at the day start (the night shift is in)."""
        rows = self.con.execute(
            "SELECT CAST(max(end_at) - to_minutes(CAST(? AS BIGINT)) AS DATE) - 1 FROM production_record",
            [self.settings.day_start_minutes],
        ).fetchall()
        if rows[0][0] is not None:
            return rows[0][0]
        # No MES production data (an energy-, quality- or order-only site): the day before the latest
        # production day any fact table reaches (monthly ERP tables are left out: a month has no last day).
        from connectors.schema import STREAMS

        parts = [f"SELECT CAST(max({t.time_column}) - to_minutes(CAST($m AS BIGINT)) AS DATE) AS d FROM {t.name}"
                 for t in STREAMS.values() if t.system != "master" and t.time_column and t.time_column != "month_on"]
        return self.con.execute(f"SELECT max(d) - 1 FROM ({' UNION ALL '.join(parts)})",
                                {"m": self.settings.day_start_minutes}).fetchall()[0][0]

    def compute(self, refreeze: bool = False, since: date | None = None) -> dict:
        """Recompute KPI snapshots: from the month of `since` on when the last full compute still holds.

        A full recompute happens whenever the snapshots may have been computed differently: a first run,
        a changed KPI registry (an upgrade), or changed settings (day start, shifts, energy variant, carbon series).
        """
        now = self.clock()
        signature = self.compute_signature()
        stored = self.con.execute("SELECT value FROM store_setting WHERE key = 'kpi_signature'").fetchall()
        incremental = since if since is not None and stored and stored[0][0] == signature else None
        n = engine.compute(self.con, day_start_minutes=self.settings.day_start_minutes,
                           energy_variant=self.settings.energy_variant,
                           carbon_series=self.settings.carbon_series, now=now, since=incremental,
                           shifts=self.settings.shifts, shift_days=self.settings.shift_days,
                           natural_gas=self.settings.natural_gas)
        self.con.execute("INSERT OR REPLACE INTO store_setting VALUES ('kpi_signature', ?)", [signature])
        counts = freeze(self.con, self.baseline_window(), now, refreeze=refreeze)
        log.info("computed %d KPI snapshot rows (%s); baseline %s", n,
                 f"from {incremental:%Y-%m}" if incremental else "full", counts)
        return {"kpi_rows": n, "recomputed_from": incremental.isoformat() if incremental else None, **counts}

    def compute_signature(self) -> str:
        """What the stored snapshots depend on besides the data: the KPI code and registry, and settings.

        Any change to the kpis package (a new KPI after an upgrade, a corrected element) forces one full
        recompute, so no month keeps numbers an older definition produced.
        """
        import hashlib
        from pathlib import Path

        import kpis

        digest = hashlib.sha256()
        s = self.settings
        digest.update(repr((s.day_start_minutes, s.energy_variant, s.carbon_series, s.shifts, s.shift_days, s.natural_gas)).encode())
        for path in sorted(Path(kpis.__file__).parent.glob("*.py")):
            digest.update(path.name.encode() + path.read_bytes())
        return digest.hexdigest()

    def recompute_from(self, results: list[RunResult]) -> date | None:
        """The production day from which changed data can move a KPI; None means recompute everything."""
        changed = [r for r in results if r.changed]
        if not changed or any(r.changed_master or r.changed_from is None for r in changed):
            return None
        first = min(r.changed_from for r in changed)
        return (first - timedelta(minutes=self.settings.day_start_minutes)).date()

    def publish(self) -> None:
        last = self.last_data_day()
        complete = self.last_complete_day()
        window = self.baseline_window()
        publish(self.con, self.settings, now=self.clock(), meta={
            "last_data_day": last, "last_complete_day": complete, "anchor_month": anchor_month(complete),
            "baseline_from": window.first, "baseline_to": window.last, "go_live": self.go_live,
            "energy_variant": self.settings.energy_variant, "carbon_series": self.settings.carbon_series,
            "natural_gas": self.settings.natural_gas, "timezone": self.settings.timezone,
            "day_start_minutes": self.settings.day_start_minutes,
        })

    def refresh(self, names: list[str] | None = None, on_batch=None) -> list[RunResult]:
        """Load, and recompute only when some table changed; always publish the run status."""
        results = self.load(names, on_batch)
        if any(r.changed for r in results):
            self.compute(since=self.recompute_from(results))
        self.publish()
        return results

    def execute(self, action: str, args: dict) -> dict:
        """One entry for work that reaches the writer from the CLI or, as a request, from other processes."""
        if action == "load":
            results = self.refresh(args.get("connectors") or None)
            return {"runs": [r.__dict__ for r in results]}
        if action in ("compute", "baseline"):
            counts = self.compute(refreeze=bool(args.get("refreeze")))
            self.publish()
            return counts
        if action == "targets":
            written = set_targets(self.con, args.get("rows") or [], replace=bool(args.get("replace")),
                                  expected=args.get("expected"))
            self.publish()
            return {"targets": written}
        if action == "quarantine_export":
            name = args.get("connector") or None
            if name is not None and name not in self.settings.connectors:
                raise ValueError(f"no connector '{name}'")
            return quarantine_export.export(self.con, self.settings.store_dir / "exports", name, self.clock())
        raise ValueError(f"unknown action {action}")

    def close(self) -> None:
        self.con.close()


def set_targets(con: duckdb.DuckDBPyConnection, rows: list[dict], replace: bool = False,
                expected: str | None = None) -> int:
    """Store target rows in one transaction: added to (CSV import) or replacing (the admin table) the stored ones.

    `expected` is the fingerprint of the table the editor started from: a replace over rows someone
    else changed meanwhile is refused instead of silently undoing their change.
    """
    from kpis.registry import all_kpis

    units = {r[0] for r in con.execute("SELECT unit_id FROM org_unit").fetchall()}
    clean = targets.clean_rows(rows, all_kpis(), units)
    con.begin()
    try:
        if expected is not None:
            stored = con.execute("SELECT * FROM kpi_target").fetchall()
            if targets.fingerprint(stored) != expected:
                raise ValueError("the targets were changed elsewhere since this table was opened; "
                                 "reload the page and edit again")
        if replace:
            con.execute("DELETE FROM kpi_target")
        if clean:
            con.executemany("INSERT OR REPLACE INTO kpi_target VALUES (?, ?, ?, ?, ?, ?)", clean)
        con.commit()
    except Exception:
        con.rollback()
        raise
    return len(clean)
