"""The canonical DuckDB model: one declaration that creates the tables, drives validation and writes docs.

Timestamps are naive plant-local time (the exports of Chinese MES/ERP systems carry no zone; the
plant's zone is declared once in the config). Quantities follow ISO 22400:
produced = good + scrap + rework.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from connectors.units import MEDIUM_UNITS

LEVELS = ("enterprise", "plant", "workshop", "line", "equipment")
STATES = ("running", "setup", "breakdown", "minor_stop", "idle", "planned_stop")
MEDIA = tuple(MEDIUM_UNITS)
MAINTENANCE_KINDS = ("corrective", "preventive")
# Units known as something other than equipment. The row check is SQL over the staged batch, where
# the batch's own columns are rewritten to the typed relation; renaming org_unit's columns keeps
# them out of that rewrite.
_NOT_EQUIPMENT = "SELECT o.id FROM org_unit AS o(id, parent, lvl) WHERE o.lvl <> 'equipment'"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type
    description: str
    required: bool = True
    min_value: float | None = None
    accepted: tuple[str, ...] = ()
    references: str | None = None  # "org_unit" / "product" / "meter": must be known master data
    not_future: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    system: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    time_column: str | None = None  # drives freshness ("data as of")
    row_checks: tuple[tuple[str, str], ...] = field(default=())  # (reason, SQL that is TRUE for a bad row)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _c(name, type_, description, **kw) -> Column:
    return Column(name, type_, description, **kw)


QTY = dict(min_value=0)
# Natural gas has a low calorific value of roughly 31-40 MJ/m³: a value far outside is almost always
# given in MJ/m³ or kcal/m³, and would move the energy KPIs by a factor of 1000 or 4.
# A meter's unit must be the one its medium's readings are stored in: coefficients and carbon factors are
# per that unit, so a diesel meter declared in kg would otherwise count a thousand times too little.
_MEDIUM_UNIT = "CASE medium " + " ".join(f"WHEN '{m}' THEN '{u}'" for m, u in MEDIUM_UNITS.items()) + " END"
_NCV_CHECKS = (("ncv_kj_m3 outside 20 000-50 000 kJ/m³ (natural gas; given in MJ/m³ or kcal/m³?)",
                "ncv_kj_m3 < 20000 OR ncv_kj_m3 > 50000"),)

STREAMS: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "org_unit",
            "master",
            "Organisation tree enterprise > plant > workshop > line > equipment (ISA-95 levels).",
            (
                _c("unit_id", "VARCHAR", "Unit code"),
                _c("parent_id", "VARCHAR", "Parent unit code; empty for the enterprise", required=False),
                _c("level", "VARCHAR", "Hierarchy level", accepted=LEVELS),
                _c("name_zh", "VARCHAR", "Chinese name"),
                _c("name_en", "VARCHAR", "English name"),
                _c("sort_order", "INTEGER", "Display order among siblings", required=False),
            ),
            key=("unit_id",),
        ),
        Table(
            "product",
            "master",
            "Products with ideal cycle time (ISO 22400 PRU) and unit price.",
            (
                _c("product_id", "VARCHAR", "Product code"),
                _c("name_zh", "VARCHAR", "Chinese name"),
                _c("name_en", "VARCHAR", "English name"),
                _c("family", "VARCHAR", "Product family"),
                _c("ideal_cycle_s", "DOUBLE", "Planned run time per unit, seconds (PRU)", min_value=0),
                _c("unit_price_cny", "DOUBLE", "List price per unit, CNY", min_value=0),
            ),
            key=("product_id",),
        ),
        Table(
            "meter",
            "master",
            "Energy meters with the medium they measure and the org unit they belong to.",
            (
                _c("meter_id", "VARCHAR", "Meter code"),
                _c("unit_id", "VARCHAR", "Org unit the meter serves", references="org_unit"),
                _c("medium", "VARCHAR", "Energy carrier", accepted=MEDIA),
                _c("uom", "VARCHAR", "Unit of the readings (kWh, m3, t)"),
                _c("name_zh", "VARCHAR", "Chinese name"),
                _c("ncv_kj_m3", "DOUBLE", "Natural gas meter: low (net) calorific value of the gas it measures, kJ per "
                   "m³ at the meter's volume basis (supplier contract or lab analysis); used instead of the default "
                   "GB/T 2589-2020 coefficient when its readings carry none", required=False, min_value=0),
            ),
            key=("meter_id",),
            row_checks=(
                *_NCV_CHECKS,
                ("uom must be the unit its medium is stored in: " + ", ".join(
                    f"{m} {u}" for m, u in MEDIUM_UNITS.items()) + " (declare an export's own unit, such as MWh, GJ "
                 "or kg, under [connectors.NAME.units] of its energy_reading connector: readings are converted on load)",
                 f"uom IS DISTINCT FROM {_MEDIUM_UNIT}"),
                ("ncv_kj_m3 is for natural gas meters only", "ncv_kj_m3 IS NOT NULL AND medium <> 'natural_gas'"),
                ("unit_id must be a workshop, line or equipment (energy KPIs start at workshop level; a meter "
                 "on a plant or the enterprise would count in no energy KPI)",
                 "unit_id IN (SELECT o.id FROM org_unit AS o(id, parent, lvl) WHERE o.lvl IN ('enterprise', 'plant'))"),
            ),
        ),
        Table(
            "production_record",
            "mes",
            "Produced, good, scrap and rework quantities per line, product and interval.",
            (
                _c("record_id", "VARCHAR", "Source record id"),
                _c("unit_id", "VARCHAR", "Line or equipment", references="org_unit"),
                _c("product_id", "VARCHAR", "Product", references="product"),
                _c("order_id", "VARCHAR", "Production order", required=False),
                _c("start_at", "TIMESTAMP", "Interval start (plant time)", not_future=True),
                _c("end_at", "TIMESTAMP", "Interval end (plant time)", not_future=True),
                _c("produced_qty", "DOUBLE", "PQ produced quantity", **QTY),
                _c("good_qty", "DOUBLE", "GQ good quantity", **QTY),
                _c("scrap_qty", "DOUBLE", "SQ scrap quantity", **QTY),
                _c("rework_qty", "DOUBLE", "RQ rework quantity", **QTY),
            ),
            key=("record_id",),
            time_column="end_at",
            row_checks=(
                ("produced_qty must equal good_qty + scrap_qty + rework_qty (ISO 22400)",
                 "abs(produced_qty - (good_qty + scrap_qty + rework_qty)) > 0.001"),
                ("end_at must be after start_at", "end_at <= start_at"),
            ),
        ),
        Table(
            "equipment_state",
            "mes",
            "State intervals of a work unit (running, setup, breakdown, minor stop, idle, planned stop) with reason codes.",
            (
                _c("unit_id", "VARCHAR", "Line or equipment", references="org_unit"),
                _c("start_at", "TIMESTAMP", "State start (plant time)", not_future=True),
                _c("end_at", "TIMESTAMP", "State end (plant time)", not_future=True),
                _c("state", "VARCHAR", "State, mapped to ISO 22400 time elements", accepted=STATES),
                _c("reason_code", "VARCHAR", "Reason code for stops", required=False),
            ),
            key=("unit_id", "start_at"),
            time_column="end_at",
            row_checks=(("end_at must be after start_at", "end_at <= start_at"),),
        ),
        Table(
            "planned_time",
            "mes",
            "Planned operation time (POT), planned quantity and planned scrap (PSQ) per unit and shift.",
            (
                _c("unit_id", "VARCHAR", "Line", references="org_unit"),
                _c("shift_start_at", "TIMESTAMP", "Shift start (plant time)"),
                _c("shift_code", "VARCHAR", "Shift (A/B/C)", required=False),
                _c("planned_s", "DOUBLE", "POT planned operation time, seconds", **QTY),
                _c("planned_qty", "DOUBLE", "Planned quantity", **QTY),
                _c("planned_scrap_qty", "DOUBLE", "PSQ planned scrap quantity: the scrap allowance the plan (ERP) "
                   "allocates material for; empty when the plan carries none", required=False, **QTY),
            ),
            key=("unit_id", "shift_start_at"),
            time_column="shift_start_at",
        ),
        Table(
            "labor_time",
            "mes",
            "Direct labour hours per unit and shift: hours booked on production orders (ISO 22400 APWT) and, "
            "where the MES records clock-on and clock-off at the unit, the crew's attendance (APAT).",
            (
                _c("unit_id", "VARCHAR", "Line", references="org_unit"),
                _c("shift_start_at", "TIMESTAMP", "Shift start (plant time)", not_future=True),
                _c("worker_h", "DOUBLE", "Direct labour hours: APWT, personnel hours booked on production orders",
                   **QTY),
                _c("attendance_h", "DOUBLE", "APAT actual personnel attendance hours at the unit (clock-on to "
                   "clock-off, authorised breaks excluded); empty when not recorded", required=False, **QTY),
            ),
            key=("unit_id", "shift_start_at"),
            time_column="shift_start_at",
            row_checks=(("worker_h exceeds attendance_h (hours booked on orders beyond the hours attended)",
                         "worker_h > attendance_h + 0.001"),),
        ),
        Table(
            "quality_inspection",
            "mes",
            "Inspection lots: inspected and defective quantities with defect type.",
            (
                _c("lot_id", "VARCHAR", "Inspection lot id"),
                _c("unit_id", "VARCHAR", "Line", references="org_unit"),
                _c("product_id", "VARCHAR", "Product", references="product"),
                _c("inspected_at", "TIMESTAMP", "Inspection time (plant time)", not_future=True),
                _c("stage", "VARCHAR", "incoming / in_process / final", required=False),
                _c("inspected_qty", "DOUBLE", "Inspected quantity", **QTY),
                _c("defective_qty", "DOUBLE", "Defective quantity", **QTY),
                _c("defect_type", "VARCHAR", "Main defect type", required=False),
            ),
            key=("lot_id",),
            time_column="inspected_at",
            row_checks=(("defective_qty exceeds inspected_qty", "defective_qty > inspected_qty"),),
        ),
        Table(
            "maintenance_event",
            "mes",
            "Maintenance work orders per equipment: corrective (a failure, from its start to restoration) and "
            "preventive (planned on a date; start and end once done). Feeds MTBF, MTTF, MTTR, CMT / PMT and "
            "PM compliance.",
            (
                _c("event_id", "VARCHAR", "Work order id"),
                _c("unit_id", "VARCHAR", "Equipment the work order is for (the maintenance KPIs start at equipment "
                   "level)", references="org_unit"),
                _c("kind", "VARCHAR", "corrective (after a failure) or preventive (planned)", accepted=MAINTENANCE_KINDS),
                _c("failure_code", "VARCHAR", "Failure code of a corrective event (the breakdown reason codes of "
                   "equipment_state)", required=False),
                _c("start_at", "TIMESTAMP", "Failure (corrective) or work start (preventive), plant time; empty for "
                   "a preventive order not done", required=False, not_future=True),
                _c("end_at", "TIMESTAMP", "Restoration: the equipment is back in service (plant time)", required=False,
                   not_future=True),
                _c("planned_on", "DATE", "Planned date of a preventive order", required=False),
            ),
            key=("event_id",),
            time_column="end_at",
            row_checks=(
                ("end_at must be after start_at", "end_at <= start_at"),
                ("start_at and end_at come together (both empty only for a preventive order not done)",
                 "(start_at IS NULL) <> (end_at IS NULL)"),
                ("a corrective event needs start_at and end_at", "kind = 'corrective' AND start_at IS NULL"),
                ("a preventive event needs planned_on", "kind = 'preventive' AND planned_on IS NULL"),
                # A work order booked on a line or higher would silently count in no KPI (their lowest level is
                # equipment), so it is rejected with a reason the plant can act on.
                ("unit_id must be an equipment (book the work order on the machine that failed)",
                 f"unit_id IN ({_NOT_EQUIPMENT})"),
            ),
        ),
        Table(
            "measurement",
            "qms",
            "Measured values of quality characteristics with their specification limits (for Cp and Cpk; a "
            "one-sided characteristic leaves one limit empty). Parts of a machine capability study carry its "
            "study_id and feed Cm and Cmk instead.",
            (
                _c("measurement_id", "VARCHAR", "Measurement id"),
                _c("unit_id", "VARCHAR", "Line (or equipment) whose process made the part", references="org_unit"),
                _c("product_id", "VARCHAR", "Product", references="product"),
                _c("characteristic", "VARCHAR", "Characteristic measured (a drawing dimension, hardness, ...)"),
                _c("measured_at", "TIMESTAMP", "Measurement time (plant time)", not_future=True),
                _c("value", "DOUBLE", "Measured value, in the characteristic's unit"),
                _c("lsl", "DOUBLE", "Lower specification limit", required=False),
                _c("usl", "DOUBLE", "Upper specification limit", required=False),
                _c("study_id", "VARCHAR", "Machine capability study the part belongs to (Cm, Cmk: consecutive "
                   "parts from one machine in one session); empty for running process samples (Cp, Cpk)",
                   required=False),
            ),
            key=("measurement_id",),
            time_column="measured_at",
            row_checks=(
                ("a measurement needs at least one specification limit", "lsl IS NULL AND usl IS NULL"),
                ("lsl must be below usl", "lsl >= usl"),
                ("a machine study (study_id) must be booked on the equipment studied",
                 f"study_id IS NOT NULL AND unit_id IN ({_NOT_EQUIPMENT})"),
            ),
        ),
        Table(
            "first_pass_test",
            "qms",
            "First tests at a test or inspection station: parts tested for the first time (ISO 22400 IP) and "
            "parts that passed that first test with no rework, repair or retest (GP). Feeds first pass yield.",
            (
                _c("record_id", "VARCHAR", "Source record id"),
                _c("unit_id", "VARCHAR", "Line or test station", references="org_unit"),
                _c("product_id", "VARCHAR", "Product", references="product"),
                _c("tested_at", "TIMESTAMP", "End of the counted interval (plant time)", not_future=True),
                _c("tested_qty", "DOUBLE", "IP parts tested for the first time", **QTY),
                _c("first_pass_qty", "DOUBLE", "GP parts good at the first test", **QTY),
            ),
            key=("record_id",),
            time_column="tested_at",
            row_checks=(("first_pass_qty exceeds tested_qty", "first_pass_qty > tested_qty"),),
        ),
        # --- ISO 22400-2 material balance (KPIs 25-29) -------------------------------------------------
        Table(
            "material_consumption",
            "mes",
            "Material balance per unit, period (a shift or a production day) and consumed material, in kg: "
            "consumed material (ISO 22400 CM) and where it went: finished goods (GQ), integrated goods (IGQ: "
            "all saleable products, including reworked and lower grades), production loss (PL), storage and "
            "transportation loss (STL) and other loss (OL). What an MES material-balance (物料平衡) report holds; "
            "quantities are masses so goods and losses compare with the input.",
            (
                _c("unit_id", "VARCHAR", "Line that consumed the material", references="org_unit"),
                _c("start_at", "TIMESTAMP", "Start of the balance period (plant time)", not_future=True),
                _c("material_id", "VARCHAR", "Consumed material (item code)"),
                _c("consumed_kg", "DOUBLE", "CM consumed material issued to the unit, kg", **QTY),
                _c("finished_kg", "DOUBLE", "GQ good finished products, kg", **QTY),
                _c("integrated_kg", "DOUBLE", "IGQ integrated goods: all products of every grade, kg", **QTY),
                _c("production_loss_kg", "DOUBLE", "PL production loss (chips, offcuts, scrapped parts), kg",
                   **QTY),
                _c("storage_loss_kg", "DOUBLE", "STL storage and transportation loss, kg", **QTY),
                _c("other_loss_kg", "DOUBLE", "OL other loss (count differences, unexplained), kg", **QTY),
            ),
            key=("unit_id", "start_at", "material_id"),
            time_column="start_at",
            row_checks=(
                (("consumed_kg must equal integrated_kg + production_loss_kg + storage_loss_kg + other_loss_kg "
                  "(the balance closes; book the difference as other loss)"),
                 ("abs(consumed_kg - (integrated_kg + production_loss_kg + storage_loss_kg + other_loss_kg)) "
                  "> 0.001 * consumed_kg + 0.01")),
                ("finished_kg exceeds integrated_kg (finished goods are part of the integrated goods)",
                 "finished_kg > integrated_kg + 0.001"),
            ),
        ),
        # --- end of the ISO 22400-2 material balance --------------------------------------------------
        Table(
            "output_value",
            "erp",
            "Monthly output quantity and value per plant and product.",
            (
                _c("unit_id", "VARCHAR", "Plant", references="org_unit"),
                _c("product_id", "VARCHAR", "Product", references="product"),
                _c("month_on", "DATE", "First day of the month"),
                _c("quantity", "DOUBLE", "Output quantity", **QTY),
                _c("value_cny", "DOUBLE", "Output value, CNY", **QTY),
            ),
            key=("unit_id", "product_id", "month_on"),
            time_column="month_on",
        ),
        Table(
            "operating_cost",
            "erp",
            "Monthly operating cost per plant and category (cost of sales, selling, admin, R&D).",
            (
                _c("unit_id", "VARCHAR", "Plant", references="org_unit"),
                _c("category", "VARCHAR", "Cost category",
                   accepted=("cost_of_sales", "selling", "admin", "rnd", "finance")),
                _c("month_on", "DATE", "First day of the month"),
                _c("amount_cny", "DOUBLE", "Amount, CNY", **QTY),
            ),
            key=("unit_id", "category", "month_on"),
            time_column="month_on",
        ),
        Table(
            "headcount",
            "erp",
            "Monthly average employees per unit (mean of daily counts).",
            (
                _c("unit_id", "VARCHAR", "Plant or workshop", references="org_unit"),
                _c("month_on", "DATE", "First day of the month"),
                _c("avg_employees", "DOUBLE", "Monthly average headcount", **QTY),
            ),
            key=("unit_id", "month_on"),
            time_column="month_on",
        ),
        Table(
            "headcount_count",
            "erp",
            "Employees counted on a day per unit, as an HR roster exports them: daily counts, or month-end "
            "counts only. A month's average is the mean of its counts, or (previous month-end + month-end) / 2 "
            "when only month-end counts exist; a monthly average in headcount for the same unit and month wins.",
            (
                _c("unit_id", "VARCHAR", "Plant or workshop", references="org_unit"),
                _c("count_on", "DATE", "Day of the count"),
                _c("employees", "DOUBLE", "Employees on the roster that day", **QTY),
            ),
            key=("unit_id", "count_on"),
            time_column="count_on",
        ),
        Table(
            "sales_order",
            "erp",
            "Customer order lines: ordered, promised and delivered dates and quantities. An open line has no "
            "delivered_on; a line delivered in parts carries the date of the delivery that completed it.",
            (
                _c("order_id", "VARCHAR", "Sales order"),
                _c("line_no", "INTEGER", "Order line", min_value=1),
                _c("product_id", "VARCHAR", "Product", references="product"),
                _c("unit_id", "VARCHAR", "Plant that delivers", references="org_unit"),
                _c("ordered_on", "DATE", "Order date", not_future=True),
                _c("promised_on", "DATE", "Date committed to the customer"),
                _c("delivered_on", "DATE", "Delivery date; empty while the line is open", required=False,
                   not_future=True),
                _c("quantity", "DOUBLE", "Ordered quantity", **QTY),
                _c("delivered_qty", "DOUBLE", "Delivered quantity", required=False, **QTY),
            ),
            key=("order_id", "line_no"),
            time_column="delivered_on",
            row_checks=(
                ("promised_on is before ordered_on", "promised_on < ordered_on"),
                ("delivered_on is before ordered_on", "delivered_on < ordered_on"),
                ("a delivered line needs delivered_qty", "delivered_on IS NOT NULL AND delivered_qty IS NULL"),
            ),
        ),
        Table(
            "purchase_order",
            "erp",
            "Purchase order lines: supplier, promised and received dates, received and accepted (incoming "
            "inspection) quantities. An open line has no received_on.",
            (
                _c("order_id", "VARCHAR", "Purchase order"),
                _c("line_no", "INTEGER", "Order line", min_value=1),
                _c("supplier_id", "VARCHAR", "Supplier"),
                _c("item_id", "VARCHAR", "Purchased item"),
                _c("unit_id", "VARCHAR", "Receiving plant", references="org_unit"),
                _c("promised_on", "DATE", "Delivery date the supplier committed to"),
                _c("received_on", "DATE", "Goods receipt date; empty while the line is open", required=False,
                   not_future=True),
                _c("quantity", "DOUBLE", "Ordered quantity", **QTY),
                _c("received_qty", "DOUBLE", "Received quantity", required=False, **QTY),
                _c("accepted_qty", "DOUBLE", "Quantity accepted by incoming inspection", required=False, **QTY),
            ),
            key=("order_id", "line_no"),
            time_column="received_on",
            row_checks=(
                ("accepted_qty exceeds received_qty", "accepted_qty > received_qty"),
                ("a received line needs received_qty and accepted_qty",
                 "received_on IS NOT NULL AND (received_qty IS NULL OR accepted_qty IS NULL)"),
            ),
        ),
        Table(
            "inventory_snapshot",
            "wms",
            "End-of-day inventory per warehouse and item.",
            (
                _c("warehouse_id", "VARCHAR", "Warehouse"),
                _c("unit_id", "VARCHAR", "Plant owning the warehouse", references="org_unit"),
                _c("item_id", "VARCHAR", "Item"),
                _c("snapshot_on", "DATE", "Day"),
                _c("quantity", "DOUBLE", "Quantity on hand", **QTY),
                _c("value_cny", "DOUBLE", "Inventory value, CNY", **QTY),
            ),
            key=("warehouse_id", "item_id", "snapshot_on"),
            time_column="snapshot_on",
        ),
        Table(
            "stock_movement",
            "wms",
            "Goods receipts and issues.",
            (
                _c("movement_id", "VARCHAR", "Movement id"),
                _c("warehouse_id", "VARCHAR", "Warehouse"),
                _c("item_id", "VARCHAR", "Item"),
                _c("moved_at", "TIMESTAMP", "Movement time (plant time)", not_future=True),
                _c("direction", "VARCHAR", "in / out", accepted=("in", "out")),
                _c("quantity", "DOUBLE", "Quantity", **QTY),
            ),
            key=("movement_id",),
            time_column="moved_at",
        ),
        Table(
            "energy_reading",
            "ems",
            "Metered consumption per interval, in the meter's unit; intervals are keyed by their start.",
            (
                _c("meter_id", "VARCHAR", "Meter", references="meter"),
                _c("start_at", "TIMESTAMP", "Interval start (plant time)", not_future=True),
                _c("interval_s", "INTEGER", "Interval length, seconds", min_value=1),
                _c("quantity", "DOUBLE", "Consumption in the meter's unit", **QTY),
                _c("ncv_kj_m3", "DOUBLE", "Natural gas: low (net) calorific value measured for this interval, kJ/m³ "
                   "(gas chromatograph or the supplier's bill); wins over the meter's value", required=False,
                   min_value=0),
            ),
            key=("meter_id", "start_at"),
            time_column="start_at",
            row_checks=_NCV_CHECKS,
        ),
    )
}

# --- operations streams: WMS cycle counts, picks and receipts, CRM complaints, ERP demand forecast and
# maintenance cost, EMS green electricity ledger (feed the warehouse, complaint, forecast, maintenance cost
# and green power KPIs) ---
_NOT_PLANT = "SELECT o.id FROM org_unit AS o(id, parent, lvl) WHERE o.lvl <> 'plant'"
PICK_ERRORS = ("wrong_item", "wrong_qty", "wrong_lot", "damaged", "other")
COMPLAINT_CATEGORIES = ("quality", "delivery", "service", "other")
COMPLAINT_STATUSES = ("open", "closed", "rejected")
MAINTENANCE_COST_CATEGORIES = ("labour", "spare_parts", "external_service", "other")
GREEN_SOURCES = ("onsite_pv", "green_contract", "green_certificate")

OPERATIONS_STREAMS = (
    Table(
        "cycle_count",
        "wms",
        "Cycle-count lines: the book quantity of a bin and item when the count started and the quantity counted, "
        "with the item's count tolerance. Feeds inventory record accuracy.",
        (
            _c("count_id", "VARCHAR", "Count document and line"),
            _c("warehouse_id", "VARCHAR", "Warehouse"),
            _c("unit_id", "VARCHAR", "Plant owning the warehouse", references="org_unit"),
            _c("item_id", "VARCHAR", "Item"),
            _c("location_id", "VARCHAR", "Storage bin", required=False),
            _c("counted_at", "TIMESTAMP", "Count confirmed (plant time)", not_future=True),
            _c("book_qty", "DOUBLE", "Book (system) quantity of the bin and item", **QTY),
            _c("counted_qty", "DOUBLE", "Counted quantity", **QTY),
            _c("tolerance_pct", "DOUBLE", "Accepted deviation, % of the book quantity (by ABC class or item); "
               "empty means the count must match exactly", required=False, min_value=0),
        ),
        key=("count_id",),
        time_column="counted_at",
    ),
    Table(
        "pick_task",
        "wms",
        "Picked order lines (one warehouse task per line) with the error found at the packing or dispatch check "
        "or reported by the receiver. Feeds picking accuracy.",
        (
            _c("task_id", "VARCHAR", "Warehouse task"),
            _c("warehouse_id", "VARCHAR", "Warehouse"),
            _c("unit_id", "VARCHAR", "Plant owning the warehouse", references="org_unit"),
            _c("order_id", "VARCHAR", "Sales order, delivery or material request picked for", required=False),
            _c("line_no", "INTEGER", "Line of that order", required=False, min_value=1),
            _c("item_id", "VARCHAR", "Item"),
            _c("picked_at", "TIMESTAMP", "Pick confirmed (plant time)", not_future=True),
            _c("requested_qty", "DOUBLE", "Quantity to pick", **QTY),
            _c("picked_qty", "DOUBLE", "Quantity confirmed as picked", **QTY),
            _c("error_code", "VARCHAR", "Picking error found on the line; empty when none", required=False,
               accepted=PICK_ERRORS),
        ),
        key=("task_id",),
        time_column="picked_at",
    ),
    Table(
        "goods_receipt",
        "wms",
        "Inbound receipt lines: arrival at the dock and put-away into stock (after any incoming inspection). "
        "Feeds dock-to-stock time; a line not yet put away has no stocked_at.",
        (
            _c("receipt_id", "VARCHAR", "Inbound delivery line"),
            _c("warehouse_id", "VARCHAR", "Warehouse"),
            _c("unit_id", "VARCHAR", "Receiving plant", references="org_unit"),
            _c("order_id", "VARCHAR", "Purchase order", required=False),
            _c("line_no", "INTEGER", "Purchase order line", required=False, min_value=1),
            _c("item_id", "VARCHAR", "Item"),
            _c("docked_at", "TIMESTAMP", "Arrival at the dock (goods receipt posted, plant time)", not_future=True),
            _c("stocked_at", "TIMESTAMP", "Put-away confirmed, available in stock (plant time)", required=False,
               not_future=True),
            _c("quantity", "DOUBLE", "Received quantity", **QTY),
        ),
        key=("receipt_id",),
        time_column="stocked_at",
        row_checks=(("stocked_at is before docked_at", "stocked_at < docked_at"),),
    ),
    Table(
        "complaint",
        "crm",
        "Customer complaints as the CRM or QMS registers them, against the plant that delivered. Feeds the "
        "complaint rate; a complaint rejected as unfounded after investigation is not counted.",
        (
            _c("complaint_id", "VARCHAR", "Complaint number"),
            _c("unit_id", "VARCHAR", "Plant that delivered (complaints count against its deliveries)",
               references="org_unit"),
            _c("customer_id", "VARCHAR", "Customer", required=False),
            _c("product_id", "VARCHAR", "Product complained about", required=False, references="product"),
            _c("order_id", "VARCHAR", "Sales order", required=False),
            _c("line_no", "INTEGER", "Sales order line", required=False, min_value=1),
            _c("received_on", "DATE", "Date the complaint was received", not_future=True),
            _c("category", "VARCHAR", "quality / delivery / service / other", accepted=COMPLAINT_CATEGORIES),
            _c("status", "VARCHAR", "open / closed / rejected (unfounded)", required=False,
               accepted=COMPLAINT_STATUSES),
            _c("affected_qty", "DOUBLE", "Quantity the complaint concerns", required=False, **QTY),
        ),
        key=("complaint_id",),
        time_column="received_on",
        row_checks=(("unit_id must be a plant (complaints count against the plant's deliveries)",
                     f"unit_id IN ({_NOT_PLANT})"),),
    ),
    Table(
        "demand_forecast",
        "erp",
        "Sales forecast per plant, product and month, as frozen for the month (the demand plan the plant "
        "measures against ordered quantities). Feeds forecast accuracy.",
        (
            _c("unit_id", "VARCHAR", "Plant", references="org_unit"),
            _c("product_id", "VARCHAR", "Product", references="product"),
            _c("month_on", "DATE", "First day of the forecast month"),
            _c("forecast_qty", "DOUBLE", "Forecast quantity", **QTY),
            _c("frozen_on", "DATE", "Date the forecast was frozen (its lag before the month)", required=False),
        ),
        key=("unit_id", "product_id", "month_on"),
        time_column="month_on",
        row_checks=(("frozen_on is after the start of the month", "frozen_on > month_on"),),
    ),
    Table(
        "maintenance_cost",
        "erp",
        "Maintenance cost postings (ERP maintenance order settlement): labour, spare parts and external "
        "services per equipment or cost centre. Feeds the maintenance cost share.",
        (
            _c("posting_id", "VARCHAR", "Posting (document and line)"),
            _c("unit_id", "VARCHAR", "Equipment or org unit the cost is booked on", references="org_unit"),
            _c("event_id", "VARCHAR", "Maintenance work order (maintenance_event)", required=False),
            _c("category", "VARCHAR", "Cost element group", accepted=MAINTENANCE_COST_CATEGORIES),
            _c("posted_on", "DATE", "Posting date", not_future=True),
            _c("amount_cny", "DOUBLE", "Amount, CNY (a credit is negative)"),
        ),
        key=("posting_id",),
        time_column="posted_on",
    ),
    Table(
        "green_electricity",
        "ems",
        "Green electricity ledger per plant and month: on-site renewable generation used on site (EMS "
        "generation meters, net of export), green power bought under contract (绿电交易, settled on the grid "
        "bill) and unbundled green certificates (绿证, 1 per MWh) cancelled for the plant. Feeds green power "
        "share.",
        (
            _c("record_id", "VARCHAR", "Ledger entry"),
            _c("unit_id", "VARCHAR", "Plant", references="org_unit"),
            _c("month_on", "DATE", "First day of the month the electricity was used"),
            _c("source", "VARCHAR", "onsite_pv / green_contract / green_certificate", accepted=GREEN_SOURCES),
            _c("quantity_kwh", "DOUBLE", "Green electricity, kWh", **QTY),
            _c("reference", "VARCHAR", "Contract number or certificate serial range", required=False),
        ),
        key=("record_id",),
        time_column="month_on",
    ),
)
STREAMS.update({t.name: t for t in OPERATIONS_STREAMS})

REFERENCE_DDL = """
CREATE TABLE IF NOT EXISTS energy_coefficient (
    medium VARCHAR, uom VARCHAR, variant VARCHAR, kgce_per_unit DOUBLE, source VARCHAR,
    PRIMARY KEY (medium, variant));
CREATE TABLE IF NOT EXISTS carbon_factor (
    series VARCHAR, medium VARCHAR, year INTEGER, scope INTEGER, kgco2_per_unit DOUBLE, uom VARCHAR,
    source VARCHAR, PRIMARY KEY (series, medium, year));
CREATE TABLE IF NOT EXISTS kpi_target (
    kpi_id VARCHAR, unit_id VARCHAR, valid_from DATE, target DOUBLE, warn DOUBLE, note VARCHAR,
    PRIMARY KEY (kpi_id, unit_id, valid_from));
"""

BOOKKEEPING_DDL = """
CREATE SEQUENCE IF NOT EXISTS load_run_seq;
CREATE TABLE IF NOT EXISTS load_run (
    run_id BIGINT PRIMARY KEY, connector VARCHAR, system VARCHAR, stream VARCHAR, kind VARCHAR,
    started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR,
    rows_in BIGINT, rows_loaded BIGINT, rows_unchanged BIGINT, rows_quarantined BIGINT,
    error VARCHAR, fingerprint VARCHAR, source VARCHAR, data_as_of TIMESTAMP);
CREATE TABLE IF NOT EXISTS quarantine (
    run_id BIGINT, connector VARCHAR, stream VARCHAR, source_file VARCHAR, source_line BIGINT,
    column_name VARCHAR, reason VARCHAR, raw_record VARCHAR, quarantined_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS source_file (
    connector VARCHAR, fingerprint VARCHAR, path VARCHAR, size_bytes BIGINT, run_id BIGINT,
    loaded_at TIMESTAMP, row_count BIGINT, head_hash VARCHAR,  -- row_count/head_hash: shrunk-file check
    PRIMARY KEY (connector, fingerprint));
CREATE TABLE IF NOT EXISTS connector_state (
    connector VARCHAR, key VARCHAR, value VARCHAR, PRIMARY KEY (connector, key));
-- Month samples of the capability KPIs per unit and characteristic, so a window of months pools them (Cpk of a
-- year is the statistic of the year's measurements, never a mean of monthly Cpk). d = value − the middle of
-- the limits (or the one limit), a constant per characteristic and limits, so the sums add across months.
CREATE TABLE IF NOT EXISTS capability_sample (
    kpi_id VARCHAR, unit_id VARCHAR, period_start DATE, characteristic VARCHAR, lsl DOUBLE, usl DOUBLE,
    n BIGINT, sum_d DOUBLE, sum_dd DOUBLE);
CREATE TABLE IF NOT EXISTS kpi_baseline (
    kpi_id VARCHAR, unit_id VARCHAR, period_from DATE, period_to DATE, value DOUBLE,
    numerator DOUBLE, denominator DOUBLE, status VARCHAR, frozen_at TIMESTAMP,
    recomputed_value DOUBLE, late_correction BOOLEAN, PRIMARY KEY (kpi_id, unit_id));
"""


# KPI snapshots are stored on integer keys and small codes: nine million rows of strings cost more to write than
# computing them (docs/benchmarks.md). Keys are given once and never renumbered, so an incremental compute's
# rows and older ones agree; the views kpi_value and kpi_shift_value give readers the names back.
SNAPSHOT_GRAINS = ("day", "month")  # stored as the position from 0
SNAPSHOT_STATUSES = ("ok", "no_data", "insufficient", "not_planned", "partial", "not_applicable", "error")  # from 1

SNAPSHOT_DDL = """
CREATE TABLE IF NOT EXISTS snapshot_kpi (kpi_key INTEGER, kpi_id VARCHAR, variant VARCHAR);
CREATE TABLE IF NOT EXISTS snapshot_unit (unit_key INTEGER, unit_id VARCHAR);
-- No primary key on purpose: rebuilt by set-based SQL that groups by (KPI, unit, grain, period); index upkeep on
-- millions of rows cost more than the whole roll-up (tests/test_kpis_golden.py checks the uniqueness).
-- variant: only where a row differs from its KPI's (the characteristic a capability row shows).
CREATE TABLE IF NOT EXISTS kpi_snapshot (
    kpi_key INTEGER, unit_key INTEGER, grain UTINYINT, period_start DATE, value DOUBLE,
    numerator DOUBLE, denominator DOUBLE, status UTINYINT, variant VARCHAR, computed_at TIMESTAMP,
    data_as_of DATE, n_units INTEGER, n_complete INTEGER);  -- units at the lowest level seen / with both sides
-- Shift snapshots of the KPIs with a shift grain, for the recent production days only (plant.shift_history_days).
CREATE TABLE IF NOT EXISTS kpi_shift_snapshot (
    kpi_key INTEGER, unit_key INTEGER, shift_start TIMESTAMP, shift_code VARCHAR, day DATE, value DOUBLE,
    numerator DOUBLE, denominator DOUBLE, status UTINYINT, computed_at TIMESTAMP,
    data_as_of TIMESTAMP, n_units INTEGER, n_complete INTEGER);  -- data_as_of: the start of the last shift with data
"""


def _names(column: str, names: tuple[str, ...], first: int) -> str:
    """A stored code as its name (codes are positions in a tuple defined here, never user text)."""
    listed = ", ".join(f"'{n}'" for n in names)
    return f"[{listed}][{column} + {1 - first}]"


SNAPSHOT_VIEWS = {
    "kpi_value": f"""SELECT k.kpi_id, u.unit_id, {_names("s.grain", SNAPSHOT_GRAINS, 0)} AS grain, s.period_start,
        s.value, s.numerator, s.denominator, {_names("s.status", SNAPSHOT_STATUSES, 1)} AS status,
        COALESCE(s.variant, k.variant) AS variant, s.computed_at, CAST(s.data_as_of AS TIMESTAMP) AS data_as_of,
        s.n_units, s.n_complete
    FROM kpi_snapshot s JOIN snapshot_kpi k USING (kpi_key) JOIN snapshot_unit u USING (unit_key)""",
    "kpi_shift_value": f"""SELECT k.kpi_id, u.unit_id, s.shift_start, s.shift_code, s.day, s.value, s.numerator,
        s.denominator, {_names("s.status", SNAPSHOT_STATUSES, 1)} AS status, k.variant, s.computed_at,
        s.data_as_of, s.n_units, s.n_complete
    FROM kpi_shift_snapshot s JOIN snapshot_kpi k USING (kpi_key) JOIN snapshot_unit u USING (unit_key)""",
}


def create_snapshot_views(con, catalog: str | None = None) -> None:
    """The snapshot views in the store, or in an attached serving file (`catalog`); a view reads the tables of
    the database it is stored in."""
    prefix = f"{catalog}." if catalog else ""
    for name, sql in SNAPSHOT_VIEWS.items():
        con.execute(f"CREATE OR REPLACE VIEW {prefix}{name} AS {sql}")


def table_ddl(table: Table) -> str:
    """Master tables keep a PRIMARY KEY; fact tables do not, and the loader keeps their key unique.

    A PRIMARY KEY is an ART index that DuckDB's documentation says must fit in memory: on a fact table
    that grows by millions of rows a year it is memory growing with the table, for a check the loader
    does set-based once per run. Measured (docs/benchmarks.md): 0.67 of DuckDB's read_csv speed without
    the key, 0.46 with it at 2 M rows; with it a 36 M-row file ran out of a 2 GB memory limit.
    """
    cols = ",\n    ".join(f"{c.name} {c.type}" for c in table.columns)
    extra = ",\n    run_id BIGINT"  # lineage: the load run that last changed the row
    key = f",\n    PRIMARY KEY ({', '.join(table.key)})" if table.system == "master" else ""
    return f"CREATE TABLE IF NOT EXISTS {table.name} (\n    {cols}{extra}{key})"


def create_all(con) -> None:
    """Create every canonical, reference and bookkeeping table (idempotent), and add new columns."""
    for table in STREAMS.values():
        con.execute(table_ddl(table))
    _add_new_columns(con)
    con.execute(REFERENCE_DDL)
    con.execute(BOOKKEEPING_DDL)
    con.execute(SNAPSHOT_DDL)
    create_snapshot_views(con)


def _add_new_columns(con) -> None:
    """A store built by an older release lacks the optional columns added since: add them, empty.

    Only optional columns are ever added to a stream (a new required one would make old rows invalid),
    so existing rows stay valid and the next export fills the column.
    """
    have: dict[str, set[str]] = {}
    for table_name, column_name in con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = current_database() "
            "AND schema_name = 'main'").fetchall():
        have.setdefault(table_name, set()).add(column_name)
    for table in STREAMS.values():
        for column in table.columns:
            if column.name not in have.get(table.name, set()):
                if column.required:
                    raise RuntimeError(f"store table {table.name} lacks required column {column.name}: "
                                       "rebuild the store from the exports")
                con.execute(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {column.type}')


def markdown() -> str:
    """docs/schema.md, generated so the documentation cannot drift from the code."""
    out = ["# Canonical model", "", "Generated from `connectors/schema.py` by `cockpit docs`; do not edit.", ""]
    for t in STREAMS.values():
        out += [f"## `{t.name}` ({t.system})", "", t.description, "",
                f"Natural key: `{', '.join(t.key)}`"
                + (" (PRIMARY KEY)" if t.system == "master" else " (kept unique by the loader; no index)"), "",
                "| column | type | required | rule | description |", "|---|---|---|---|---|"]
        for c in t.columns:
            rule = []
            if c.min_value is not None:
                rule.append(f">= {c.min_value:g}")
            if c.accepted:
                rule.append("one of " + ", ".join(c.accepted))
            if c.references:
                rule.append(f"known {c.references}")
            if c.not_future:
                rule.append("not in the future")
            out.append(f"| {c.name} | {c.type} | {'yes' if c.required else ''} | {'; '.join(rule)} | {c.description} |")
        for reason, _sql in t.row_checks:
            out.append(f"\nRow check: {reason}.")
        out.append("")
    return "\n".join(out)
