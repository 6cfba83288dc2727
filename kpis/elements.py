"""Elements: the ISO 22400 time and quantity elements and business measures, per unit and production day.

`prod_day(ts)` is a macro the engine defines from the configured production-day start, so a night
shift belongs to the day it starts. Equipment states map to ISO 22400 time elements:
running -> APT, setup -> AUST, breakdown and minor stop -> ADET, idle -> ADOT, planned stop -> PDOT.
"""

from __future__ import annotations

from kpis.registry import Element, element


def _production(name: str, expr: str, unit: str, description: str) -> Element:
    return element(Element(
        name, unit, description,
        f"SELECT unit_id, prod_day(start_at) AS day, SUM({expr}) AS value FROM production_record GROUP BY ALL",
        "line", (f"production_record.{expr}", "production_record.start_at"),
    ))


def _state(name: str, states: tuple[str, ...], description: str) -> Element:
    listed = ", ".join(f"'{s}'" for s in states)
    return element(Element(
        name, "s", description,
        "SELECT unit_id, prod_day(start_at) AS day, SUM(epoch(end_at) - epoch(start_at)) AS value "
        f"FROM equipment_state WHERE state IN ({listed}) GROUP BY ALL",
        "line", ("equipment_state.state", "equipment_state.start_at", "equipment_state.end_at"),
    ))


_production("produced_qty", "produced_qty", "件", "PQ produced quantity")
_production("good_qty", "good_qty", "件", "GQ good quantity")
_production("scrap_qty", "scrap_qty", "件", "SQ scrap quantity")
_production("rework_qty", "rework_qty", "件", "RQ rework quantity")

element(Element(
    "pru_pq_s", "s", "PRU × PQ: ideal cycle time times produced quantity (ISO 22400 effectiveness numerator)",
    "SELECT r.unit_id, prod_day(r.start_at) AS day, SUM(p.ideal_cycle_s * r.produced_qty) AS value "
    "FROM production_record r JOIN product p USING (product_id) GROUP BY ALL",
    "line", ("production_record.produced_qty", "product.ideal_cycle_s"),
))
element(Element(
    "std_h", "h", "Standard hours earned: Σ ideal cycle time × good quantity / 3600",
    "SELECT r.unit_id, prod_day(r.start_at) AS day, SUM(p.ideal_cycle_s * r.good_qty) / 3600.0 AS value "
    "FROM production_record r JOIN product p USING (product_id) GROUP BY ALL",
    "line", ("production_record.good_qty", "product.ideal_cycle_s"),
))

_state("apt_s", ("running",), "APT actual production time")
_state("aust_s", ("setup",), "AUST actual setup time")
_state("adet_s", ("breakdown", "minor_stop"), "ADET actual delay time (breakdowns, minor stops)")
_state("adot_s", ("idle",), "ADOT actual down time (no order)")
_state("pdot_s", ("planned_stop",), "PDOT planned down time")

element(Element(
    "pot_s", "s", "POT planned operation time",
    "SELECT unit_id, prod_day(shift_start_at) AS day, SUM(planned_s) AS value FROM planned_time GROUP BY ALL",
    "line", ("planned_time.planned_s",),
))
element(Element(
    "planned_qty", "件", "Planned quantity",
    "SELECT unit_id, prod_day(shift_start_at) AS day, SUM(planned_qty) AS value FROM planned_time GROUP BY ALL",
    "line", ("planned_time.planned_qty",),
))
element(Element(
    "labor_h", "h", "Direct labour hours",
    "SELECT unit_id, prod_day(shift_start_at) AS day, SUM(worker_h) AS value FROM labor_time GROUP BY ALL",
    "line", ("labor_time.worker_h",),
))
element(Element(
    "energy_kgce", "kgce",
    "Comprehensive energy: Σ metered quantity × GB/T 2589-2020 coefficient of its medium "
    "(electricity at the configured variant, 当量值 by default)",
    "SELECT m.unit_id, prod_day(r.start_at) AS day, SUM(r.quantity * c.kgce_per_unit) AS value "
    "FROM energy_reading r JOIN meter m USING (meter_id) "
    "JOIN energy_coefficient c ON c.medium = m.medium "
    "AND (c.variant = 'default' OR c.variant = getvariable('energy_variant')) GROUP BY ALL",
    "workshop", ("energy_reading.quantity", "meter.medium"),
))
element(Element(
    "operating_cost_cny", "元", "Operating cost: cost of sales + selling, admin and R&D expenses (ERP, monthly)",
    "SELECT unit_id, month_on AS day, SUM(amount_cny) AS value FROM operating_cost "
    "WHERE category IN ('cost_of_sales', 'selling', 'admin', 'rnd') GROUP BY ALL",
    "plant", ("operating_cost.amount_cny", "operating_cost.category"),
))
element(Element(
    "output_value_cny", "元", "Output value (ERP, monthly)",
    "SELECT unit_id, month_on AS day, SUM(value_cny) AS value FROM output_value GROUP BY ALL",
    "plant", ("output_value.value_cny",),
))
element(Element(
    "headcount_pm", "人·月", "Person-months: monthly average headcount summed over months",
    "SELECT unit_id, month_on AS day, SUM(avg_employees) AS value FROM headcount GROUP BY ALL",
    "plant", ("headcount.avg_employees",),
))
