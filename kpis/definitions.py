"""Every KPI the cockpit computes, each declared once. Pages and docs are generated from here."""

from __future__ import annotations

import kpis.elements  # noqa: F401 - elements must exist before KPIs reference them
from kpis.registry import Kpi, kpi

CQ = "重庆市未来工厂建设指南（2.0）"
ISO = "ISO 22400-2:2014"

# --- 三降两提升 (Chongqing guide §9): intensities compared between a baseline and a report period ---
kpi(Kpi(
    "unit_operating_cost", "单位运营成本", "Operating cost per good unit", "元/件", "lower", "ratio", "plant",
    f"{CQ} §9 运营成本降低 (definition: this product's, published)",
    "Σ operating cost (cost of sales + selling + admin + R&D) / Σ good quantity GQ",
    "运营成本降低: an intensity, so growth in volume cannot hide cost. Cost is booked per plant in ERP, "
    "so the KPI is not applicable below plant level (never allocated).",
    numerator={"operating_cost_cny": 1}, denominator={"good_qty": 1}, grains=("month",),
    scenarios=("CQ-9",), default_target_pct=20, group="outcome", decimals=2,
))
kpi(Kpi(
    "defect_rate", "产品不良品率", "Defect rate", "%", "lower", "ratio", "line",
    f"{CQ} §9 产品不良品率降低; {ISO} quantities (PQ = GQ + SQ + RQ)",
    "(PQ − GQ) / PQ = (SQ + RQ) / PQ",
    "A unit that needed rework counts as defective even if it passes later.",
    numerator={"produced_qty": 1, "good_qty": -1}, denominator={"produced_qty": 1}, scale=100,
    scenarios=("CQ-9", "CQ-5.5.1", "MIIT-19", "MIIT-21"), default_target_pct=10, group="outcome", decimals=2,
))
kpi(Kpi(
    "energy_per_unit", "单位产品综合能耗", "Comprehensive energy per good unit", "kgce/件", "lower", "ratio",
    "workshop",
    f"{CQ} §9 单位生产能耗降低; GB/T 2589-2020 standard-coal coefficients",
    "Σ metered energy × GB/T 2589 coefficient (kgce) / Σ good quantity GQ",
    "Meters belong to workshops and lines; below workshop level the auxiliary load cannot be "
    "attributed without allocation, so the KPI stops at workshop.",
    numerator={"energy_kgce": 1}, denominator={"good_qty": 1},
    scenarios=("CQ-9", "CQ-5.6.1", "MIIT-31", "MIIT-32"), default_target_pct=10, group="outcome", decimals=3,
))
kpi(Kpi(
    "labour_productivity", "生产效率", "Standard hours per labour hour", "h/h", "higher", "ratio", "line",
    f"{CQ} §9 生产效率提升 (definition: this product's, published)",
    "Σ (ideal cycle time × GQ) / 3600 / Σ direct labour hours",
    "Good output in standard hours per labour hour, so a change of product mix does not move it.",
    numerator={"std_h": 1}, denominator={"labor_h": 1},
    scenarios=("CQ-9", "CQ-5.2.5", "MIIT-9", "MIIT-14"), default_target_pct=20, group="outcome", decimals=3,
))
kpi(Kpi(
    "output_value_per_head", "人均产值", "Output value per person-month", "万元/人·月", "higher", "ratio", "plant",
    f"{CQ} §9 人均产值提升",
    "Σ output value / 10 000 / Σ monthly average headcount (person-months)",
    "Per person-month so that a month and a year compare like with like.",
    numerator={"output_value_cny": 1e-4}, denominator={"headcount_pm": 1}, grains=("month",),
    scenarios=("CQ-9",), default_target_pct=20, group="outcome", decimals=2,
))

# --- ISO 22400-2 ---
kpi(Kpi(
    "availability", "可用率", "Availability", "%", "higher", "ratio", "line", f"{ISO} §6.10.8 (KPI 8)",
    "APT / PBT, PBT = POT − PDOT",
    "Per ISO, setup and delays are losses (many vendor tools count only unplanned stops). "
    "PBT = 0 is 'not planned', not 100 %.",
    numerator={"apt_s": 1}, denominator={"pot_s": 1, "pdot_s": -1}, scale=100,
    scenarios=("CQ-5.2.7", "MIIT-24"), zero_denominator="not_planned",
))
kpi(Kpi(
    "effectiveness", "性能效率", "Effectiveness", "%", "higher", "ratio", "line", f"{ISO} §6.10.9 (KPI 9)",
    "PRU × PQ / APT", "Ideal cycle time of each product times its produced quantity, over running time.",
    numerator={"pru_pq_s": 1}, denominator={"apt_s": 1}, scale=100, scenarios=("CQ-5.2.7", "MIIT-24"),
))
kpi(Kpi(
    "quality_ratio", "质量比率", "Quality ratio", "%", "higher", "ratio", "line", f"{ISO} §6.10.10 (KPI 10)",
    "GQ / PQ",
    "Not first pass yield: GQ and PQ are production counts, while FPY (first_pass_yield) counts first-test "
    "results at a test station, where a part that failed once and passed a retest is not first-pass good.",
    numerator={"good_qty": 1}, denominator={"produced_qty": 1}, scale=100,
    scenarios=("CQ-5.2.7", "MIIT-24", "CQ-5.2.2", "MIIT-13"),
))
kpi(Kpi(
    "oee", "设备综合效率", "OEE", "%", "higher", "product", "line", f"{ISO} §6.10.6 (KPI 6)",
    "availability × effectiveness × quality ratio",
    "Each factor is rolled up from its elements first; OEE of a plant is never the mean of line OEEs.",
    components=("availability", "effectiveness", "quality_ratio"), scale=1e-4,
    scenarios=("CQ-5.2.7", "MIIT-24", "MIIT-15"), group="outcome_support",
))
kpi(Kpi(
    "scrap_ratio", "报废率", "Scrap ratio", "%", "lower", "ratio", "line", f"{ISO} §6.10.16 (KPI 16)",
    "SQ / PQ", "Scrapped quantity over produced quantity.",
    numerator={"scrap_qty": 1}, denominator={"produced_qty": 1}, scale=100, scenarios=("CQ-5.5.1", "MIIT-21"), decimals=2,
))
kpi(Kpi(
    "energy_tce", "综合能耗", "Comprehensive energy consumption", "tce", "lower", "sum", "workshop",
    "GB/T 2589-2020 §4 综合能耗; ISO 22400-2:2014 (KPI 23, comprehensive energy consumption)",
    "Σ metered quantity × standard-coal coefficient / 1000",
    "Total, not an intensity: shown as a trend, never compared across periods of unequal length.",
    numerator={"energy_kgce": 1e-3}, scenarios=("CQ-5.6.1", "MIIT-31"), decimals=1,
))
kpi(Kpi(
    "good_output", "合格产量", "Good output", "件", "higher", "sum", "line", f"{ISO} GQ",
    "Σ GQ", "Good quantity produced.", numerator={"good_qty": 1}, scenarios=("CQ-5.2.1",), decimals=0,
))
kpi(Kpi(
    "planned_output", "计划产量", "Planned output", "件", "higher", "sum", "line", "MES plan",
    "Σ planned quantity", "Planned quantity of the shifts.", numerator={"planned_qty": 1},
    scenarios=("CQ-5.2.1",), decimals=0,
))
kpi(Kpi(
    "plan_attainment", "计划达成率", "Schedule attainment", "%", "higher", "ratio", "line",
    "common practice, this product's definition (schedule attainment 计划达成率 = Σ min(actual, plan) / Σ plan); MES plan",
    "Σ min(GQ, planned quantity) per line and shift / Σ planned quantity",
    "Good output against the plan, capped at the plan of each plan row (a line's shift) before anything is added, "
    "so one shift's or line's overproduction cannot hide another's shortfall and the value never exceeds 100 %. "
    "Output in a shift without a plan attains nothing at shift grain; at day grain it counts toward the line's "
    "previous planned shift of that day. Planned shifts without output count as shortfall once the day has output.",
    numerator={"attained_qty": 1}, denominator={"planned_qty": 1}, scale=100,
    scenarios=("CQ-5.2.1", "MIIT-7", "CQ-5.2.3", "MIIT-8"),
))
kpi(Kpi(
    "energy_per_output_value", "单位产值综合能耗", "Comprehensive energy per output value", "tce/万元", "lower",
    "ratio", "plant", f"{CQ} §9 单位生产能耗降低 (variant); seed scenario 5.6.1; GB/T 2589-2020",
    "Σ energy (tce) / (Σ output value / 10 000)",
    "The per-value variant of 单位生产能耗: output value is booked per plant, so it stops at plant.",
    numerator={"energy_kgce": 1e-3}, denominator={"output_value_cny": 1e-4}, grains=("month",),
    scenarios=("CQ-5.6.1", "MIIT-31", "MIIT-32", "MIIT-33"), group="outcome_support", decimals=4,
))

# --- more ISO 22400-2 KPIs from the same time elements ---
kpi(Kpi(
    "allocation_efficiency", "分配效率", "Allocation efficiency", "%", "higher", "ratio", "line", f"{ISO} (KPI 4)",
    "AUBT / PBT, AUBT = APT + AUST + ADET", "Share of the planned busy time the unit was allocated to orders.",
    numerator={"apt_s": 1, "aust_s": 1, "adet_s": 1}, denominator={"pot_s": 1, "pdot_s": -1}, scale=100,
    scenarios=("CQ-5.2.3", "MIIT-8", "MIIT-11"), zero_denominator="not_planned",
))
kpi(Kpi(
    "utilization_efficiency", "利用效率", "Utilization efficiency", "%", "higher", "ratio", "line", f"{ISO} (KPI 5)",
    "APT / AUBT", "Value-adding share of the time allocated to orders.",
    numerator={"apt_s": 1}, denominator={"apt_s": 1, "aust_s": 1, "adet_s": 1}, scale=100, scenarios=("MIIT-11",),
))
kpi(Kpi(
    "setup_ratio", "换型时间比", "Setup ratio", "%", "lower", "ratio", "line", f"{ISO} (KPI 11)",
    "AUST / AUPT, AUPT = AUST + APT", "Changeover time over production time including setup.",
    numerator={"aust_s": 1}, denominator={"aust_s": 1, "apt_s": 1}, scale=100, scenarios=("CQ-5.2.6", "MIIT-10"),
    decimals=2,
))
kpi(Kpi(
    "technical_efficiency", "技术效率", "Technical efficiency", "%", "higher", "ratio", "line", f"{ISO} (KPI 12)",
    "APT / (APT + ADET)", "Running time against running plus malfunction and minor-stop time.",
    numerator={"apt_s": 1}, denominator={"apt_s": 1, "adet_s": 1}, scale=100, scenarios=("CQ-5.2.8",),
))
kpi(Kpi(
    "rework_ratio", "返工率", "Rework ratio", "%", "lower", "ratio", "line", f"{ISO} (KPI 17)",
    "RQ / PQ", "Reworked quantity over produced quantity.",
    numerator={"rework_qty": 1}, denominator={"produced_qty": 1}, scale=100, scenarios=("CQ-5.5.1",), decimals=2,
))
kpi(Kpi(
    "setup_availability", "含换型可用率", "Production time ratio (AUPT / PBT)", "%", "higher", "ratio", "line",
    f"{ISO} (NEE factor)", "AUPT / PBT", "The availability factor of NEE: setup counts as production time.",
    numerator={"apt_s": 1, "aust_s": 1}, denominator={"pot_s": 1, "pdot_s": -1}, scale=100,
    scenarios=("CQ-5.2.6",), zero_denominator="not_planned",
))
kpi(Kpi(
    "nee", "净设备效率", "NEE", "%", "higher", "product", "line", f"{ISO} (KPI 7)",
    "(AUPT / PBT) × effectiveness × quality ratio", "Like OEE, but setup time is not a loss.",
    components=("setup_availability", "effectiveness", "quality_ratio"), scale=1e-4,
    scenarios=("CQ-5.2.6", "MIIT-10"),
))

# --- maintenance (ISO 22400-2 KPIs 31-34 and PM compliance), per equipment, pooled above it ---
_POOLED = ("Above equipment level the sums of the equipment are pooled (the fleet figure), never the mean of "
           "equipment values.")
kpi(Kpi(
    "mtbf", "平均故障间隔时间", "MTBF", "h", "higher", "ratio", "equipment", f"{ISO} (KPI 31)",
    "Σ operating time / Σ failure events FE; shown only with FE ≥ 5",
    "Mean operating time between failures. Operating time is the equipment's running time (APT), its line's "
    "when the MES records states per line; a failure is a corrective maintenance event. With fewer than 5 "
    "failures the value is 'insufficient' (this product's convention, published), so a month without failures is never shown as "
    "an infinite or zero MTBF. " + _POOLED,
    numerator={"operating_s": 1 / 3600}, denominator={"failure_count": 1}, min_denominator=5, grains=("month",),
    scenarios=("CQ-5.2.8", "MIIT-22", "MIIT-25"),
))
kpi(Kpi(
    "mttf", "平均失效前时间", "MTTF", "h", "higher", "ratio", "equipment", f"{ISO} (KPI 32)",
    "Σ time to failure TTF / failures with a known TTF; shown only with ≥ 5 failures",
    "TTF of a failure is the operating time from the previous restoration of the same equipment to the failure, "
    "so unlike MTBF it leaves out the running time after the last failure of the period and counts the time "
    "before the first one even when it fell in an earlier month. Same ≥ 5 failures rule as MTBF. " + _POOLED,
    numerator={"ttf_s": 1 / 3600}, denominator={"ttf_count": 1}, min_denominator=5, grains=("month",),
    scenarios=("CQ-5.2.8", "MIIT-25"),
))
kpi(Kpi(
    "mttr", "平均修复时间", "MTTR", "min", "lower", "ratio", "equipment", f"{ISO} (KPI 33)",
    "Σ time to restoration TTR / Σ failure events FE",
    "From the failure to the equipment back in service (waiting, diagnosis, repair, restart). An equipment "
    "without failures in the period has no MTTR: 'no_data', never 0. " + _POOLED,
    numerator={"cmt_s": 1 / 60}, denominator={"failure_count": 1}, zero_denominator="no_data",
    scenarios=("CQ-5.2.8", "MIIT-23"),
))
kpi(Kpi(
    "corrective_maintenance_ratio", "事后维修比例", "Corrective maintenance ratio", "%", "lower", "ratio",
    "equipment", f"{ISO} (KPI 34)", "CMT / (CMT + PMT)",
    "Share of maintenance time spent repairing failures rather than on planned preventive work; both from "
    "maintenance_event by the day the work started.",
    numerator={"cmt_s": 1}, denominator={"cmt_s": 1, "pmt_s": 1}, scale=100,
    scenarios=("CQ-5.2.8", "MIIT-25"),
))
kpi(Kpi(
    "pm_compliance", "预防性维护按期完成率", "PM compliance", "%", "higher", "ratio", "equipment",
    "common practice, this product's definition (PM compliance)",
    "preventive orders finished by their planned day / preventive orders planned, by planned date",
    "On time = finished on or before the planned production day, with no grace period (some plants allow a "
    "tenth of the PM interval); an order done late or never "
    "counts as planned and not on time. A month's value can still fall while late orders of it arrive.",
    numerator={"pm_on_time": 1}, denominator={"pm_planned": 1}, scale=100, grains=("month",),
    scenarios=("MIIT-23",),
))

# --- delivery (ERP orders), per plant, by delivery or receipt date ---
kpi(Kpi(
    "on_time_delivery", "准时交付率", "On-time delivery", "%", "higher", "ratio", "plant",
    "common practice, this product's definition (OTD)", "sales order lines delivered by the promised date / lines delivered",
    "Counted per order line on its delivery date; open lines are not counted until delivered (a late open line "
    "shows up when it ships). The promised date is the one committed to the customer.",
    numerator={"so_lines_on_time": 1}, denominator={"so_lines_delivered": 1}, scale=100,
    scenarios=("CQ-5.2.1", "MIIT-7", "MIIT-40"),
))
kpi(Kpi(
    "otif", "准时足量交付率", "OTIF", "%", "higher", "ratio", "plant", "common practice, this product's definition (OTIF)",
    "lines delivered by the promised date with delivered quantity ≥ ordered / lines delivered",
    "On time and in full, per order line; no quantity tolerance.",
    numerator={"so_lines_otif": 1}, denominator={"so_lines_delivered": 1}, scale=100,
    scenarios=("MIIT-45",),
))
kpi(Kpi(
    "order_to_delivery_time", "订单交付周期", "Order fulfilment cycle time", "天", "lower", "ratio", "plant",
    "common practice, this product's definition (order fulfilment cycle time)", "Σ (delivered_on − ordered_on) / lines delivered",
    "Calendar days from order to delivery, averaged over the lines delivered in the period.",
    numerator={"so_cycle_days": 1}, denominator={"so_lines_delivered": 1},
    scenarios=("CQ-5.7.2", "MIIT-48"),
))
kpi(Kpi(
    "supplier_on_time_delivery", "供应商准时交付率", "Supplier on-time delivery", "%", "higher", "ratio", "plant",
    "common practice, this product's definition", "purchase order lines received by the promised date / lines received",
    "Per purchase order line on its receipt date; early receipts count as on time.",
    numerator={"po_lines_on_time": 1}, denominator={"po_lines_received": 1}, scale=100,
    scenarios=("CQ-5.3.2", "MIIT-44"),
))
kpi(Kpi(
    "incoming_quality", "来料合格率", "Incoming quality", "%", "higher", "ratio", "plant", "common practice, this product's definition",
    "Σ accepted quantity / Σ received quantity",
    "Quantity-based: accepted by incoming inspection over received, on the receipt date.",
    numerator={"po_accepted_qty": 1}, denominator={"po_received_qty": 1}, scale=100, decimals=2,
    scenarios=("CQ-5.3.2", "MIIT-44"),
))

# --- quality ---
kpi(Kpi(
    "dppm", "百万缺陷数", "DPPM", "ppm", "lower", "ratio", "line", "common practice, this product's definition (DPPM)",
    "Σ defective / Σ inspected × 10⁶ (in-process and final lots)",
    "Defective parts per million inspected, from the inspection lots; incoming lots measure suppliers and are "
    "left out.",
    numerator={"defective_qty": 1}, denominator={"inspected_qty": 1}, scale=1e6, decimals=0,
    scenarios=("CQ-5.5.2", "MIIT-20"),
))
kpi(Kpi(
    "first_pass_yield", "一次合格率", "First pass yield", "%", "higher", "ratio", "line", f"{ISO} (KPI 15)",
    "GP / IP: parts good at their first test / parts tested for the first time",
    "Needs first-pass tracking (first_pass_test); without it the cockpit shows the quality ratio GQ / PQ and "
    "does not call it FPY. A part that fails once and passes a retest counts as a first-pass failure.",
    numerator={"fp_passed_qty": 1}, denominator={"fp_tested_qty": 1}, scale=100, decimals=2,
    scenarios=("CQ-5.5.2", "MIIT-20"),
))
_CAPABILITY = ("A statistic of one characteristic (one name and one pair of limits) on one line: computed from "
               "n, Σx and Σx² of the period's measurements with the overall sample standard deviation ŝ (long-term; "
               "a within-subgroup σ would need subgroup tracking). A line measuring several characteristics shows "
               "its least capable one (named in the snapshot's variant); characteristics are never pooled, so "
               "above line level the status is 'not_applicable'. Fewer than 30 measurements: 'insufficient'. "
               "Monthly only: a window of several months is not re-estimated from monthly snapshots.")
kpi(Kpi(
    "cp", "过程能力指数 Cp", "Process capability Cp", "×", "higher", "capability", "line", f"{ISO} (KPI 21)",
    "(USL − LSL) / 6ŝ", "Potential capability if the process were centred; undefined for a one-sided "
    "characteristic. " + _CAPABILITY,
    denominator={"measured_n": 1}, capability="cp", min_denominator=30, grains=("month",), decimals=2,
    scenarios=("CQ-5.2.2", "MIIT-13"),
))
kpi(Kpi(
    "cpk", "过程能力指数 Cpk", "Process capability Cpk", "×", "higher", "capability", "line", f"{ISO} (KPI 22)",
    "min(USL − x̄, x̄ − LSL) / 3ŝ", "Capability including centring: the distance from the mean to the nearer "
    "limit in units of 3ŝ (1.33 is the usual minimum for a stable process). " + _CAPABILITY,
    denominator={"measured_n": 1}, capability="cpk", min_denominator=30, grains=("month",), decimals=2,
    scenarios=("CQ-5.2.2", "CQ-5.2.4", "MIIT-12", "MIIT-13"),
))


# --- carbon (KPIS.md §4): every number names the factor series that produced it ---
kpi(Kpi(
    "co2_scope1_t", "范围一碳排放", "Scope 1 CO2", "tCO2", "lower", "sum", "workshop",
    "GHG Protocol Scope 1; fuel factors of GB/T 32150-2015 and the provincial inventory guidelines", "Σ fuel quantity × factor / 1000",
    "Direct emissions from fuel burnt on site (natural gas, diesel, gasoline, LPG, raw coal, coke).",
    numerator={"co2_scope1_kg": 1e-3}, scenarios=("CQ-5.6.2", "MIIT-37"), decimals=1,
))
kpi(Kpi(
    "co2_scope2_t", "范围二碳排放", "Scope 2 CO2", "tCO2", "lower", "sum", "workshop",
    "GHG Protocol Scope 2; dated grid factors (national, 西南 regional or ETS series)",
    "Σ purchased electricity × grid factor of its year + Σ purchased heat × 0.11 tCO2/GJ, / 1000",
    "Indirect emissions from purchased electricity and heat (heat meters in kWh, GJ or MJ exports converted on "
    "load). Steam metered in tonnes has no default factor and adds nothing until the plant adds one to "
    "carbon_factor (or meters its heat).",
    numerator={"co2_scope2_kg": 1e-3}, scenarios=("CQ-5.6.2", "MIIT-37"), decimals=1,
))
kpi(Kpi(
    "carbon_per_output_value", "单位产值碳排放", "Carbon per output value", "tCO2/万元", "lower", "ratio", "plant",
    f"{CQ} 5.6.2 单位产值碳排放 (this product's definition, published)", "(Scope 1 + Scope 2 tCO2) / (output value / 10 000)",
    "Emission intensity per output value; output value is booked per plant, so it stops at plant.",
    numerator={"co2_scope1_kg": 1e-3, "co2_scope2_kg": 1e-3}, denominator={"output_value_cny": 1e-4},
    grains=("month",), scenarios=("CQ-5.6.2", "MIIT-37"), decimals=4,
))


# --- inventory (KPIS.md §2: 存货周转率 = cost of sales / average inventory; days = 365 / turnover) ---
kpi(Kpi(
    "inventory_days", "库存周转天数", "Days of inventory", "天", "lower", "ratio", "plant",
    f"存货周转率 = cost of sales / average inventory (accounting practice) and days of inventory; {ISO} (KPI 24, inverse)",
    "Σ daily inventory value / Σ cost of sales",
    "Average inventory over the cost of sales per day: (Σ daily value / days) / (Σ COGS / days), which is "
    "a ratio of sums and so rolls up over plants and periods. Annual turnover = 365 / this value.",
    numerator={"inventory_value_day_cny": 1}, denominator={"cogs_cny": 1}, grains=("month",),
    scenarios=("CQ-5.3.1",), decimals=1,
))

kpi(Kpi(
    "throughput_rate", "产出率", "Throughput rate", "件/h", "higher", "ratio", "line", f"{ISO} (KPI 3)",
    "PQ / AOET", "Produced quantity per hour of order execution time.",
    numerator={"produced_qty": 1}, denominator={"aoet_s": 1 / 3600}, scenarios=("MIIT-11",), decimals=1,
))
kpi(Kpi(
    "production_process_ratio", "生产过程比率", "Production process ratio", "%", "higher", "ratio", "line",
    f"{ISO} (KPI 13)", "APT / AOET", "Value-adding share of the order execution time.",
    numerator={"apt_s": 1}, denominator={"aoet_s": 1}, scale=100, scenarios=("MIIT-15",),
))
kpi(Kpi(
    "allocation_ratio", "分配比率", "Allocation ratio", "%", "higher", "ratio", "line", f"{ISO} (KPI 2)",
    "Σ AUBT / AOET", "Busy time of the unit against the execution time of its orders.",
    numerator={"apt_s": 1, "aust_s": 1, "adet_s": 1}, denominator={"aoet_s": 1}, scale=100, scenarios=("MIIT-11",),
))


# --- ISO 22400-2 KPIs 1, 14, 18-20, 24-30 (personnel, planned scrap, fall-off, machine capability, inventory,
# material balance, equipment load) ---
kpi(Kpi(
    "worker_efficiency", "人员作业效率", "Worker efficiency", "%", "higher", "ratio", "line", f"{ISO} (KPI 1)",
    "APWT / APAT", "Hours the crew booked on production orders over the hours it attended the unit (clock-on to "
    "clock-off, authorised breaks excluded). Only shifts that record attendance count, on both sides.",
    numerator={"apwt_h": 1}, denominator={"apat_h": 1}, scale=100, scenarios=("CQ-5.2.5", "MIIT-9", "MIIT-14"),
))
kpi(Kpi(
    "actual_to_planned_scrap_ratio", "实际与计划报废比", "Actual to planned scrap ratio", "%", "lower", "ratio",
    "line", f"{ISO} (KPI 14)", "SQ / PSQ",
    "Scrap against the scrap allowance of the plan: below 100 % the scrap stayed inside what the plan allocated "
    "material for. SQ counts only production days whose plan carries a planned scrap quantity.",
    numerator={"sq_planned_days": 1}, denominator={"psq_qty": 1}, scale=100,
    scenarios=("CQ-5.5.1", "MIIT-21"),
))
kpi(Kpi(
    "fall_off_ratio", "工序报废率", "Fall-off ratio", "%", "lower", "ratio", "line", f"{ISO} (KPI 18)",
    "SQ at an operation / PQ of the order's first operation",
    "For orders that pass several work units (operation steps): the scrap at a unit related to the quantity the "
    "first operation produced, so losses late in the routing weigh against what was started. The first "
    "operation is the unit where the order's first record starts. For an order that runs on one unit only it "
    "equals that unit's scrap ratio. Above the lowest level the steps are pooled (Σ fall-off / Σ first-operation "
    "PQ of each step), not added into one cumulative loss.",
    numerator={"fall_off_qty": 1}, denominator={"first_op_pq": 1}, scale=100, decimals=2,
    scenarios=("CQ-5.5.1", "MIIT-21"),
))
_MACHINE = ("A short-term study on one machine: consecutive parts measured in one session, marked by their "
            "study_id in the measurement stream (the running process samples, without study_id, feed Cp and Cpk). "
            "Each study is its own sample with the overall sample standard deviation s; a machine with several "
            "studies in a month shows its least capable one (named in the variant). At least 50 parts per study "
            "(ISO 22514-3 practice), else 'insufficient'; never pooled above the equipment ('not_applicable'). "
            "1.67 is the usual acceptance minimum.")
kpi(Kpi(
    "cm", "设备能力指数 Cm", "Machine capability Cm", "×", "higher", "capability", "equipment", f"{ISO} (KPI 19)",
    "(USL − LSL) / 6s", "Potential capability of the machine if it were centred; undefined for a one-sided "
    "characteristic. " + _MACHINE,
    denominator={"study_n": 1}, capability="cp", min_denominator=50, grains=("month",), decimals=2,
    scenarios=("CQ-5.2.2", "MIIT-13"),
))
kpi(Kpi(
    "cmk", "设备能力指数 Cmk", "Critical machine capability Cmk", "×", "higher", "capability", "equipment",
    f"{ISO} (KPI 20)", "min(USL − x̄, x̄ − LSL) / 3s",
    "Machine capability including centring: the distance from the study mean to the nearer limit in units of "
    "3s. " + _MACHINE,
    denominator={"study_n": 1}, capability="cpk", min_denominator=50, grains=("month",), decimals=2,
    scenarios=("CQ-5.2.2", "MIIT-13"),
))
kpi(Kpi(
    "inventory_turns", "存货周转次数", "Inventory turns", "次/年", "higher", "ratio", "plant",
    f"{ISO} (KPI 24); 存货周转率 = cost of sales / average inventory (accounting practice)", "365 × Σ cost of sales / Σ daily inventory value",
    "Throughput at cost (cost of sales) over average inventory, annualised: (Σ COGS × 365 / days) / (Σ daily "
    "value / days). A ratio of sums, so it rolls up over plants and months, and it is always 365 / days of "
    "inventory. Scope: every warehouse in inventory_snapshot (raw material and finished goods), valued by the "
    "WMS; needs a snapshot for every calendar day of the period.",
    numerator={"cogs_cny": 365}, denominator={"inventory_value_day_cny": 1}, grains=("month",), decimals=1,
    scenarios=("CQ-5.3.1",),
))
_BALANCE = ("From the material balance (material_consumption), in kg, so goods and losses compare with the "
            "material consumed; CM = IGQ + PL + STL + OL on every row.")
kpi(Kpi(
    "finished_goods_ratio", "成品率", "Finished goods ratio", "%", "higher", "ratio", "line", f"{ISO} (KPI 25)",
    "GQ / CM (kg)", "Good finished products out of the material consumed. " + _BALANCE,
    numerator={"fgq_kg": 1}, denominator={"cm_kg": 1}, scale=100, scenarios=("CQ-5.2.4", "MIIT-12"),
))
kpi(Kpi(
    "integrated_goods_ratio", "综合成品率", "Integrated goods ratio", "%", "higher", "ratio", "line",
    f"{ISO} (KPI 26)", "IGQ / CM (kg)",
    "All products of every grade (reworked and downgraded ones included) out of the material consumed. "
    + _BALANCE,
    numerator={"igq_kg": 1}, denominator={"cm_kg": 1}, scale=100, scenarios=("CQ-5.2.4", "MIIT-12"),
))
kpi(Kpi(
    "production_loss_ratio", "生产损耗率", "Production loss ratio", "%", "lower", "ratio", "line",
    f"{ISO} (KPI 27)", "PL / CM (kg)", "Material lost in production (chips, offcuts, scrapped parts). " + _BALANCE,
    numerator={"pl_kg": 1}, denominator={"cm_kg": 1}, scale=100, decimals=2, scenarios=("MIIT-15", "CQ-5.2.4"),
))
kpi(Kpi(
    "storage_transport_loss_ratio", "储运损耗率", "Storage and transportation loss ratio", "%", "lower", "ratio",
    "line", f"{ISO} (KPI 28)", "STL / CM (kg)",
    "Material lost in storage and on the way to the unit (damage, corrosion, spillage). " + _BALANCE,
    numerator={"stl_kg": 1}, denominator={"cm_kg": 1}, scale=100, decimals=2, scenarios=("MIIT-15", "CQ-5.3.6"),
))
kpi(Kpi(
    "other_loss_ratio", "其他损耗率", "Other loss ratio", "%", "lower", "ratio", "line", f"{ISO} (KPI 29)",
    "OL / CM (kg)", "Losses not attributed to production or logistics (count differences, the balance's "
    "unexplained rest). " + _BALANCE,
    numerator={"ol_kg": 1}, denominator={"cm_kg": 1}, scale=100, decimals=2, scenarios=("MIIT-15",),
))
kpi(Kpi(
    "equipment_load_ratio", "设备负荷率", "Equipment load ratio", "%", "higher", "ratio", "line", f"{ISO} (KPI 30)",
    "PQ / EPC = Σ (PRU × PQ) / POT",
    "Produced quantity over the equipment production capacity, with the rated capacity EPC = POT / PRU: what the "
    "unit could make at its rated (ideal) cycle time in its planned operation time. Weighting each unit by its "
    "PRU keeps a product mix comparable. Higher is better up to the rated capacity; above 100 % the rated "
    "cycle or the plan is wrong.",
    numerator={"pru_pq_s": 1}, denominator={"pot_s": 1}, scale=100, zero_denominator="not_planned",
    scenarios=("CQ-5.7.1", "MIIT-50"),
))
# --- end of the ISO 22400-2 additions ---


# --- operations: warehouse (WMS), customer complaints (CRM), forecast and maintenance cost (ERP), green power (EMS) ---
kpi(Kpi(
    "inventory_record_accuracy", "库存记录准确率", "Inventory record accuracy", "%", "higher", "ratio", "plant",
    "common practice, this product's definition (inventory record accuracy)",
    "cycle-count lines with |counted − book| ≤ tolerance × book / cycle-count lines counted",
    "Counted per line (bin and item) on the day the count is confirmed, so a large and a small discrepancy weigh "
    "the same. The tolerance is the line's own (by ABC class or item, as the WMS exports it); a line without one "
    "must match exactly. Book quantity 0 with stock found counts as inaccurate.",
    numerator={"cc_lines_accurate": 1}, denominator={"cc_lines": 1}, scale=100,
    scenarios=("CQ-5.3.5", "MIIT-16", "MIIT-18"),
))
kpi(Kpi(
    "picking_accuracy", "拣货准确率", "Picking accuracy", "%", "higher", "ratio", "plant",
    "common practice, this product's definition (picking accuracy)",
    "order lines picked without error / order lines picked",
    "An error is a wrong item, quantity or lot, or damage, found at the packing or dispatch check or reported by "
    "the receiver and booked on the pick line; it counts on the day the line was picked. A short pick because "
    "stock ran out is not a picking error (that is fill rate).",
    numerator={"pick_lines_correct": 1}, denominator={"pick_lines": 1}, scale=100, decimals=2,
    scenarios=("CQ-5.3.5", "CQ-5.3.6", "MIIT-16", "MIIT-17"),
))
kpi(Kpi(
    "dock_to_stock_time", "收货上架时间", "Dock-to-stock time", "h", "lower", "ratio", "plant",
    "common practice, this product's definition (dock-to-stock time)",
    "Σ (put-away − arrival at the dock) in hours / receipt lines put away",
    "Clock hours from the goods receipt at the dock to put-away (incoming inspection included), averaged over the "
    "receipt lines put away in the period; a line still waiting is not counted until it is put away.",
    numerator={"gr_dock_to_stock_h": 1}, denominator={"gr_stocked": 1},
    scenarios=("CQ-5.3.5", "CQ-5.3.3", "MIIT-16", "MIIT-46"),
))
kpi(Kpi(
    "complaint_rate", "客户投诉率", "Customer complaint rate", "%", "lower", "ratio", "plant",
    f"{CQ} 5.4.2; convention: this product's, published",
    "complaints received / sales order lines delivered × 100",
    "Complaints per 100 deliveries (投诉次数 / 交付批次, one delivered order line being one delivery), both "
    "in the same period: complaints by the date received, deliveries by the delivery date. Complaints rejected as "
    "unfounded are left out. Once a plant's complaint data starts, a month without complaints is 0 %, not "
    "'no data'. Per delivered line rather than per million units, so a large and a small order weigh the same.",
    numerator={"complaints": 1}, denominator={"so_lines_delivered": 1}, scale=100, decimals=2,
    scenarios=("CQ-5.4.2", "CQ-5.5.2", "MIIT-41", "MIIT-20", "MIIT-21"),
))
kpi(Kpi(
    "forecast_accuracy", "销售预测准确率", "Sales forecast accuracy", "%", "higher", "ratio", "plant",
    f"{CQ} 5.4.1; 1 − WAPE (this product's convention, published)",
    "1 − Σ |forecast − delivered| / Σ delivered, per product and month",
    "A ratio of sums (1 − weighted absolute percentage error): errors are taken per product and month, then "
    "summed, so over- and under-forecasts of different products do not cancel and a quarter or a plant adds "
    "its errors and sales. Actual is the quantity delivered in the month (sales order lines by delivery date), "
    "the shipments the forecast plans, complete at month end even where open order lines are not exported; "
    "only months the plant has a forecast for count. It falls below 0 when the errors exceed the sales.",
    numerator={"demand_actual_qty": 1, "forecast_abs_error_qty": -1}, denominator={"demand_actual_qty": 1},
    scale=100, grains=("month",), scenarios=("CQ-5.4.1", "CQ-5.3.1", "MIIT-38", "MIIT-39"),
))
kpi(Kpi(
    "maintenance_cost_share", "维护成本占产值比", "Maintenance cost share", "%", "lower", "ratio", "plant",
    "common practice, this product's definition (maintenance cost / output value)",
    "Σ maintenance cost / Σ output value × 100",
    "Maintenance labour, spare parts and external services as posted in ERP (booked on equipment, rolled up), "
    "over the plant's output value of the same months. Output value is booked per plant, so it stops at plant.",
    numerator={"maintenance_cost_cny": 1}, denominator={"output_value_cny": 1}, scale=100, grains=("month",),
    decimals=2, scenarios=("MIIT-26", "MIIT-25"),
))
kpi(Kpi(
    "green_power_share", "绿电占比", "Green power share", "%", "higher", "ratio", "plant",
    f"{CQ} 5.6.2; green certificates as the proof of green electricity: 发改能源〔2023〕1044号",
    "(on-site renewable used + green contracts + green certificates) kWh / electricity consumed kWh",
    "Source: the EMS green electricity ledger (on-site PV net of export, 绿电交易 contract volumes, 绿证 "
    "cancelled, 1 certificate = 1 MWh) over the kWh of all electricity meters, which measure consumption whatever "
    "its source. Certificates bundled with a green contract are entered once, as the contract. Not capped at "
    "100 %, so it rolls up as a ratio of sums. A month without a ledger row is 'no data': a plant without green "
    "power books 0 kWh.",
    numerator={"green_kwh": 1}, denominator={"electricity_kwh": 1}, scale=100, grains=("month",),
    scenarios=("CQ-5.6.2", "MIIT-37", "MIIT-33"),
))
