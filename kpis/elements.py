"""Elements: the ISO 22400 time and quantity elements and business measures, per unit and production day.

`prod_day(ts)` is a macro the engine defines from the configured production-day start, so a night
shift belongs to the day it starts. Equipment states map to ISO 22400 time elements:
running -> APT, setup -> AUST, breakdown and minor stop -> ADET, idle -> ADOT, planned stop -> PDOT.
"""

from __future__ import annotations

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
_shared("meter_day", "SELECT meter_id, prod_day(start_at) AS day, SUM(quantity) AS quantity FROM energy_reading "
        "GROUP BY ALL")
_shared("production_day", "SELECT unit_id, prod_day(start_at) AS day, product_id, SUM(produced_qty) AS produced_qty, "
        "SUM(good_qty) AS good_qty, SUM(scrap_qty) AS scrap_qty, SUM(rework_qty) AS rework_qty "
        "FROM production_record GROUP BY ALL")


def _production(name: str, expr: str, unit: str, description: str) -> Element:
    return element(Element(
        name, unit, description,
        f"SELECT unit_id, day, SUM({expr}) AS value FROM production_day GROUP BY ALL",
        "line", (f"production_record.{expr}", "production_record.start_at"),
    ))


def _state(name: str, states: tuple[str, ...], description: str) -> Element:
    listed = ", ".join(f"'{s}'" for s in states)
    return element(Element(
        name, "s", description,
        f"SELECT unit_id, day, SUM(seconds) AS value FROM state_day WHERE state IN ({listed}) GROUP BY ALL",
        "line", ("equipment_state.state", "equipment_state.start_at", "equipment_state.end_at"),
    ))


_production("produced_qty", "produced_qty", "件", "PQ produced quantity")
_production("good_qty", "good_qty", "件", "GQ good quantity")
_production("scrap_qty", "scrap_qty", "件", "SQ scrap quantity")
_production("rework_qty", "rework_qty", "件", "RQ rework quantity")

element(Element(
    "pru_pq_s", "s", "PRU × PQ: ideal cycle time times produced quantity (ISO 22400 effectiveness numerator)",
    "SELECT r.unit_id, r.day, SUM(p.ideal_cycle_s * r.produced_qty) AS value "
    "FROM production_day r JOIN product p USING (product_id) GROUP BY ALL",
    "line", ("production_record.produced_qty", "product.ideal_cycle_s"),
))
element(Element(
    "std_h", "h", "Standard hours earned: Σ ideal cycle time × good quantity / 3600",
    "SELECT r.unit_id, r.day, SUM(p.ideal_cycle_s * r.good_qty) / 3600.0 AS value "
    "FROM production_day r JOIN product p USING (product_id) GROUP BY ALL",
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
    "SELECT m.unit_id, r.day, SUM(r.quantity * c.kgce_per_unit) AS value "
    "FROM meter_day r JOIN meter m USING (meter_id) "
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
    "line", ("quality_inspection.inspected_qty", "quality_inspection.inspected_at"),
))
element(Element(
    "defective_qty", "件", "Defective parts found in in-process and final lots (incoming lots excluded)",
    f"SELECT unit_id, prod_day(inspected_at) AS day, SUM(defective_qty) AS value {_LOTS} GROUP BY ALL",
    "line", ("quality_inspection.defective_qty", "quality_inspection.inspected_at"),
))
element(Element(
    "fp_tested_qty", "件", "IP parts tested for the first time",
    "SELECT unit_id, prod_day(tested_at) AS day, SUM(tested_qty) AS value FROM first_pass_test GROUP BY ALL",
    "line", ("first_pass_test.tested_qty", "first_pass_test.tested_at"),
))
element(Element(
    "fp_passed_qty", "件", "GP parts good at the first test",
    "SELECT unit_id, prod_day(tested_at) AS day, SUM(first_pass_qty) AS value FROM first_pass_test GROUP BY ALL",
    "line", ("first_pass_test.first_pass_qty", "first_pass_test.tested_at"),
))
# Deviations from a per-group reference (the middle of the limits, or the one limit) keep Σd² exact
# enough: raw diameters of 40 mm with a spread of microns would lose digits in Σx² − (Σx)²/n.
element(Element(
    "measured_n", "个", "Measurements of quality characteristics (the sample of Cp and Cpk)",
    "SELECT unit_id, prod_day(measured_at) AS day, CAST(count(*) AS DOUBLE) AS value FROM measurement GROUP BY ALL",
    "line", ("measurement.value", "measurement.lsl", "measurement.usl", "measurement.characteristic"),
    sample_sql="""SELECT unit_id, prod_day(measured_at) AS day, characteristic, lsl, usl,
        count(*) AS n, SUM(value - COALESCE((lsl + usl) / 2, lsl, usl)) AS sum_d,
        SUM((value - COALESCE((lsl + usl) / 2, lsl, usl)) ** 2) AS sum_dd
        FROM measurement GROUP BY ALL""",
))


# Readings are summed per meter and production day first (meter_day), so the dated-factor lookup
# runs on thousands of rows instead of millions of 15-minute readings, once for both scopes.
_shared("carbon_day", "SELECT m.unit_id, d.day, f.scope, SUM(d.quantity * f.kgco2_per_unit) AS kg "
        "FROM meter_day d JOIN meter m USING (meter_id) "
        "ASOF JOIN (SELECT * FROM carbon_factor WHERE series = getvariable('carbon_series')) f "
        "ON f.medium = m.medium AND year(d.day) >= f.year GROUP BY ALL")


def _carbon(name: str, scope: int) -> Element:
    return element(Element(
        name, "kgCO2",
        f"Scope {scope} CO2: metered quantity × the dated factor of its medium in the configured series "
        "(the latest published year at or before the reading's year)",
        f"SELECT unit_id, day, kg AS value FROM carbon_day WHERE scope = {scope}",
        "workshop", ("energy_reading.quantity", "meter.medium"),
    ))


_carbon("co2_scope1_kg", 1)  # fuel burnt on site
_carbon("co2_scope2_kg", 2)  # purchased electricity (heat and steam once the plant configures factors)


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

element(Element(
    "aoet_s", "s", "AOET actual order execution time: from an order's first to its last record on the unit, "
    "booked on the production day the order started there",
    "SELECT unit_id, prod_day(min(start_at)) AS day, SUM(span) AS value FROM ("
    "SELECT unit_id, order_id, min(start_at) AS start_at, epoch(max(end_at)) - epoch(min(start_at)) AS span "
    "FROM production_record WHERE order_id IS NOT NULL GROUP BY unit_id, order_id) GROUP BY unit_id, prod_day(start_at)",
    "line", ("production_record.order_id", "production_record.start_at", "production_record.end_at"),
))
