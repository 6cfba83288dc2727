"""Fuel and heat meters: a meter names the unit its medium is stored in, exports in other units convert on
load, and the coefficients and factors are per that unit, so no reading is counted 1000 times off.

Hand computation (golden_library plant, January 2025, workshop W1), on top of what W1 already had:
  diesel: an export of 1 000 kg (declared `quantity = "kg"`) is stored as 1 t;
          energy 1 t × 1 457.1 kgce/t = 1 457.1 kgce (GB/T 2589-2020: 1.4571 kgce/kg);
          Scope 1 CO2 1 t × 3 095.9 kgCO2/t = 3 095.9 kg (3.0959 kgCO2/kg).
  gasoline 500 kg and raw coal 2 000 kg through the same kg export: 0.5 t x 1 471.4 + 2 t x 714.3 = 2 164.3 kgce
          (1.4714 and 0.7143 kgce/kg); Scope 1 0.5 x 2 925.1 + 2 x 1 900.3 = 5 263.15 kg (2.9251 and 1.9003 /kg).
  heat:   an export of 10 GJ (declared `quantity = "GJ"`) is stored as 10 000 / 3.6 = 2 777.78 kWh;
          energy 10 000 MJ × 0.03412 kgce/MJ = 341.2 kgce; Scope 2 CO2 10 GJ × 110 kgCO2/GJ = 1 100 kg.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit import config
from cockpit.writer import Writer
from kpis.reference import seed_reference_tables
from tests.conftest import NOW, copy_plant, kpi

LIBRARY = Path(__file__).parent / "fixtures" / "golden_library"
FUEL = """
[connectors.diesel_kg]
system = "ems"
kind = "csv"
stream = "energy_reading"
path = "diesel.csv"
schedule = "1h"
[connectors.diesel_kg.units]
quantity = "kg"

[connectors.heat_gj]
system = "ems"
kind = "csv"
stream = "energy_reading"
path = "heat.csv"
schedule = "1h"
[connectors.heat_gj.units]
quantity = "GJ"
"""


def _month(con, kpi_id: str) -> float:
    return kpi(con, kpi_id, "W1")[0]


@pytest.fixture(scope="module")
def before_after(tmp_path_factory):
    toml = copy_plant(LIBRARY, tmp_path_factory.mktemp("fuel") / "plant")
    folder = toml.parent
    writer = Writer(config.load(toml, environ={}), clock=lambda: NOW)
    writer.load()
    writer.compute()
    before = {k: _month(writer.con, k) for k in ("energy_tce", "co2_scope1_t", "co2_scope2_t")}
    writer.close()
    with open(folder / "meter.csv", "a", encoding="utf-8") as f:
        f.write("DW1,W1,diesel,t,车间柴油叉车\nHW1,W1,heat,kWh,车间外购热\nDK1,W1,diesel,kg,按公斤登记的柴油表\n"
                "PW1,W1,gasoline,t,厂内车辆汽油\nCW1,W1,raw_coal,t,锅炉原煤\n")
    (folder / "diesel.csv").write_text("meter_id,start_at,interval_s,quantity\nDW1,2025-01-06 08:00:00,86400,1000\n"
                                       "PW1,2025-01-06 08:00:00,86400,500\nCW1,2025-01-06 08:00:00,86400,2000\n",
                                       encoding="utf-8")
    (folder / "heat.csv").write_text("meter_id,start_at,interval_s,quantity\nHW1,2025-01-06 08:00:00,86400,10\n",
                                     encoding="utf-8")
    text = toml.read_text(encoding="utf-8").replace('path = "meter.csv"', 'path = "meter.csv"\nmax_reject_share = 0.5')
    toml.write_text(text + FUEL, encoding="utf-8")
    writer = Writer(config.load(toml, environ={}), clock=lambda: NOW)
    results = {r.connector: r for r in writer.load()}
    writer.compute()
    yield writer, before, results
    writer.close()


def test_a_meter_in_another_unit_than_its_medium_is_quarantined(before_after):
    writer, _before, results = before_after
    assert results["meter"].rows_quarantined == 1
    reason = writer.con.execute("SELECT reason FROM quarantine WHERE connector = 'meter'").fetchall()[0][0]
    assert "uom must be the unit its medium is stored in" in reason and "diesel t" in reason
    assert writer.con.execute("SELECT count(*) FROM meter WHERE meter_id = 'DK1'").fetchall()[0][0] == 0


def test_exports_in_kg_and_gj_are_stored_in_the_meter_unit(before_after):
    writer, _before, _results = before_after
    stored = dict(writer.con.execute("SELECT meter_id, quantity FROM energy_reading WHERE meter_id IN ('DW1', 'HW1')")
                  .fetchall())
    assert stored == {"DW1": pytest.approx(1.0), "HW1": pytest.approx(10_000 / 3.6)}


def test_diesel_and_heat_count_at_their_coefficients_and_factors(before_after):
    writer, before, _results = before_after
    con = writer.con
    assert _month(con, "energy_tce") - before["energy_tce"] == pytest.approx((1457.1 + 2164.3 + 341.2) / 1000,
                                                                             rel=1e-9)
    assert _month(con, "co2_scope1_t") - before["co2_scope1_t"] == pytest.approx((3095.9 + 5263.15) / 1000, rel=1e-9)
    assert _month(con, "co2_scope2_t") - before["co2_scope2_t"] == pytest.approx(1100 / 1000, rel=1e-9)


def test_rows_an_earlier_release_seeded_per_kg_and_mj_are_replaced(before_after):
    con = before_after[0].con
    con.execute("DELETE FROM energy_coefficient WHERE medium IN ('diesel', 'heat')")
    con.execute("INSERT INTO energy_coefficient VALUES ('diesel', 'kg', 'default', 1.4571, 'GB/T 2589-2020'), "
                "('heat', 'MJ', 'default', 0.03412, 'GB/T 2589-2020')")
    con.execute("DELETE FROM carbon_factor WHERE medium = 'diesel'")
    con.execute("INSERT INTO carbon_factor VALUES ('national', 'diesel', 2000, 1, 3.0959, 'kg', 'old')")
    seed_reference_tables(con)
    assert sorted(con.execute("SELECT medium, uom, kgce_per_unit FROM energy_coefficient "
                              "WHERE medium IN ('diesel', 'heat')").fetchall()) == [
        ("diesel", "t", 1457.1), ("heat", "kWh", pytest.approx(0.122832))]
    assert con.execute("SELECT DISTINCT uom, kgco2_per_unit FROM carbon_factor WHERE medium = 'diesel'"
                       ).fetchall() == [("t", 3095.9)]


def test_gas_field_gas_takes_its_own_table_coefficient(tmp_path):
    """Chongqing burns Sichuan-basin gas-field gas: energy.natural_gas = "gas_field" takes 1.2143 kgce/m³ instead of
    the oil-field 1.3300 for gas without a measured calorific value. Golden plant, W1, January: 100 m³ of gas,
    so W1 uses 100 x (1.3300 - 1.2143) = 11.57 kgce less; the snapshots and the drill-down say which."""
    from datetime import date

    from cockpit.serving import Serving
    from cockpit.web import drill
    from tests.conftest import GOLDEN

    toml = copy_plant(GOLDEN, tmp_path / "plant")
    writer = Writer(config.load(toml, environ={}), clock=lambda: NOW)
    writer.load()
    writer.compute()
    oil = _month(writer.con, "energy_tce")
    writer.close()
    toml.write_text(toml.read_text(encoding="utf-8") + '\n[energy]\nnatural_gas = "gas_field"\n', encoding="utf-8")
    settings = config.load(toml, environ={})
    writer = Writer(settings, clock=lambda: NOW)
    try:
        writer.compute()
        writer.publish()
        assert oil - _month(writer.con, "energy_tce") == pytest.approx(100 * (1.33 - 1.2143) / 1000, rel=1e-9)
        variant = writer.con.execute("SELECT DISTINCT variant FROM kpi_value WHERE kpi_id = 'energy_tce'").fetchall()
        assert variant == [("electricity=equivalent;natural_gas=measured_ncv_else_table_gas_field",)]
    finally:
        writer.close()
    serving = Serving(settings.serving_path)
    gas = [c for c in serving.coefficients("energy_tce", date(2025, 1, 1)) if c["medium"] == "natural_gas"]
    assert {(c["variant"], c["value"]) for c in gas} == {("gas_field", 1.2143), ("calorific_value", 1 / 29307.6)}
    assert "Natural gas gas-field gas 1.2143 kgce/m3" in drill.coefficient_text(
        next(c for c in gas if c["variant"] == "gas_field"), "en")
