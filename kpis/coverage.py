"""Scenario coverage from what is loaded: computed, partial, or what exactly is needed (system, table, fields).

Also the foundation (which plant systems feed the cockpit) and the 3-level path of the Chongqing
guide §6: which MIIT links a 数字化车间, 智能工厂 and 未来工厂 are expected to cover, and how much of
each the plant already measures.
"""

from __future__ import annotations

from connectors.schema import STREAMS
from kpis.catalogue import CQ_CATEGORIES, CQ_SCENARIOS, MIIT_LINKS, MIIT_SCENARIOS
from kpis.indicators import PLANNED
from kpis.registry import all_elements, all_kpis

SYSTEMS = ("MES", "ERP", "WMS", "EMS", "QMS", "PLM", "SCM", "CRM")
# Chongqing guide §6: each level adds the links it names (cumulative); MIIT link numbers.
LEVELS = (
    ("digital_workshop", "数字化车间", "Digital workshop", (4, 5, 7, 8, 10)),
    ("smart_factory", "智能工厂", "Smart factory", (2, 3, 6, 13, 14)),
    ("future_factory", "未来工厂", "Future factory", (1, 9, 11, 12, 15)),
)


def _kpi_sources(kpi_id: str) -> dict[str, set[str]]:
    """table -> fields a KPI reads, through its elements (and its factors' elements)."""
    kpis, elements = all_kpis(), all_elements()
    k = kpis[kpi_id]
    names = set(k.elements)
    for c in k.components:
        names |= kpis[c].elements
    out: dict[str, set[str]] = {}
    for name in names:
        for src in elements[name].source:
            table, field = src.split(".", 1)
            out.setdefault(table, set()).add(field)
    return out


def indicator(indicator_id: str, kpi_status: dict[str, str], loaded: set[str]) -> dict:
    kpis = all_kpis()
    if indicator_id in kpis:
        k = kpis[indicator_id]
        sources = _kpi_sources(indicator_id)
        missing = {t: f for t, f in sources.items() if t not in loaded}
        needs = [f"{STREAMS[t].system.upper()} {t}({', '.join(sorted(f))})" for t, f in sorted(missing.items())]
        status = "computed" if kpi_status.get(indicator_id) == "ok" else ("needs" if needs else "no_data")
        return {"id": indicator_id, "name_zh": k.name_zh, "name_en": k.name_en, "kind": "kpi",
                "status": status, "needs": needs}
    name_zh, name_en, needs = PLANNED[indicator_id]
    return {"id": indicator_id, "name_zh": name_zh, "name_en": name_en, "kind": "planned", "status": "needs",
            "needs": list(needs) or ["indicator not implemented yet"]}


def _status(indicators: list[dict]) -> str:
    if not indicators:
        return "user_defined"
    done = sum(i["status"] == "computed" for i in indicators)
    return "computed" if done == len(indicators) else ("partial" if done else "needs")


def scenarios(kpi_status: dict[str, str], loaded: set[str]) -> list[dict]:
    """All 84 entries: 32 Chongqing headings and 52 MIIT scenarios, each with indicators and coverage."""
    out = []
    for number, zh, en, ids, related in CQ_SCENARIOS:
        inds = [indicator(i, kpi_status, loaded) for i in ids]
        cat = CQ_CATEGORIES[number.rsplit(".", 1)[0]]
        out.append({"id": f"CQ-{number}", "guide": "chongqing", "number": number, "name_zh": zh, "name_en": en,
                    "category_zh": cat[0], "category_en": cat[1], "headline": ids[0] if ids else None,
                    "indicators": inds, "status": _status(inds), "related": [f"MIIT-{n}" for n in related]})
    for number, link, zh, en, ids in MIIT_SCENARIOS:
        inds = [indicator(i, kpi_status, loaded) for i in ids]
        out.append({"id": f"MIIT-{number}", "guide": "miit", "number": str(number), "name_zh": zh, "name_en": en,
                    "category_zh": MIIT_LINKS[link][0], "category_en": MIIT_LINKS[link][1], "link": link,
                    "headline": ids[0], "indicators": inds, "status": _status(inds), "related": []})
    return out


def levels(entries: list[dict]) -> list[dict]:
    """Per level of the 3-level path: the MIIT scenarios it expects (cumulative) and how many are measured."""
    miit = [e for e in entries if e["guide"] == "miit"]
    out, links = [], set()
    for key, zh, en, added in LEVELS:
        links |= set(added)
        scope = [e for e in miit if e["link"] in links]
        out.append({"level": key, "name_zh": zh, "name_en": en, "scenarios": len(scope),
                    "computed": sum(e["status"] == "computed" for e in scope),
                    "partial": sum(e["status"] == "partial" for e in scope)})
    return out


def foundation(systems_loaded: set[str]) -> list[dict]:
    return [{"system": s, "connected": s.lower() in systems_loaded} for s in SYSTEMS]


def report(kpi_status: dict[str, str], loaded_tables: set[str], systems_loaded: set[str]) -> dict:
    entries = scenarios(kpi_status, loaded_tables)
    counts = {s: sum(e["status"] == s for e in entries) for s in ("computed", "partial", "needs", "user_defined")}
    return {"summary": {"entries": len(entries), **counts}, "foundation": foundation(systems_loaded),
            "levels": levels(entries), "scenarios": entries}
