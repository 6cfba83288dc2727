"""Elements: the ISO 22400 time and quantity elements and business measures, per unit and production day.

`prod_day(ts)` is a macro the engine defines from the configured production-day start, so a night
shift belongs to the day it starts. Equipment states map to ISO 22400 time elements:
running -> APT, setup -> AUST, breakdown and minor stop -> ADET, idle -> ADOT, planned stop -> PDOT.
"""

from __future__ import annotations

from kpis.reference import NCV_VARIANT
from kpis.registry import Element, element

# Daily sums that several elements read: the engine materialises each once per compute, before the
# elements (and as a view otherwise), so a big fact table is scanned once, not once per element.
# `getvariable('kpi_first')` is the first day an incremental compute recomputes (NULL when full).
SHARED: dict[str, str] = {}


def _shared(name: str, sql: str) -> str:
    SHARED[name] = sql
    return name


_shared("state_day", "SELECT unit_id, prod_day(start_at) AS day, state, SUM(epoch(end_at) - epoch(start_at)) AS seconds "
        "FROM equipment_state WHERE start_at >= COALESCE(CAST(getvariable('kpi_first') AS TIMESTAMP), '-infinity') "
        "GROUP BY ALL")
# quantity_ncv / ncv_kj: the readings that carry a measured calorific value (natural gas), kept apart so the
# energy element can convert them by it and the rest by the meter's value or the table coefficient.
_shared("meter_day", "SELECT meter_id, prod_day(start_at) AS day, SUM(quantity) AS quantity, "
        "SUM(quantity) FILTER (WHERE ncv_kj_m3 IS NOT NULL) AS quantity_ncv, "
        "SUM(quantity * ncv_kj_m3) AS ncv_kj FROM energy_reading GROUP BY ALL")
_shared("production_day", "SELECT unit_id, prod_day(start_at) AS day, product_id, SUM(produced_qty) AS produced_qty, "
        "SUM(good_qty) AS good_qty, SUM(scrap_qty) AS scrap_qty, SUM(rework_qty) AS rework_qty "
        "FROM production_record GROUP BY ALL")


def _production(name: str, expr: str, unit: str, description: str) -> Element:
    return element(Element(
        name, unit, description,
        f"SELECT unit_id, day, SUM({expr}) AS value FROM production_day GROUP BY ALL",
        "line", (f"production_record.{expr}", "production_record.start_at"), per_shift=True,
    ))


def _state(name: str, states: tuple[str, ...], description: str) -> Element:
    # A row for every unit and day (or shift) with any state record: the MES reports every state, so a shift
    # without a setup has a setup time of 0, not an unknown one. Without the 0 the unit would count as
    # incomplete for the setup ratio and drop out of its workshop's roll-up, biasing it.
    listed = ", ".join(f"'{s}'" for s in states)
    return element(Element(
        name, "s", description,
        f"SELECT unit_id, day, COALESCE(SUM(seconds) FILTER (WHERE state IN ({listed})), 0) AS value "
        "FROM state_day GROUP BY ALL",
        "line", ("equipment_state.state", "equipment_state.start_at", "equipment_state.end_at"), per_shift=True,
    ))


_production("produced_qty", "produced_qty", "件", "PQ produced quantity")
_production("good_qty", "good_qty", "件", "GQ good quantity")
_production("scrap_qty", "scrap_qty", "件", "SQ scrap quantity")
_production("rework_qty", "rework_qty", "件", "RQ rework quantity")

element(Element(
    "pru_pq_s", "s", "PRU × PQ: ideal cycle time times produced quantity (ISO 22400 effectiveness numerator)",
    "SELECT r.unit_id, r.day, SUM(p.ideal_cycle_s * r.produced_qty) AS value "
    "FROM production_day r JOIN product p USING (product_id) GROUP BY ALL",
    "line", ("production_record.produced_qty", "product.ideal_cycle_s"), per_shift=True,
))
element(Element(
    "std_h", "h", "Standard hours earned: Σ ideal cycle time × good quantity / 3600",
    "SELECT r.unit_id, r.day, SUM(p.ideal_cycle_s * r.good_qty) / 3600.0 AS value "
    "FROM production_day r JOIN product p USING (product_id) GROUP BY ALL",
    "line", ("production_record.good_qty", "product.ideal_cycle_s"), per_shift=True,
))

_state("apt_s", ("running",), "APT actual production time")
_state("aust_s", ("setup",), "AUST actual setup time")
_state("adet_s", ("breakdown", "minor_stop"), "ADET actual delay time (breakdowns, minor stops)")
_state("adot_s", ("idle",), "ADOT actual down time (no order)")
_state("pdot_s", ("planned_stop",), "PDOT planned down time")

element(Element(
    "pot_s", "s", "POT planned operation time",
    "SELECT unit_id, prod_day(shift_start_at) AS day, SUM(planned_s) AS value FROM planned_time GROUP BY ALL",
    "line", ("planned_time.planned_s",), per_shift=True,
))
element(Element(
    "planned_qty", "件", "Planned quantity",
    "SELECT unit_id, prod_day(shift_start_at) AS day, SUM(planned_qty) AS value FROM planned_time GROUP BY ALL",
    "line", ("planned_time.planned_qty",), per_shift=True,
))
# Schedule attainment: min(actual, plan) per line and shift (the plan's grain) before any roll-up, so one
# shift's or line's surplus cannot hide another's shortfall. Plan rows and output meet in the configured shift
# calendar (plan_shift(), the shift a timestamp falls in, the same in the day and the shift pass), so a day's
# shifts add up to the day; output booked on equipment counts toward the planned unit above it (its line).
# Output in a shift without a plan row attains nothing; a plan row without output gives no row: a future or
# unreported shift is no data, not 0 %. Two grouped scans, no per-record join (it cost a second at 50 M rows).
element(Element(
    "attained_qty", "件", "Planned quantity attained: Σ over lines and shifts of min(GQ made in the shift, "
    "planned quantity of the shift)",
    """WITH plan_unit AS (  -- the planned unit a record's unit counts toward: itself or an ancestor (a line)
        SELECT descendant AS unit_id, ancestor AS plan_unit FROM org_closure
        WHERE ancestor IN (SELECT unit_id FROM planned_time)),
    plans AS (
        SELECT unit_id, plan_shift(shift_start_at) AS shift, SUM(planned_qty) AS planned_qty
        FROM planned_time GROUP BY ALL),
    made AS (
        SELECT u.plan_unit AS unit_id, plan_shift(r.start_at) AS shift, SUM(r.good_qty) AS good_qty
        FROM production_record r JOIN plan_unit u USING (unit_id) GROUP BY ALL)
    SELECT unit_id, prod_day(shift) AS day, SUM(least(good_qty, planned_qty)) AS value
    FROM plans JOIN made USING (unit_id, shift) GROUP BY ALL""",
    "line", ("planned_time.planned_qty", "planned_time.shift_start_at", "production_record.good_qty",
             "production_record.start_at"), per_shift=True,
))
element(Element(
    "labor_h", "h", "Direct labour hours",
    "SELECT unit_id, prod_day(shift_start_at) AS day, SUM(worker_h) AS value FROM labor_time GROUP BY ALL",
    "line", ("labor_time.worker_h",), per_shift=True,
))
# Natural gas by calorific value (GB/T 2589-2020): a reading's measured low calorific value, else its meter's,
# times the kgce-per-kJ row of the coefficient table; with neither, the medium's table coefficient.
element(Element(
    "energy_kgce", "kgce",
    "Comprehensive energy: Σ metered quantity × GB/T 2589-2020 coefficient of its medium "
    "(electricity at the configured variant, 当量值 by default; natural gas by the measured low calorific value "
    "÷ 29 307.6 kJ/kgce where the reading or its meter carries one, else 1.3300 kgce/m³)",
    "SELECT m.unit_id, r.day, SUM(COALESCE(r.ncv_kj * h.kgce_per_unit, r.quantity_ncv * c.kgce_per_unit, 0) "
    "+ (r.quantity - COALESCE(r.quantity_ncv, 0)) * COALESCE(m.ncv_kj_m3 * h.kgce_per_unit, c.kgce_per_unit)) AS value "
    "FROM meter_day r JOIN meter m USING (meter_id) "
    "JOIN energy_coefficient c ON c.medium = m.medium "
    "AND c.variant = CASE m.medium WHEN 'electricity' THEN getvariable('energy_variant') "
    "WHEN 'natural_gas' THEN getvariable('gas_table') ELSE 'default' END "
    f"LEFT JOIN energy_coefficient h ON h.medium = m.medium AND h.variant = '{NCV_VARIANT}' GROUP BY ALL",
    "workshop", ("energy_reading.quantity", "meter.medium"), per_shift=True,
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
# Monthly average headcount (KPIS.md §1, 人均产值): the ERP's monthly average where it exports one; else from
# an HR roster's counts: the mean of the month's counts (daily counts), or (previous month-end + month-end)
# / 2 when the month has only a month-end count (the month-end count alone when the month before has none).
element(Element(
    "headcount_pm", "人·月",
    "Person-months: monthly average headcount summed over months (ERP monthly average, else the mean of the "
    "month's roster counts, or (previous month-end + month-end) / 2 with month-end counts only)",
    """WITH counts AS (
        SELECT unit_id, CAST(date_trunc('month', count_on) AS DATE) AS month_on, count_on, employees,
               count_on = last_day(count_on) AS month_end
        FROM headcount_count),
    months AS (
        SELECT unit_id, month_on, bool_and(month_end) AS only_month_end, avg(employees) AS mean_count,
               max(employees) FILTER (WHERE month_end) AS end_count
        FROM counts GROUP BY ALL),
    counted AS (
        SELECT m.unit_id, m.month_on,
               CASE WHEN m.only_month_end THEN (COALESCE(b.end_count, m.end_count) + m.end_count) / 2
                    ELSE m.mean_count END AS avg_employees
        FROM months m LEFT JOIN months b
          ON b.unit_id = m.unit_id AND b.month_on = CAST(m.month_on - INTERVAL 1 MONTH AS DATE))
    SELECT unit_id, month_on AS day, SUM(avg_employees) AS value FROM (
        SELECT unit_id, month_on, avg_employees FROM headcount
        UNION ALL
        SELECT c.unit_id, c.month_on, c.avg_employees FROM counted c
        WHERE NOT EXISTS (SELECT 1 FROM headcount h WHERE h.unit_id = c.unit_id AND h.month_on = c.month_on))
    GROUP BY ALL""",
    "plant", ("headcount.avg_employees",), alternatives=(("headcount", "headcount_count"),),
))

# --- maintenance (MES maintenance_event), per equipment -----------------------------------------------
# An equipment's operating time is its own running time when the MES records states per equipment,
# else its line's: on a flow line every station runs while the line runs. Above equipment level the
# reliability KPIs are pooled (Σ operating time of the equipment / Σ their failures, the fleet MTBF),
# not the time between stops of the line.
_shared("equipment_state_unit", """SELECT e.unit_id, e.parent_id,
        CASE WHEN o.unit_id IS NULL THEN e.parent_id ELSE e.unit_id END AS state_unit
    FROM org_unit e LEFT JOIN (SELECT DISTINCT unit_id FROM equipment_state) o ON o.unit_id = e.unit_id
    WHERE e.level = 'equipment'""")
_OPERATING = """WITH operating AS (
    SELECT q.unit_id, q.parent_id, r.day, r.seconds AS value
    FROM equipment_state_unit q JOIN state_day r ON r.unit_id = q.state_unit AND r.state = 'running')"""
_FAILURES = "SELECT * FROM maintenance_event WHERE kind = 'corrective' AND start_at IS NOT NULL"
# Time to failure of each failure: operating time since the previous restoration of the same equipment
# (since its first state record for its first failure), read off a running-seconds clock by ASOF joins.
# Only units with failures get a clock. Times to failure are differences on it, so a clock started
# at any running interval at or before the earliest instant looked up adds the same constant to both
# ends: an incremental compute starts a unit's clock at its first running interval in the 62 days
# before the recomputed month (read through zone maps) when that is at or before its earliest wanted
# failure and previous restoration, and reads the unit's whole history otherwise.
_shared("failure_ttf", f"""WITH failure AS (
    SELECT f.unit_id, q.state_unit, f.start_at,
           lag(f.end_at) OVER (PARTITION BY f.unit_id ORDER BY f.start_at) AS previous_end
    FROM ({_FAILURES}) f JOIN equipment_state_unit q USING (unit_id)),
wanted AS (
    SELECT * FROM failure
    WHERE getvariable('kpi_first') IS NULL OR prod_day(start_at) >= getvariable('kpi_first')),
bound AS (
    SELECT state_unit, least(min(previous_end), min(start_at)) AS bound_at FROM wanted
    GROUP BY ALL HAVING count(*) = count(previous_end)),
clock_from AS (
    SELECT b.state_unit, min(s.start_at) AS from_at
    FROM bound b JOIN equipment_state s ON s.unit_id = b.state_unit AND s.state = 'running' AND s.start_at <= b.bound_at
    WHERE s.start_at >= CAST(getvariable('kpi_first') AS TIMESTAMP) - INTERVAL 62 DAY
    GROUP BY ALL),
running AS (
    SELECT s.* FROM equipment_state s JOIN clock_from b ON b.state_unit = s.unit_id
    WHERE s.state = 'running' AND s.start_at >= b.from_at
      AND s.start_at >= CAST(getvariable('kpi_first') AS TIMESTAMP) - INTERVAL 62 DAY
    UNION ALL
    SELECT * FROM equipment_state WHERE state = 'running' AND unit_id IN (SELECT state_unit FROM wanted)
      AND unit_id NOT IN (SELECT state_unit FROM clock_from)),
clock AS (
    SELECT unit_id, start_at, end_at, epoch(end_at) - epoch(start_at) AS length_s,
           SUM(epoch(end_at) - epoch(start_at)) OVER (PARTITION BY unit_id ORDER BY start_at
               ROWS UNBOUNDED PRECEDING) - (epoch(end_at) - epoch(start_at)) AS before_s
    FROM running),
at_failure AS (
    SELECT f.*, c.before_s + least(greatest(epoch(f.start_at) - epoch(c.start_at), 0), c.length_s) AS up_s
    FROM wanted f ASOF JOIN clock c ON c.unit_id = f.state_unit AND f.start_at >= c.start_at)
SELECT a.unit_id, prod_day(a.start_at) AS day,
       a.up_s - COALESCE(c.before_s + least(greatest(epoch(a.previous_end) - epoch(c.start_at), 0), c.length_s),
                         0) AS ttf_s
FROM at_failure a ASOF LEFT JOIN clock c ON c.unit_id = a.state_unit AND a.previous_end >= c.start_at""")
_EVENTS = """SELECT unit_id, prod_day(start_at) AS day,
    SUM(CASE WHEN kind = 'corrective' THEN epoch(end_at) - epoch(start_at) ELSE 0 END) AS cmt_s,
    SUM(CASE WHEN kind = 'preventive' THEN epoch(end_at) - epoch(start_at) ELSE 0 END) AS pmt_s
    FROM maintenance_event WHERE start_at IS NOT NULL AND end_at IS NOT NULL GROUP BY ALL"""
_PM = """SELECT unit_id, planned_on AS day, CAST(count(*) AS DOUBLE) AS planned,
    CAST(count(*) FILTER (WHERE end_at IS NOT NULL AND prod_day(end_at) <= planned_on) AS DOUBLE) AS on_time
    FROM maintenance_event WHERE kind = 'preventive' AND planned_on IS NOT NULL GROUP BY ALL"""
_MAINTENANCE = ("maintenance_event.kind", "maintenance_event.start_at", "maintenance_event.end_at")

element(Element(
    "operating_s", "s",
    "Operating time of an equipment: its running time (APT), from its own states or else its line's",
    f"{_OPERATING} SELECT unit_id, day, value FROM operating",
    "equipment", ("equipment_state.state", "equipment_state.start_at", "equipment_state.end_at"),
))
element(Element(
    "failure_count", "次",
    "FE failure events: corrective maintenance events by the day of the failure. Operating days without a "
    "failure count 0 while the equipment's line reports maintenance, so failure-free equipment stays in the "
    "pooled MTBF",
    f"""WITH span AS (
        SELECT q.parent_id, min(prod_day(m.start_at)) AS first_day, max(prod_day(m.start_at)) AS last_day
        FROM maintenance_event m JOIN equipment_state_unit q USING (unit_id) WHERE m.start_at IS NOT NULL GROUP BY ALL)
    SELECT unit_id, day, SUM(n) AS value FROM (
        SELECT unit_id, prod_day(start_at) AS day, 1.0 AS n FROM ({_FAILURES})
        UNION ALL  -- operating days of the equipment under a line with maintenance records (span first: few lines)
        SELECT q.unit_id, r.day, 0.0 FROM span s JOIN equipment_state_unit q USING (parent_id)
        JOIN state_day r ON r.unit_id = q.state_unit AND r.state = 'running' AND r.day BETWEEN s.first_day AND s.last_day)
    GROUP BY ALL""",
    "equipment", _MAINTENANCE,
))
element(Element(
    "ttf_s", "s", "TTF time to failure: operating time from the previous restoration to the failure, per failure",
    "SELECT unit_id, day, SUM(ttf_s) AS value FROM failure_ttf GROUP BY ALL",
    "equipment", (*_MAINTENANCE, "equipment_state.state"),
))
element(Element(
    "ttf_count", "次", "Failures with a known time to failure (the equipment's running time is recorded)",
    "SELECT unit_id, day, CAST(count(*) AS DOUBLE) AS value FROM failure_ttf WHERE ttf_s IS NOT NULL GROUP BY ALL",
    "equipment", (*_MAINTENANCE, "equipment_state.state"),
))
element(Element(
    "cmt_s", "s", "CMT corrective maintenance time: Σ time to restoration (TTR) of failures",
    f"SELECT unit_id, day, cmt_s AS value FROM ({_EVENTS})", "equipment", _MAINTENANCE,
))
element(Element(
    "pmt_s", "s", "PMT preventive maintenance time: Σ duration of preventive work done",
    f"SELECT unit_id, day, pmt_s AS value FROM ({_EVENTS})", "equipment", _MAINTENANCE,
))
element(Element(
    "pm_planned", "次", "Preventive orders planned, by planned date (done or not)",
    f"SELECT unit_id, day, planned AS value FROM ({_PM})", "equipment",
    ("maintenance_event.kind", "maintenance_event.planned_on"),
))
element(Element(
    "pm_on_time", "次", "Preventive orders finished on or before their planned (production) day, by planned date",
    f"SELECT unit_id, day, on_time AS value FROM ({_PM})", "equipment",
    ("maintenance_event.kind", "maintenance_event.planned_on", "maintenance_event.end_at"),
))

# --- orders (ERP sales_order, purchase_order), per plant, on the delivery or receipt date --------------
_SALES = """SELECT unit_id, delivered_on AS day, CAST(count(*) AS DOUBLE) AS lines,
    CAST(count(*) FILTER (WHERE delivered_on <= promised_on) AS DOUBLE) AS on_time,
    CAST(count(*) FILTER (WHERE delivered_on <= promised_on AND delivered_qty >= quantity) AS DOUBLE) AS otif,
    CAST(SUM(delivered_on - ordered_on) AS DOUBLE) AS days
    FROM sales_order WHERE delivered_on IS NOT NULL GROUP BY ALL"""
_PURCHASES = """SELECT unit_id, received_on AS day, CAST(count(*) AS DOUBLE) AS lines,
    CAST(count(*) FILTER (WHERE received_on <= promised_on) AS DOUBLE) AS on_time,
    SUM(received_qty) AS received, SUM(accepted_qty) AS accepted
    FROM purchase_order WHERE received_on IS NOT NULL GROUP BY ALL"""


def _from(name: str, unit: str, description: str, query: str, column: str, source: tuple[str, ...]) -> Element:
    return element(Element(name, unit, description, f"SELECT unit_id, day, {column} AS value FROM ({query})",
                           "plant", source))


_SO = ("sales_order.delivered_on", "sales_order.promised_on")
_PO = ("purchase_order.received_on", "purchase_order.promised_on")
_from("so_lines_delivered", "行", "Sales order lines delivered, by delivery date", _SALES, "lines", _SO)
_from("so_lines_on_time", "行", "Sales order lines delivered on or before the promised date", _SALES, "on_time", _SO)
_from("so_lines_otif", "行", "Sales order lines delivered on time and in full (delivered_qty ≥ quantity)", _SALES,
      "otif", (*_SO, "sales_order.quantity", "sales_order.delivered_qty"))
_from("so_cycle_days", "天", "Σ days from order to delivery of the delivered lines", _SALES, "days",
      ("sales_order.ordered_on", "sales_order.delivered_on"))
_from("po_lines_received", "行", "Purchase order lines received, by receipt date", _PURCHASES, "lines", _PO)
_from("po_lines_on_time", "行", "Purchase order lines received on or before the promised date", _PURCHASES,
      "on_time", _PO)
_from("po_received_qty", "件", "Quantity received from suppliers", _PURCHASES, "received",
      ("purchase_order.received_on", "purchase_order.received_qty"))
_from("po_accepted_qty", "件", "Quantity accepted by incoming inspection", _PURCHASES, "accepted",
      ("purchase_order.received_on", "purchase_order.accepted_qty"))

# --- quality (QMS), per line ----------------------------------------------------------------------------
# Incoming lots inspect suppliers' parts: they belong to incoming quality, not to the plant's DPPM.
_LOTS = "FROM quality_inspection WHERE stage IS NULL OR stage <> 'incoming'"
element(Element(
    "inspected_qty", "件", "Parts inspected in in-process and final lots (incoming lots excluded)",
    f"SELECT unit_id, prod_day(inspected_at) AS day, SUM(inspected_qty) AS value {_LOTS} GROUP BY ALL",
    "line", ("quality_inspection.inspected_qty", "quality_inspection.inspected_at"), per_shift=True,
))
element(Element(
    "defective_qty", "件", "Defective parts found in in-process and final lots (incoming lots excluded)",
    f"SELECT unit_id, prod_day(inspected_at) AS day, SUM(defective_qty) AS value {_LOTS} GROUP BY ALL",
    "line", ("quality_inspection.defective_qty", "quality_inspection.inspected_at"), per_shift=True,
))
element(Element(
    "fp_tested_qty", "件", "IP parts tested for the first time",
    "SELECT unit_id, prod_day(tested_at) AS day, SUM(tested_qty) AS value FROM first_pass_test GROUP BY ALL",
    "line", ("first_pass_test.tested_qty", "first_pass_test.tested_at"), per_shift=True,
))
element(Element(
    "fp_passed_qty", "件", "GP parts good at the first test",
    "SELECT unit_id, prod_day(tested_at) AS day, SUM(first_pass_qty) AS value FROM first_pass_test GROUP BY ALL",
    "line", ("first_pass_test.first_pass_qty", "first_pass_test.tested_at"), per_shift=True,
))
# Deviations from a per-group reference (the middle of the limits, or the one limit) keep Σd² exact
# enough: raw diameters of 40 mm with a spread of microns would lose digits in Σx² − (Σx)²/n.
element(Element(
    "measured_n", "个", "Measurements of quality characteristics (the sample of Cp and Cpk; parts of a machine "
    "study are left out)",
    "SELECT unit_id, prod_day(measured_at) AS day, CAST(count(*) AS DOUBLE) AS value FROM measurement "
    "WHERE study_id IS NULL GROUP BY ALL",
    "line", ("measurement.value", "measurement.lsl", "measurement.usl", "measurement.characteristic"),
    sample_sql="""SELECT unit_id, prod_day(measured_at) AS day, characteristic, lsl, usl,
        count(*) AS n, SUM(value - COALESCE((lsl + usl) / 2, lsl, usl)) AS sum_d,
        SUM((value - COALESCE((lsl + usl) / 2, lsl, usl)) ** 2) AS sum_dd
        FROM measurement WHERE study_id IS NULL GROUP BY ALL""",
))


# Readings are summed per meter and production day first (meter_day), so the dated-factor lookup
# runs on thousands of rows instead of millions of 15-minute readings, once for both scopes.
# Gas with a measured calorific value (the reading's, else its meter's) is converted per kJ, like the energy
# element; the rest per unit by the dated factor of the configured series.
_shared("carbon_day", "SELECT m.unit_id, d.day, f.scope, SUM(COALESCE(d.ncv_kj * k.kgco2_per_unit, "
        "d.quantity_ncv * f.kgco2_per_unit, 0) + (d.quantity - COALESCE(d.quantity_ncv, 0)) "
        "* COALESCE(m.ncv_kj_m3 * k.kgco2_per_unit, f.kgco2_per_unit)) AS kg "
        "FROM meter_day d JOIN meter m USING (meter_id) "
        "ASOF JOIN (SELECT * FROM carbon_factor WHERE series = getvariable('carbon_series')) f "
        "ON f.medium = m.medium AND year(d.day) >= f.year "
        f"ASOF LEFT JOIN (SELECT * FROM carbon_factor WHERE series = '{NCV_VARIANT}') k "
        "ON k.medium = m.medium AND year(d.day) >= k.year GROUP BY ALL")


def _carbon(name: str, scope: int) -> Element:
    return element(Element(
        name, "kgCO2",
        f"Scope {scope} CO2: metered quantity × the dated factor of its medium in the configured series "
        "(the latest published year at or before the reading's year); natural gas with a measured low calorific "
        "value by kJ × 55.539 kgCO2/GJ (GB/T 32150-2015 defaults)",
        f"SELECT unit_id, day, kg AS value FROM carbon_day WHERE scope = {scope}",
        "workshop", ("energy_reading.quantity", "meter.medium"), per_shift=True,
    ))


_carbon("co2_scope1_kg", 1)  # fuel burnt on site
_carbon("co2_scope2_kg", 2)  # purchased electricity and heat (steam in tonnes once the plant adds a factor)


element(Element(
    "inventory_value_day_cny", "元·日", "Inventory value summed over snapshot days (Σ daily closing value)",
    "SELECT unit_id, snapshot_on AS day, SUM(value_cny) AS value FROM inventory_snapshot GROUP BY ALL",
    "plant", ("inventory_snapshot.value_cny", "inventory_snapshot.snapshot_on"),
))
element(Element(
    "cogs_cny", "元", "Cost of sales (ERP, monthly)",
    "SELECT unit_id, month_on AS day, SUM(amount_cny) AS value FROM operating_cost "
    "WHERE category = 'cost_of_sales' GROUP BY ALL",
    "plant", ("operating_cost.amount_cny", "operating_cost.category"),
))

# One row per (unit, production order) from every record of the order: `production_record_whole` is the whole
# table even in an incremental compute, restricted there to the orders with records in the recomputed months,
# so an order that started before them is still booked on its first day with its whole span.
_shared("order_unit", "SELECT unit_id, order_id, min(start_at) AS start_at, max(end_at) AS end_at, "
        "SUM(produced_qty) AS pq, SUM(scrap_qty) AS sq FROM production_record_whole WHERE order_id IS NOT NULL "
        "GROUP BY unit_id, order_id")
element(Element(
    "aoet_s", "s", "AOET actual order execution time: from an order's first to its last record on the unit, "
    "booked on the production day the order started there",
    "SELECT unit_id, prod_day(start_at) AS day, SUM(epoch(end_at) - epoch(start_at)) AS value FROM order_unit "
    "GROUP BY ALL",
    "line", ("production_record.order_id", "production_record.start_at", "production_record.end_at"),
))


# --- ISO 22400-2 KPIs 1, 14, 18-20, 24-30: personnel, planned scrap, fall-off, machine studies, material ---
# Optional columns (attendance_h, planned_scrap_qty) are read only where filled, and each element pairs its
# sides on the same rows or days, so a plant reporting them for some shifts is not diluted by the others.
_ATTENDED = "FROM labor_time WHERE attendance_h IS NOT NULL GROUP BY ALL"
element(Element(
    "apwt_h", "h", "APWT actual personnel work time: hours booked on production orders, of the shifts that "
    "also record attendance",
    f"SELECT unit_id, prod_day(shift_start_at) AS day, SUM(worker_h) AS value {_ATTENDED}",
    "line", ("labor_time.worker_h", "labor_time.attendance_h"), per_shift=True,
))
element(Element(
    "apat_h", "h", "APAT actual personnel attendance time at the unit (clock-on to clock-off, breaks excluded)",
    f"SELECT unit_id, prod_day(shift_start_at) AS day, SUM(attendance_h) AS value {_ATTENDED}",
    "line", ("labor_time.attendance_h",), per_shift=True,
))
element(Element(
    "psq_qty", "件", "PSQ planned scrap quantity of the shifts' plans",
    "SELECT unit_id, prod_day(shift_start_at) AS day, SUM(planned_scrap_qty) AS value FROM planned_time "
    "WHERE planned_scrap_qty IS NOT NULL GROUP BY ALL",
    "line", ("planned_time.planned_scrap_qty",), per_shift=True,
))
element(Element(
    "sq_planned_days", "件", "SQ scrap quantity on the production days whose plan carries a planned scrap (PSQ)",
    "SELECT r.unit_id, r.day, r.value FROM (SELECT unit_id, prod_day(start_at) AS day, SUM(scrap_qty) AS value "
    "FROM production_record GROUP BY ALL) r SEMI JOIN (SELECT unit_id, prod_day(shift_start_at) AS day "
    "FROM planned_time WHERE planned_scrap_qty IS NOT NULL) p ON p.unit_id = r.unit_id AND p.day = r.day",
    "line", ("production_record.scrap_qty", "planned_time.planned_scrap_qty"), per_shift=True,
))
# Fall-off: each work unit an order passes is one operation step; the first operation is the unit where the
# order's first record starts (ties: the lower unit id). Both sides of a (unit, order) are booked on the
# production day the order started on that unit, like AOET.
_FALL_OFF = """WITH first_op AS (SELECT order_id, arg_min(pq, (start_at, unit_id)) AS first_pq FROM order_unit GROUP BY order_id)
SELECT r.unit_id, prod_day(r.start_at) AS day, SUM(r.sq) AS sq, SUM(f.first_pq) AS first_pq
FROM order_unit r JOIN first_op f USING (order_id) GROUP BY ALL"""
_ORDERS = ("production_record.order_id", "production_record.start_at")
element(Element(
    "fall_off_qty", "件", "SQ scrap of production orders at each work unit (operation step) they pass",
    f"SELECT unit_id, day, sq AS value FROM ({_FALL_OFF})", "line", (*_ORDERS, "production_record.scrap_qty"),
))
element(Element(
    "first_op_pq", "件", "PQ of the first operation of the production orders a work unit processed",
    f"SELECT unit_id, day, first_pq AS value FROM ({_FALL_OFF})", "line",
    (*_ORDERS, "production_record.produced_qty"),
))
# A machine study is its own sample: its id is part of the characteristic, so two studies of one machine in a
# month are never pooled, and the machine shows its least capable study.
element(Element(
    "study_n", "个", "Parts measured in machine capability studies (the sample of Cm and Cmk)",
    "SELECT unit_id, prod_day(measured_at) AS day, CAST(count(*) AS DOUBLE) AS value FROM measurement "
    "WHERE study_id IS NOT NULL GROUP BY ALL",
    "equipment", ("measurement.study_id", "measurement.value", "measurement.lsl", "measurement.usl"),
    sample_sql="""SELECT unit_id, min(prod_day(measured_at)) AS day, study_id || ' ' || characteristic AS characteristic,
        lsl, usl, count(*) AS n, SUM(value - COALESCE((lsl + usl) / 2, lsl, usl)) AS sum_d,
        SUM((value - COALESCE((lsl + usl) / 2, lsl, usl)) ** 2) AS sum_dd
        FROM measurement WHERE study_id IS NOT NULL GROUP BY unit_id, study_id, characteristic, lsl, usl""",
))


def _material(name: str, column: str, description: str) -> Element:
    return element(Element(
        name, "kg", description,
        f"SELECT unit_id, prod_day(start_at) AS day, SUM({column}) AS value FROM material_consumption GROUP BY ALL",
        "line", (f"material_consumption.{column}", "material_consumption.start_at"), per_shift=True,
    ))


_material("cm_kg", "consumed_kg", "CM consumed material, kg")
_material("fgq_kg", "finished_kg", "GQ good finished products of the material balance, kg")
_material("igq_kg", "integrated_kg", "IGQ integrated goods (all products of every grade), kg")
_material("pl_kg", "production_loss_kg", "PL production loss, kg")
_material("stl_kg", "storage_loss_kg", "STL storage and transportation loss, kg")
_material("ol_kg", "other_loss_kg", "OL other loss, kg")
# --- end of the ISO 22400-2 additions ---------------------------------------------------------------------


# --- operations: warehouse (WMS), complaints (CRM), forecast and maintenance cost (ERP), green power (EMS) ---
# Each count comes with its "good" count from the same query, so a day with lines but no good line gives a
# real 0 rather than a missing numerator.
_COUNTS = """SELECT unit_id, prod_day(counted_at) AS day, CAST(count(*) AS DOUBLE) AS lines,
    CAST(count(*) FILTER (WHERE abs(counted_qty - book_qty) * 100 <= COALESCE(tolerance_pct, 0) * book_qty)
         AS DOUBLE) AS accurate
    FROM cycle_count GROUP BY ALL"""
_PICKS = """SELECT unit_id, prod_day(picked_at) AS day, CAST(count(*) AS DOUBLE) AS lines,
    CAST(count(*) FILTER (WHERE error_code IS NULL) AS DOUBLE) AS correct FROM pick_task GROUP BY ALL"""
_RECEIPTS = """SELECT unit_id, prod_day(stocked_at) AS day, CAST(count(*) AS DOUBLE) AS receipts,
    SUM(epoch(stocked_at) - epoch(docked_at)) / 3600.0 AS hours
    FROM goods_receipt WHERE stocked_at IS NOT NULL GROUP BY ALL"""
_CC = ("cycle_count.counted_at", "cycle_count.book_qty", "cycle_count.counted_qty")
_from("cc_lines", "行", "Cycle-count lines counted", _COUNTS, "lines", _CC)
_from("cc_lines_accurate", "行", "Cycle-count lines whose counted quantity is within the tolerance of the book "
      "quantity (|counted − book| ≤ tolerance % × book; exact match without a tolerance)", _COUNTS, "accurate",
      (*_CC, "cycle_count.tolerance_pct"))
_from("pick_lines", "行", "Order lines picked", _PICKS, "lines", ("pick_task.picked_at",))
_from("pick_lines_correct", "行", "Order lines picked without an error (no error_code)", _PICKS, "correct",
      ("pick_task.picked_at", "pick_task.error_code"))
_GR = ("goods_receipt.docked_at", "goods_receipt.stocked_at")
_from("gr_stocked", "行", "Receipt lines put away, by put-away day", _RECEIPTS, "receipts", _GR)
_from("gr_dock_to_stock_h", "h", "Σ hours from arrival at the dock to put-away of the receipt lines put away",
      _RECEIPTS, "hours", _GR)

# Complaints received, by received date. A plant's delivery days count 0 complaints from the month of its first
# complaint record on (its complaint data is loaded), so a month without complaints is a real 0, not 'no data'.
_from("complaints", "次", "Customer complaints received (rejected as unfounded excluded); 0 on delivery days of "
      "a plant whose complaints are loaded",
      """WITH since AS (SELECT unit_id, date_trunc('month', min(received_on)) AS first_day FROM complaint GROUP BY ALL)
      SELECT unit_id, day, SUM(n) AS n FROM (
          SELECT unit_id, received_on AS day, 1.0 AS n FROM complaint WHERE status IS DISTINCT FROM 'rejected'
          UNION ALL
          SELECT s.unit_id, s.delivered_on, 0.0 FROM sales_order s JOIN since f USING (unit_id)
          WHERE s.delivered_on >= f.first_day)
      GROUP BY ALL""", "n", ("complaint.received_on", "complaint.status"))

# Forecast error per plant, product and month: the months a plant has a forecast for, against the quantity
# delivered in them (sales_order by delivery date: a forecast plans shipments, and a month's deliveries are
# complete at its end, while its orders are not). Sales without a forecast are all error; a forecast without
# sales too. Summed per month, the KPI is 1 − Σ|F − A| / Σ A (a ratio of sums, so it rolls up).
_FORECAST = """WITH f AS (SELECT unit_id, product_id, month_on, SUM(forecast_qty) AS qty FROM demand_forecast GROUP BY ALL),
    a AS (SELECT unit_id, product_id, CAST(date_trunc('month', delivered_on) AS DATE) AS month_on,
                 SUM(delivered_qty) AS qty FROM sales_order WHERE delivered_on IS NOT NULL GROUP BY ALL),
    covered AS (SELECT DISTINCT unit_id, month_on FROM f)
    SELECT c.unit_id, c.month_on AS day, SUM(COALESCE(a.qty, 0)) AS actual,
           SUM(abs(COALESCE(f.qty, 0) - COALESCE(a.qty, 0))) AS abs_error
    FROM covered c
    JOIN (SELECT unit_id, product_id, month_on FROM f UNION SELECT unit_id, product_id, month_on FROM a) k
        USING (unit_id, month_on)
    LEFT JOIN f USING (unit_id, product_id, month_on) LEFT JOIN a USING (unit_id, product_id, month_on)
    GROUP BY ALL"""
_FC = ("demand_forecast.forecast_qty", "demand_forecast.month_on", "sales_order.delivered_on",
       "sales_order.delivered_qty")
_from("demand_actual_qty", "件", "Quantity delivered (sales_order by delivery month) in the months a forecast covers",
      _FORECAST, "actual", _FC)
_from("forecast_abs_error_qty", "件", "Σ |forecast − delivered| per product and month (months with a forecast)",
      _FORECAST, "abs_error", _FC)

element(Element(
    "maintenance_cost_cny", "元", "Maintenance cost posted (labour, spare parts, external services)",
    "SELECT unit_id, posted_on AS day, SUM(amount_cny) AS value FROM maintenance_cost GROUP BY ALL",
    "equipment", ("maintenance_cost.amount_cny", "maintenance_cost.posted_on"),
))
_from("green_kwh", "kWh", "Green electricity: on-site renewable used on site + green contracts + green certificates",
      "SELECT unit_id, month_on AS day, SUM(quantity_kwh) AS value FROM green_electricity GROUP BY ALL", "value",
      ("green_electricity.quantity_kwh", "green_electricity.month_on"))
element(Element(
    "electricity_kwh", "kWh", "Electricity consumed: Σ readings of the electricity meters (kWh)",
    "SELECT m.unit_id, r.day, SUM(r.quantity) AS value "
    "FROM meter_day r JOIN meter m USING (meter_id) WHERE m.medium = 'electricity' GROUP BY ALL",
    "workshop", ("energy_reading.quantity", "meter.medium"), per_shift=True,
))
