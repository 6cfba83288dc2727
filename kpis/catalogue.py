"""The scenario catalogue of both seeds: 32 Chongqing headings (5.1.1–5.7.3) and 52 MIIT scenarios.

Data, not code: each entry names its guide, number, category (Chongqing 5.x heading or MIIT link),
a headline indicator and 1–3 indicators (KPI ids of the registry or planned indicators in
kpis/indicators.py). A few lookups at the end answer which entries a KPI serves from this data. Chongqing numbers follow 重庆市未来工厂建设指南（2.0）§5; MIIT numbers follow
智能制造典型场景参考指引（2021年）.
"""

from __future__ import annotations

CQ_CATEGORIES = {
    "5.1": ("研发设计数字化", "Digital R&D and design"),
    "5.2": ("生产制造数字化", "Digital production"),
    "5.3": ("数字供应链", "Digital supply chain"),
    "5.4": ("数字营销和服务", "Digital marketing and service"),
    "5.5": ("质量与安全管控数字化", "Digital quality and safety"),
    "5.6": ("制造绿色化", "Green manufacturing"),
    "5.7": ("模式创新", "Business model innovation"),
}

# (number, name_zh, name_en, indicators (headline first), related MIIT numbers)
CQ_SCENARIOS = [
    ("5.1.1", "产品数字化研发设计", "Digital product design", ("rd_cycle_time", "design_reuse_share"), (3,)),
    ("5.1.2", "数据驱动产品研发", "Data-driven product development", ("rd_cycle_time", "new_product_revenue_share"), (4,)),
    ("5.1.3", "虚拟验证与中试", "Virtual validation and pilot runs", ("virtual_validation_share", "rd_cycle_time"), (3,)),
    ("5.1.4", "工艺数字化设计", "Digital process design", ("process_design_cycle_time",), (5, 6)),
    ("5.1.5", "可制造性设计", "Design for manufacturability", ("engineering_change_rate", "process_design_cycle_time"), (5,)),
    ("5.2.1", "生产计划优化", "Production planning optimisation", ("plan_attainment", "on_time_delivery"), (7,)),
    ("5.2.2", "工艺动态优化", "Dynamic process optimisation", ("cpk", "quality_ratio"), (13,)),
    ("5.2.3", "智能排产调度", "Intelligent scheduling", ("plan_attainment", "allocation_efficiency"), (8, 11)),
    ("5.2.4", "先进过程控制", "Advanced process control", ("finished_goods_ratio", "cpk"), (12,)),
    ("5.2.5", "人机协同作业", "Human-machine collaboration", ("labour_productivity", "worker_efficiency"), (9, 14)),
    ("5.2.6", "产线柔性配置", "Flexible line configuration", ("setup_ratio", "changeover_time", "nee"), (10,)),
    ("5.2.7", "设备运行监控", "Equipment monitoring", ("oee", "availability"), (24,)),
    ("5.2.8", "设备智能运维", "Intelligent maintenance", ("mtbf", "mttr", "corrective_maintenance_ratio"), (22, 23, 25, 26)),
    ("5.3.1", "供应链计划协同优化", "Collaborative supply planning", ("inventory_days", "material_shortage_stops", "forecast_accuracy"), (45,)),
    ("5.3.2", "供应商数智化管理", "Digital supplier management", ("supplier_on_time_delivery", "incoming_quality"), (44,)),
    ("5.3.3", "供应链物流智能配送", "Smart logistics", ("logistics_cost_per_unit", "dock_to_stock_time"), (46,)),
    ("5.3.4", "弹性供应链", "Resilient supply chain", ("key_material_days_of_cover",), (47,)),
    ("5.3.5", "智能仓储", "Smart warehousing", ("inventory_record_accuracy", "picking_accuracy", "dock_to_stock_time"), (16,)),
    ("5.3.6", "物料精准配送", "Precise material delivery", ("line_side_on_time_delivery", "picking_accuracy"), (17, 18)),
    ("5.4.1", "智慧营销管理", "Smart marketing", ("forecast_accuracy",), (38, 39)),
    ("5.4.2", "智能客户服务", "Smart customer service", ("complaint_rate",), (41,)),
    ("5.4.3", "产品智能运维", "Product remote service", ("service_revenue_share",), (42, 43)),
    ("5.5.1", "在线智能检测", "Online inspection", ("defect_rate", "inspection_coverage"), (19,)),
    ("5.5.2", "质量追溯与分析改进", "Quality traceability and improvement", ("first_pass_yield", "dppm", "complaint_rate"), (20, 21)),
    ("5.5.3", "安全一体化管控", "Integrated safety management", ("incident_rate",), (27, 28)),
    ("5.5.4", "危险作业自动化", "Automation of hazardous work", ("hazardous_posts_automated_share",), (29, 30)),
    ("5.6.1", "能源智能管控", "Smart energy management", ("energy_per_output_value", "energy_per_unit", "energy_tce"),
     (31, 32, 33)),
    ("5.6.2", "碳资产全生命周期管理", "Carbon asset management", ("carbon_per_output_value", "green_power_share"), (37,)),
    ("5.6.3", "污染在线管控", "Online pollution control", ("emission_intensity",), (34, 35, 36)),
    ("5.7.1", "网络化协同制造", "Networked collaborative manufacturing", ("partner_order_on_time", "equipment_load_ratio"),
     (50, 51)),
    ("5.7.2", "大规模个性化定制", "Mass customisation", ("custom_order_share", "order_to_delivery_time"), (48, 49)),
    ("5.7.3", "其他模式", "Other models (user-defined)", (), ()),
]

MIIT_LINKS = {
    1: ("工厂设计", "Factory design"), 2: ("产品研发", "Product R&D"), 3: ("工艺设计", "Process design"),
    4: ("计划调度", "Planning and scheduling"), 5: ("生产作业", "Production operations"),
    6: ("仓储配送", "Warehousing and distribution"), 7: ("质量管控", "Quality control"),
    8: ("设备管理", "Equipment management"), 9: ("安全管控", "Safety control"), 10: ("能源管理", "Energy management"),
    11: ("环保管控", "Environmental control"), 12: ("营销管理", "Marketing"), 13: ("售后服务", "After-sales service"),
    14: ("供应链管理", "Supply chain management"), 15: ("模式创新", "Business model innovation"),
}

# (number, link, name_zh, name_en, indicators (headline first))
MIIT_SCENARIOS = [
    (1, 1, "车间/工厂数字化设计", "Digital factory design", ("factory_design_cycle_time",)),
    (2, 1, "车间/工厂数字化交付", "Digital factory delivery", ("digital_delivery_share",)),
    (3, 2, "产品数字化设计与仿真", "Digital product design and simulation", ("rd_cycle_time", "virtual_validation_share")),
    (4, 2, "原料性质表征与配方研发", "Raw material characterisation and formulation", ("formulation_cycle_time",)),
    (5, 3, "离散型工艺数字化设计", "Digital process design (discrete)", ("process_design_cycle_time",)),
    (6, 3, "流程型工艺数字化设计", "Digital process design (process industry)", ("process_design_cycle_time",)),
    (7, 4, "生产计划优化", "Production planning optimisation", ("plan_attainment", "on_time_delivery")),
    (8, 4, "车间智能排产", "Intelligent shop-floor scheduling", ("plan_attainment", "allocation_efficiency")),
    (9, 4, "精准作业派工", "Precise job dispatching", ("labour_productivity", "worker_efficiency")),
    (10, 5, "产线柔性配置", "Flexible line configuration", ("setup_ratio", "changeover_time")),
    (11, 5, "资源动态组织", "Dynamic resource organisation", ("allocation_efficiency", "utilization_efficiency")),
    (12, 5, "先进过程控制", "Advanced process control", ("finished_goods_ratio", "cpk")),
    (13, 5, "工艺流程/参数动态调优", "Dynamic tuning of process parameters", ("cpk", "quality_ratio")),
    (14, 5, "人机协同作业", "Human-machine collaboration", ("labour_productivity", "worker_efficiency")),
    (15, 5, "精益生产管理", "Lean production management", ("oee", "wip_days", "production_loss_ratio")),
    (16, 6, "智能仓储", "Smart warehousing", ("inventory_record_accuracy", "picking_accuracy", "dock_to_stock_time")),
    (17, 6, "精准配送", "Precise distribution", ("line_side_on_time_delivery", "picking_accuracy")),
    (18, 6, "物料实时跟踪", "Real-time material tracking", ("line_side_on_time_delivery", "inventory_record_accuracy")),
    (19, 7, "智能在线检测", "Intelligent online inspection", ("defect_rate", "inspection_coverage")),
    (20, 7, "质量精准追溯", "Precise quality traceability", ("first_pass_yield", "dppm", "complaint_rate")),
    (21, 7, "产品质量优化", "Product quality optimisation", ("defect_rate", "scrap_ratio", "complaint_rate")),
    (22, 8, "自动巡检", "Automated inspection rounds", ("mtbf",)),
    (23, 8, "智能维护管理", "Intelligent maintenance management", ("pm_compliance", "mttr")),
    (24, 8, "在线运行监测与故障诊断", "Online monitoring and fault diagnosis", ("oee", "availability")),
    (25, 8, "预测性维护与运行优化", "Predictive maintenance", ("mtbf", "corrective_maintenance_ratio", "maintenance_cost_share")),
    (26, 8, "资产全生命周期管理", "Asset lifecycle management", ("maintenance_cost_share",)),
    (27, 9, "安全风险实时监测与识别", "Real-time safety risk monitoring", ("incident_rate",)),
    (28, 9, "安全事件智能决策与应急联动", "Safety incident response", ("incident_rate",)),
    (29, 9, "危化品智能管控", "Hazardous chemicals control", ("hazardous_posts_automated_share",)),
    (30, 9, "危险作业自动化", "Automation of hazardous work", ("hazardous_posts_automated_share",)),
    (31, 10, "能耗数据监测", "Energy consumption monitoring", ("energy_tce", "energy_per_unit")),
    (32, 10, "能效优化", "Energy efficiency optimisation", ("energy_per_unit", "energy_per_output_value")),
    (33, 10, "能源平衡与调度", "Energy balancing and dispatch", ("energy_per_output_value", "green_power_share")),
    (34, 11, "污染源管理与环境监测", "Pollution source monitoring", ("emission_intensity",)),
    (35, 11, "排放预警与管控", "Emission early warning and control", ("emission_intensity",)),
    (36, 11, "固废处置与再利用", "Solid waste disposal and reuse", ("solid_waste_reuse_share",)),
    (37, 11, "碳资产管理", "Carbon asset management", ("carbon_per_output_value", "green_power_share")),
    (38, 12, "市场快速分析预测", "Market analysis and forecasting", ("forecast_accuracy",)),
    (39, 12, "销售计划动态优化", "Dynamic sales planning", ("forecast_accuracy",)),
    (40, 12, "销售驱动业务优化", "Sales-driven business optimisation", ("on_time_delivery",)),
    (41, 13, "主动客户服务", "Proactive customer service", ("complaint_rate",)),
    (42, 13, "产品远程运维", "Remote product service", ("service_revenue_share",)),
    (43, 13, "数据增值服务", "Data-based value-added services", ("service_revenue_share",)),
    (44, 14, "采购策略优化", "Procurement strategy optimisation", ("supplier_on_time_delivery", "incoming_quality")),
    (45, 14, "供应链可视化", "Supply chain visibility", ("otif",)),
    (46, 14, "物流实时监测与优化", "Logistics monitoring and optimisation", ("logistics_cost_per_unit", "dock_to_stock_time")),
    (47, 14, "供应链风险预警与弹性管控", "Supply chain risk and resilience", ("key_material_days_of_cover",)),
    (48, 15, "用户直连制造", "Customer-to-manufacturer", ("custom_order_share", "order_to_delivery_time")),
    (49, 15, "大批量定制", "Mass customisation", ("custom_order_share",)),
    (50, 15, "共享制造", "Shared manufacturing", ("equipment_load_ratio",)),
    (51, 15, "网络协同制造", "Networked collaborative manufacturing", ("partner_order_on_time",)),
    (52, 15, "基于数字孪生的制造", "Digital-twin-based manufacturing", ("digital_twin_coverage",)),
]


# What the five outcome KPIs serve besides scenarios: the Chongqing guide's §9, 三降两提升, the point of the
# whole effort. A KPI record may name it; it is no catalogue entry, so coverage and pages leave it out.
OUTCOMES_ID = "CQ-9"


def entry_ids() -> list[str]:
    """The 84 entry ids in catalogue order: CQ-5.1.1 … CQ-5.7.3, then MIIT-1 … MIIT-52."""
    return [f"CQ-{s[0]}" for s in CQ_SCENARIOS] + [f"MIIT-{s[0]}" for s in MIIT_SCENARIOS]


def references() -> dict[str, list[str]]:
    """Indicator id -> the entries naming it, in catalogue order."""
    out: dict[str, list[str]] = {}
    for number, _zh, _en, ids, _related in CQ_SCENARIOS:
        for i in ids:
            out.setdefault(i, []).append(f"CQ-{number}")
    for number, _link, _zh, _en, ids in MIIT_SCENARIOS:
        for i in ids:
            out.setdefault(i, []).append(f"MIIT-{number}")
    return out


def kpi_scenarios(kpi_id: str, declared: tuple[str, ...] | list[str] = ()) -> list[str]:
    """The entries a KPI serves: those naming it here plus the real entries its record declares.

    The catalogue is what coverage reads, so it wins: a KPI record that forgets an entry still shows
    it, and an id that is no entry (the outcome KPIs' "CQ-9", the guide's §9) is left out.
    """
    ids = entry_ids()
    wanted = set(references().get(kpi_id, ())) | (set(declared) & set(ids))
    return [i for i in ids if i in wanted]


def mismatches(kpis: dict) -> dict[str, dict[str, list[str]]]:
    """Per KPI whose record disagrees with the catalogue: entries missing from it, and ids that are no entry."""
    ids, refs = set(entry_ids()), references()
    out = {}
    for kpi_id, k in kpis.items():
        missing = [i for i in refs.get(kpi_id, ()) if i not in k.scenarios]
        unknown = [i for i in k.scenarios if i not in ids and not (i == OUTCOMES_ID and k.group == "outcome")]
        if missing or unknown:
            out[kpi_id] = {"missing": missing, "unknown": unknown}
    return out
