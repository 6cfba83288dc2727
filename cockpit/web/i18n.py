"""UI strings in Simplified Chinese (default) and English; data labels come from name_zh / name_en."""

from __future__ import annotations

STRINGS = {
    "title": ("未来工厂驾驶舱", "Future Factory Cockpit"),
    "outcomes": ("三降两提升", "Three reductions, two increases"),
    "baseline": ("基期", "Baseline"),
    "report": ("报告期", "Report"),
    "improvement": ("改善", "Improvement"),
    "as_of": ("数据截至", "Data as of"),
    "published": ("更新于", "Updated"),
    "no_data": ("无数据", "No data"),
    "error": ("错误", "Error"),
    "not_applicable": ("不适用", "Not applicable"),
    "not_planned": ("无计划", "Not planned"),
    "insufficient": ("数据不足", "Insufficient data"),
    "partial": ("本月数据不全", "Partial month"),
    "oee_by_plant": ("各工厂设备综合效率 OEE", "OEE by plant"),
    "energy_trend": ("综合能耗趋势 (tce/日)", "Energy consumption (tce/day)"),
    "output_vs_plan": ("产量与计划 (件/日)", "Output vs plan (units/day)"),
    "sources": ("数据源", "Data sources"),
    "state_ok": ("正常", "OK"),
    "state_failed": ("失败", "Failed"),
    "state_stale": ("过期", "Stale"),
    "state_never": ("未运行", "Never run"),
    "since": ("自", "since"),
    "good_output": ("合格产量", "Good output"),
    "planned_output": ("计划产量", "Planned"),
    "trend_vs_baseline": ("趋势与基期", "Trend against baseline"),
    "breakdown": ("下级分解", "Breakdown by next level"),
    "definition": ("定义", "Definition"),
    "formula": ("公式", "Formula"),
    "standard": ("依据", "Standard"),
    "kpi_id": ("编码", "ID"),
    "kpi_name": ("指标", "KPI"),
    "scenarios_column": ("场景", "Scenarios"),
    "lowest_level": ("最低层级", "Lowest level"),
    "direction": ("方向", "Direction"),
    "lower_better": ("越低越好", "lower is better"),
    "higher_better": ("越高越好", "higher is better"),
    "back": ("返回驾驶舱", "Back to cockpit"),
    "period_month": ("最近完整月", "Latest month"),
    "period_ytd": ("年初至今", "Year to date"),
    "period_r12": ("滚动12个月", "Rolling 12 months"),
    "period_yoy": ("同比", "Same month last year"),
    "definitions": ("指标定义", "KPI definitions"),
    "waiting": ("正在载入数据…", "Loading data…"),
    "connector": ("连接器", "Connector"),
    "last_run": ("最近运行", "Last run"),
    "rows": ("行数", "Rows"),
    "rejects": ("隔离行", "Quarantined"),
    "late_correction": ("基期数据已更正", "baseline data corrected"),
    "unit": ("单位", "Unit"),
    "coverage": ("数据覆盖", "coverage"),
    "target": ("目标", "Target"),
    "grain_shift": ("班次", "Shift"), "grain_day": ("日", "Day"), "grain_week": ("周", "Week"), "grain_month": ("月", "Month"),
    "grain_quarter": ("季", "Quarter"), "grain_year": ("年", "Year"),
    "target_default": ("默认目标：基期按工信部试点目标改善", "Default target: baseline improved by the MIIT pilot targets"),
    "level_enterprise": ("企业", "Enterprise"),
    "level_plant": ("工厂", "Plant"),
    "level_workshop": ("车间", "Workshop"),
    "level_line": ("产线", "Line"),
    "level_equipment": ("设备", "Equipment"),
}


def t(key: str, lang: str) -> str:
    zh, en = STRINGS[key]
    return en if lang == "en" else zh


def name(row, lang: str) -> str:
    """Display name of anything with name_zh / name_en (a dict or a namedtuple)."""
    get = row.get if isinstance(row, dict) else (lambda k: getattr(row, k, None))
    return (get("name_en") if lang == "en" else get("name_zh")) or get("name_zh") or get("name_en") or ""
