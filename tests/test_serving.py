"""The read side: re-attaching after the writer swaps the serving file, while threads are reading."""

from __future__ import annotations

import os
import threading
from datetime import datetime

import duckdb
import pandas as pd
import pytest

from cockpit.serving import Serving


def _publish(path, version: int) -> None:
    tmp = path.with_name(".next.duckdb")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    con.execute("CREATE TABLE meta (key VARCHAR, value VARCHAR)")
    con.execute("INSERT INTO meta VALUES ('version', ?), ('published_at', ?)", [str(version), str(datetime.now())])
    con.execute("CREATE TABLE big AS SELECT range AS x FROM range(20000)")
    con.close()
    os.replace(tmp, path)


def test_readers_survive_swaps(tmp_path):
    path = tmp_path / "serving.duckdb"
    _publish(path, 1)
    serving = Serving(path)
    errors: list[Exception] = []
    stop = threading.Event()

    def read():
        while not stop.is_set():
            try:
                assert serving.query("SELECT count(*) AS n FROM big")["n"][0] == 20000
                serving.version()
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(6)]
    for th in threads:
        th.start()
    for version in range(2, 60):
        _publish(path, version)
    stop.set()
    for th in threads:
        th.join(timeout=30)
    assert not errors, errors[:3]
    assert serving.version() == "59"


def test_a_source_is_never_shown_as_of_the_future(golden_writer):
    """Runs stored before the loader clamped data-as-of (an ERP forecast for next month said 2025-03-01)."""
    from cockpit.publish import source_status
    from tests.conftest import NOW

    con = golden_writer.con
    name = next(iter(golden_writer.settings.connectors))
    con.execute("INSERT INTO load_run (run_id, connector, status, finished_at, rows_loaded, rows_quarantined, "
                "data_as_of) VALUES (1, ?, 'ok', ?, 1, 0, TIMESTAMP '2025-03-01 00:00')", [name, NOW])
    status = source_status(con, golden_writer.settings, NOW).set_index("connector")
    assert status.loc[name, "data_as_of"] == pd.Timestamp(NOW)


def test_energy_and_carbon_numbers_state_their_coefficients(golden_loaded):
    """GB/T 2589-2020 当量值 for electricity (the default variant), the gas table value and calorific-value row
    (the golden plant meters electricity and gas), and for 2025 data the national grid factor of 2023, the
    latest published year (0.5306 kgCO2/kWh)."""
    from datetime import date

    from cockpit.web import drill

    writer = golden_loaded
    writer.publish()
    serving = Serving(writer.settings.serving_path)
    energy = serving.coefficients("energy_tce", date(2025, 1, 1))
    assert [(c["medium"], c["variant"], c["uom"]) for c in energy] == [
        ("electricity", "equivalent", "kWh"), ("natural_gas", "calorific_value", "kJ"),
        ("natural_gas", "default", "m3")]
    assert energy[0]["value"] == 0.1229 and energy[2]["value"] == 1.33
    scope2 = serving.coefficients("co2_scope2_t", date(2025, 1, 1))
    assert [(c["medium"], c["year"], c["value"], c["series"]) for c in scope2] == [
        ("electricity", 2023, 0.5306, "national")]
    assert serving.coefficients("co2_scope2_t", date(2022, 6, 1))[0]["value"] == 0.5366  # its own year's factor
    assert {c["medium"] for c in serving.coefficients("co2_scope1_t", date(2025, 1, 1))} == {"natural_gas"}
    assert serving.coefficients("oee", date(2025, 1, 1)) == []
    doc = serving.comparison("month", None, ["energy_per_unit"])
    assert doc["kpis"][0]["variant"] == "electricity=equivalent;natural_gas=measured_ncv_else_table"
    zh = str(drill.body(serving, "co2_scope2_t", None, "month", "zh"))
    assert "电力 范围2 0.5306 kgCO2/kWh (2023 年因子)" in zh
    en = str(drill.body(serving, "energy_tce", None, "month", "en"))
    assert "Electricity equivalent value 0.1229 kgce/kWh · GB/T 2589-2020 当量值" in en
    assert "Natural gas 1.33 kgce/m3" in en


def test_a_total_is_compared_per_month_with_its_baseline(golden_loaded):
    """Scope 2 tCO2 or tce of one report month against a 12-month baseline total: 12 000 over 12 months is a
    baseline of 1 000 for a one-month report, not 12 000 (which read as a 90 % improvement)."""
    writer = golden_loaded
    con = writer.con
    report = con.execute("SELECT value FROM kpi_value WHERE kpi_id = 'energy_tce' AND unit_id = 'ENT' "
                         "AND grain = 'month' AND period_start = DATE '2025-01-01'").fetchall()[0][0]
    con.execute("INSERT OR REPLACE INTO kpi_baseline VALUES ('energy_tce', 'ENT', DATE '2024-01-01', "
                "DATE '2024-12-31', 12000, 12000, 12, 'ok', TIMESTAMP '2025-01-01', 12000, false)")
    try:
        writer.publish()
        with duckdb.connect(str(writer.settings.serving_path)) as served:  # report on January, the month with data
            served.execute("UPDATE meta SET value = '2025-01-01' WHERE key = 'anchor_month'")
        item = Serving(writer.settings.serving_path).comparison("month", None, ["energy_tce"])["kpis"][0]
        # frozen by an earlier release, without the months: the baseline window's 12
        con.execute("UPDATE kpi_baseline SET denominator = NULL WHERE kpi_id = 'energy_tce' AND unit_id = 'ENT'")
        writer.publish()
        with duckdb.connect(str(writer.settings.serving_path)) as served:
            served.execute("UPDATE meta SET value = '2025-01-01' WHERE key = 'anchor_month'")
        older = Serving(writer.settings.serving_path).comparison("month", None, ["energy_tce"])["kpis"][0]
        assert older["baseline"] == 1000
    finally:
        writer.compute(refreeze=True)
        writer.publish()
    assert item["report"] == report and item["baseline"] == 1000 and item["baseline_per_month"] == 1000
    assert item["improvement_pct"] == pytest.approx(100 * (1000 - report) / 1000)


def test_every_energy_medium_has_a_name_in_both_languages():
    from cockpit.web.i18n import t
    from connectors.units import MEDIUM_UNITS

    for medium in MEDIUM_UNITS:
        assert t(f"medium_{medium}", "zh") and t(f"medium_{medium}", "en"), medium
