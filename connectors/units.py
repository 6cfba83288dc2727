"""Units: the canonical unit of each measured field and the factors that convert export units to it.

A connector declares the unit its export uses (`[connectors.X.units] quantity = "MWh"`); the loader
multiplies by the factor in SQL. Anything not in these tables is a config error, so a typo never
loads numbers a thousand times off.
"""

from __future__ import annotations

from collections.abc import Mapping

# unit -> (dimension, factor to the dimension's reference unit)
UNITS: dict[str, tuple[str, float]] = {
    "Wh": ("energy", 0.001), "kWh": ("energy", 1.0), "度": ("energy", 1.0), "MWh": ("energy", 1e3),
    "万kWh": ("energy", 1e4), "GWh": ("energy", 1e6),
    "MJ": ("energy", 1 / 3.6), "GJ": ("energy", 1e3 / 3.6),  # heat meters: 1 kWh = 3.6 MJ
    "g": ("mass", 1e-3), "kg": ("mass", 1.0), "公斤": ("mass", 1.0), "t": ("mass", 1e3), "吨": ("mass", 1e3),
    "L": ("volume", 1e-3), "m3": ("volume", 1.0), "m³": ("volume", 1.0), "立方米": ("volume", 1.0),
    "万m3": ("volume", 1e4),
    "元": ("money", 1.0), "CNY": ("money", 1.0), "千元": ("money", 1e3), "万元": ("money", 1e4),
    "百万元": ("money", 1e6), "亿元": ("money", 1e8),
    "s": ("time", 1.0), "秒": ("time", 1.0), "min": ("time", 60.0), "分钟": ("time", 60.0),
    "h": ("time", 3600.0), "小时": ("time", 3600.0),
    "pcs": ("count", 1.0), "件": ("count", 1.0), "个": ("count", 1.0), "千件": ("count", 1e3),
    "万件": ("count", 1e4),
}

_PCS = "pcs"
# Canonical unit per (table, field), where a field has one. energy_reading.quantity is in the
# meter's own unit: kWh for electricity, m3 for gas, t for water and steam (sample_data/master/meter.csv),
# so its canonical unit is chosen by the dimension of the declared export unit.
CANONICAL: dict[tuple[str, str], str] = {
    **{("production_record", f): _PCS for f in ("produced_qty", "good_qty", "scrap_qty", "rework_qty")},
    **{("quality_inspection", f): _PCS for f in ("inspected_qty", "defective_qty")},
    ("planned_time", "planned_s"): "s", ("planned_time", "planned_qty"): _PCS,
    ("labor_time", "worker_h"): "h", ("labor_time", "attendance_h"): "h",
    ("planned_time", "planned_scrap_qty"): _PCS,
    **{("material_consumption", f): "kg" for f in ("consumed_kg", "finished_kg", "integrated_kg",
                                                     "production_loss_kg", "storage_loss_kg", "other_loss_kg")},
    ("product", "ideal_cycle_s"): "s", ("product", "unit_price_cny"): "元",
    ("output_value", "quantity"): _PCS, ("output_value", "value_cny"): "元",
    ("operating_cost", "amount_cny"): "元",
    ("inventory_snapshot", "value_cny"): "元",
    ("energy_reading", "interval_s"): "s",
    ("energy_reading", "quantity"): "meter",
}
METER_UNITS = {"energy": "kWh", "volume": "m3", "mass": "t"}
# The unit each medium's readings are stored in, and so the unit its coefficient and carbon factor are per:
# a meter (master data) must name it, and an export in another unit of the same kind is converted on load.
MEDIUM_UNITS = {"electricity": "kWh", "heat": "kWh", "natural_gas": "m3", "steam": "t", "water": "t", "diesel": "t",
                "gasoline": "t", "lpg": "t", "raw_coal": "t", "coke": "t"}


class UnitError(ValueError):
    """A declared unit is unknown or of the wrong kind; the message names the config key."""


def canonical_unit(table: str, field: str, declared: str) -> str:
    target = CANONICAL.get((table, field))
    if target == "meter":
        dimension = UNITS[declared][0]
        if dimension not in METER_UNITS:
            raise UnitError(f"{field} is metered in kWh, m3 or t; '{declared}' is a unit of {dimension}")
        return METER_UNITS[dimension]
    if target is None:
        raise UnitError(f"{table}.{field} has no unit to convert to")
    return target


def factor(table: str, field: str, declared: str) -> float:
    """Multiply an export value in `declared` units by this to get the canonical unit."""
    if declared not in UNITS:
        raise UnitError(f"unknown unit '{declared}'; known: {', '.join(UNITS)}")
    target = canonical_unit(table, field, declared)
    (dim_from, f_from), (dim_to, f_to) = UNITS[declared], UNITS[target]
    if dim_from != dim_to:
        raise UnitError(f"'{declared}' ({dim_from}) cannot convert to {target} ({dim_to}) for {table}.{field}")
    return f_from / f_to


def factors(table: str, declared: Mapping[str, str]) -> dict[str, float]:
    return {field: factor(table, field, unit) for field, unit in declared.items()}


def markdown() -> str:
    """The unit table for docs/csv.md."""
    rows = [f"| `{t}.{f}` | {u if u != 'meter' else 'the meter unit: kWh, m3 or t'} |" for (t, f), u in CANONICAL.items()]
    known = ", ".join(f"{u} ({d})" for u, (d, _f) in UNITS.items())
    return "\n".join(["| field | canonical unit |", "|---|---|", *rows, "", f"Known units: {known}."])
