"""Editable reference data: GB/T 2589-2020 standard-coal coefficients, seeded once, then the user's."""

from __future__ import annotations

import duckdb

GBT_2589 = "GB/T 2589-2020"

# (medium, uom, variant, kgce per unit, source). 'default' applies to every electricity variant choice.
ENERGY_COEFFICIENTS = [
    ("electricity", "kWh", "equivalent", 0.1229, f"{GBT_2589} 当量值"),
    ("electricity", "kWh", "equal_value", 0.3007, "等价值, 2022 thermal power coal rate (year-dependent)"),
    ("natural_gas", "m3", "default", 1.3300, f"{GBT_2589} Annex A, oil-field gas (prefer supplier calorific value)"),
    ("steam", "t", "default", 128.6, "legacy table 0.1286 kgce/kg (check; configurable)"),
    ("water", "t", "default", 0.0857, f"{GBT_2589} Annex B fresh water (check; configurable)"),
    ("diesel", "kg", "default", 1.4571, GBT_2589),
    ("heat", "MJ", "default", 0.03412, GBT_2589),
]


def seed_reference_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Fill the coefficient table only when empty, so a plant's own edits are never overwritten."""
    if con.execute("SELECT count(*) FROM energy_coefficient").fetchall()[0][0] == 0:
        con.executemany("INSERT INTO energy_coefficient VALUES (?, ?, ?, ?, ?)", ENERGY_COEFFICIENTS)
