"""Indicators the scenarios name that the KPI registry does not compute yet, with the data each needs.

When one of these becomes a KPI in kpis/definitions.py it is removed here; a contract test keeps
every indicator a scenario names either a KPI or an entry below. A need names a system, a table and
its fields; a field may carry a condition ("state = setup"), its first word is the column. When the
table is a canonical stream the system is the stream's, so coverage can tell data that is loaded
(the indicator is only not computed yet) from data that is missing.
"""

from __future__ import annotations

Need = tuple[str, str, tuple[str, ...]]  # (system, table, fields)

# id: (name_zh, name_en, needs)
PLANNED: dict[str, tuple[str, str, tuple[Need, ...]]] = {
    "rd_cycle_time": ("研发周期", "R&D cycle time", (("PLM", "design_project", ("project_id", "start_on", "release_on")),)),
    "design_reuse_share": ("设计重用率", "Design reuse share", (("PLM", "part", ("part_id", "reused")),)),
    "new_product_revenue_share": ("新产品产值率", "New product revenue share",
                                  (("PLM", "product_launch", ("product_id", "launched_on")),
                                   ("ERP", "output_value", ("value_cny",)))),
    "virtual_validation_share": ("虚拟验证比例", "Virtually validated designs",
                                 (("PLM", "design_validation", ("project_id", "method")),)),
    "process_design_cycle_time": ("工艺设计周期", "Process design cycle time",
                                  (("PLM", "process_plan", ("plan_id", "start_on", "release_on")),)),
    "engineering_change_rate": ("工程变更率", "Engineering change rate",
                                (("PLM", "engineering_change", ("change_id", "raised_on")),)),
    "factory_design_cycle_time": ("工厂设计周期", "Factory design cycle time",
                                  (("PLM", "factory_project", ("start_on", "end_on")),)),
    "digital_delivery_share": ("数字化交付比例", "Digital delivery share",
                               (("PLM", "asset_model", ("asset_id", "delivered_digitally")),)),
    "formulation_cycle_time": ("配方研发周期", "Formulation cycle time",
                               (("PLM", "formulation", ("project_id", "start_on", "release_on")),)),
    "custom_order_share": ("定制订单占比", "Custom order share", (("ERP", "sales_order", ("order_id", "is_custom")),)),
    "partner_order_on_time": ("协同订单准时率", "Partner order on-time rate",
                              (("SCM", "partner_order", ("order_id", "promised_on", "delivered_on")),)),
    "inspection_coverage": ("在线检测覆盖率", "Inspection coverage",
                            (("MES", "quality_inspection", ("inspected_qty",)),
                             ("MES", "production_record", ("produced_qty",)))),
    "service_revenue_share": ("服务收入占比", "Service revenue share", (("ERP", "revenue", ("category", "amount_cny")),)),
    "changeover_time": ("换型时间", "Changeover time", (("MES", "equipment_state", ("state = setup", "start_at", "end_at")),)),
    "wip_days": ("在制品天数", "WIP days", (("WMS", "inventory_snapshot", ("item_id of WIP", "quantity")),)),
    "material_shortage_stops": ("缺料停线次数", "Line stops for missing material",
                                (("MES", "equipment_state", ("reason_code = material shortage",)),)),
    "logistics_cost_per_unit": ("单位物流成本", "Logistics cost per unit",
                                (("ERP", "operating_cost", ("category = logistics",)),)),
    "key_material_days_of_cover": ("关键物料保障天数", "Days of cover of key materials",
                                   (("WMS", "inventory_snapshot", ("item_id", "quantity")),
                                    ("ERP", "material_plan", ("item_id", "daily_need")))),
    "line_side_on_time_delivery": ("线边配送准时率", "Line-side delivery on time",
                                   (("WMS", "stock_movement", ("requested_at", "delivered_at")),)),
    "incident_rate": ("安全事故率", "Incident rate", (("EHS", "incident", ("incident_id", "occurred_at", "severity")),)),
    "hazardous_posts_automated_share": ("危险岗位自动化率", "Hazardous posts automated",
                                        (("EHS", "post", ("post_id", "hazardous", "automated")),)),
    "emission_intensity": ("污染物排放强度", "Emission intensity", (("EMS", "emission_reading", ("pollutant", "quantity")),)),
    "solid_waste_reuse_share": ("固废综合利用率", "Solid waste reuse share", (("EMS", "waste", ("quantity", "reused_qty")),)),
    "digital_twin_coverage": ("数字孪生覆盖率", "Digital twin coverage", (("PLM", "asset_model", ("asset_id", "has_twin")),)),
}


def column(field: str) -> str:
    """The column a need's field names ("state = setup" -> state)."""
    return field.split()[0]
