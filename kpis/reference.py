"""Editable reference data: GB/T 2589-2020 standard-coal coefficients and CO2 factors, seeded, then the user's."""

from __future__ import annotations

import duckdb

GBT_2589 = "GB/T 2589-2020"

KJ_PER_KGCE = 29_307.6  # 1 kgce: fuel with a low calorific value of 7 000 kcal
NCV_VARIANT = "calorific_value"  # the row that converts a measured calorific value (kJ) to kgce

# (medium, uom, variant, kgce per unit, source). 'default' applies to every electricity variant choice.
# Per the unit each medium is stored in (connectors.units.MEDIUM_UNITS), which a meter must name, so no
# reading meets a coefficient of another unit; the standard's own figure is in the source where it differs.
ENERGY_COEFFICIENTS = [
    ("electricity", "kWh", "equivalent", 0.1229, f"{GBT_2589} 当量值"),
    ("electricity", "kWh", "equal_value", 0.3007, "等价值, 2022 thermal power coal rate (year-dependent)"),
    ("natural_gas", "m3", "default", 1.3300, f"{GBT_2589} Annex A, oil-field gas (prefer supplier calorific value)"),
    # Sichuan-basin gas, which Chongqing plants burn, is gas-field gas: energy.natural_gas = "gas_field"
    ("natural_gas", "m3", "gas_field", 1.2143, f"{GBT_2589} Annex A, gas-field gas (prefer supplier calorific value)"),
    ("steam", "t", "default", 128.6, "legacy table 0.1286 kgce/kg (check; configurable)"),
    ("water", "t", "default", 0.0857, f"{GBT_2589} Annex B fresh water (check; configurable)"),
    ("diesel", "t", "default", 1457.1, f"{GBT_2589}: 1.4571 kgce/kg"),
    ("gasoline", "t", "default", 1471.4, f"{GBT_2589}: 1.4714 kgce/kg"),
    ("lpg", "t", "default", 1714.3, f"{GBT_2589}: 1.7143 kgce/kg"),
    ("raw_coal", "t", "default", 714.3, f"{GBT_2589}: 0.7143 kgce/kg"),
    ("coke", "t", "default", 971.4, f"{GBT_2589}: 0.9714 kgce/kg"),
    ("heat", "kWh", "default", 0.03412 * 3.6, f"{GBT_2589}: 0.03412 kgce/MJ x 3.6 MJ/kWh"),
    # Natural gas by its measured low calorific value (a meter's or a reading's ncv_kj_m3), which GB/T 2589
    # prefers to the table value: kgce per kJ = 1 / 29 307.6 (7 000 kcal x 4.1868 kJ/kcal; KPIS.md rounds to
    # 29 307). Applies to a reading only when it or its meter carries a value; otherwise the row above does.
    ("natural_gas", "kJ", NCV_VARIANT, 1 / KJ_PER_KGCE,
     f"{GBT_2589}: measured low calorific value (kJ/m³) ÷ 29 307.6 kJ/kgce"),
]


# Dated CO2 factors (KPIS.md §4). Electricity comes in different series; a number states which it used.
# (series, medium, year, scope, kgCO2 per unit, uom, source). For a year after the latest published
# one, the latest earlier year applies (ASOF), and the variant says so through its series name.
MEE = "MEE/NBS national average grid emission factor"
# Natural gas burnt on site (GB/T 32150-2015 and the provincial inventory guidelines' defaults): 15.3 tC/TJ
# carbon per calorific value, 99 % oxidised, x 44/12 = 55.539 kgCO2/GJ. At the default low calorific value of
# 389.31 GJ per 10 000 Nm³ that is the 2.1622 kgCO2/m³ below; with a measured value (a reading's or its meter's
# ncv_kj_m3) the per-kJ row applies, as the energy element converts gas by it. Not an electricity series: the
# same in every series.
GAS_KGCO2_PER_KJ = 15.3e-6 * 0.99 * 44 / 12
ANY_YEAR = 2000  # the year of a default factor that is not dated: the ASOF lookup finds it for every year


def _fuel_kgco2_per_t(ncv_gj_per_t: float, carbon_tc_per_tj: float, oxidation: float) -> float:
    """kgCO2 per t of a fuel from the accounting guidelines' defaults: NCV x carbon content x oxidation x 44/12."""
    return round(ncv_gj_per_t * carbon_tc_per_tj * oxidation * 44 / 12, 1)


# Solid and liquid fuels burnt on site, per t (GB/T 32150-2015 and the 2013 industrial accounting guidelines'
# defaults: low calorific value GJ/t, carbon content tC/TJ, oxidation rate). Diesel gives the 3.0959 kgCO2/kg
# of the guidelines' tables, gasoline 2.9251 and raw coal 1.9003, as KPIS.md lists them.
FUELS = {"diesel": (42.652, 20.2, 0.98), "gasoline": (43.070, 18.9, 0.98), "lpg": (50.179, 17.2, 0.98),
         "raw_coal": (20.908, 26.37, 0.94), "coke": (28.435, 29.5, 0.93)}
CARBON_FACTORS = [
    ("national", "electricity", 2021, 2, 0.5568, "kWh", MEE),
    ("national", "electricity", 2022, 2, 0.5366, "kWh", MEE),
    ("national", "electricity", 2023, 2, 0.5306, "kWh", MEE),
    ("regional_southwest", "electricity", 2022, 2, 0.2268, "kWh", "MEE regional grid factor, 西南 (Chongqing's region)"),
    ("regional_southwest", "electricity", 2023, 2, 0.2472, "kWh", "MEE regional grid factor, 西南 (Chongqing's region)"),
    ("ets", "electricity", 2022, 2, 0.5703, "kWh", "national carbon market (ETS) grid factor 2022, 0.5703 tCO2/MWh"),
    *[(series, medium, ANY_YEAR, 1, factor, uom, "GB/T 32150 / provincial inventory guidelines default")
      for series in ("national", "regional_southwest", "ets")
      for medium, factor, uom in (("natural_gas", 2.1622, "m3"),
                                  *((fuel, _fuel_kgco2_per_t(*d), "t") for fuel, d in FUELS.items()))],
    # Purchased heat (steam bought as heat too): 0.11 tCO2/GJ, the default of the national accounting guidelines
    # for industrial enterprises (GB/T 32150-2015 family); per kWh of heat = 110 / 277.78. Steam metered in
    # tonnes and water have no default factor: their readings add no CO2 (docs/kpis.md says so).
    *[(series, "heat", ANY_YEAR, 2, 0.11e3 / (1e3 / 3.6), "kWh",
       "GB/T 32150 / industrial accounting guidelines default, purchased heat 0.11 tCO2/GJ")
      for series in ("national", "regional_southwest", "ets")],
    ("calorific_value", "natural_gas", ANY_YEAR, 1, GAS_KGCO2_PER_KJ, "kJ",
     "GB/T 32150-2015 defaults: 15.3 tC/TJ x 99 % oxidation x 44/12, per kJ of measured low calorific value"),
]
CARBON_SERIES = ("national", "regional_southwest", "ets")
GAS_TABLES = {"oil_field": "default", "gas_field": "gas_field"}  # energy.natural_gas -> energy_coefficient.variant
# energy.natural_gas -> what a snapshot's variant says of gas: its measured calorific value, else that table row
GAS_VARIANTS = {"oil_field": "measured_ncv_else_table", "gas_field": "measured_ncv_else_table_gas_field"}
# Rows of earlier releases in a unit no meter may use now (diesel per kg, heat per MJ): a plant cannot have
# meant them, since a diesel meter in kg would have counted a thousand times too little.
RETIRED_COEFFICIENTS = [("diesel", "kg", "default"), ("heat", "MJ", "default")]
RETIRED_FACTORS = [("diesel", "kg")]


def seed_reference_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Fill reference tables, never overwriting a plant's own edits.

    Coefficients and factors are added by key when absent, so a row introduced by a later release (the
    calorific-value rows) reaches a store seeded before it; an edited row keeps its value.
    """
    for medium, uom, variant in RETIRED_COEFFICIENTS:  # seeded per another unit by an earlier release, never edited
        con.execute("DELETE FROM energy_coefficient WHERE medium = ? AND uom = ? AND variant = ?", [medium, uom, variant])
    for medium, uom in RETIRED_FACTORS:
        con.execute("DELETE FROM carbon_factor WHERE medium = ? AND uom = ?", [medium, uom])
    con.executemany("INSERT OR IGNORE INTO energy_coefficient VALUES (?, ?, ?, ?, ?)", ENERGY_COEFFICIENTS)
    con.executemany("INSERT OR IGNORE INTO carbon_factor VALUES (?, ?, ?, ?, ?, ?, ?)", CARBON_FACTORS)
