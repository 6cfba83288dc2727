"""Scenario coverage from what is loaded: computed, partial, or what exactly is needed (system, table, fields).

Also the foundation (which plant systems feed the cockpit) and the 3-level path of the Chongqing
guide §6: which MIIT links a 数字化车间, 智能工厂 and 未来工厂 are expected to cover, and how much of
each the plant already measures.
"""

from __future__ import annotations

from connectors.schema import STREAMS
from kpis.catalogue import CQ_CATEGORIES, CQ_SCENARIOS, MIIT_LINKS, MIIT_SCENARIOS
from kpis.indicators import PLANNED, column
from kpis.registry import all_elements, all_kpis

# entry statuses, in the order a page lists them
STATUSES = ("computed", "partial", "planned", "needs", "no_data", "user_defined")
SYSTEMS = ("MES", "ERP", "WMS", "EMS", "QMS", "PLM", "SCM", "CRM")
# Chongqing guide §6: each level adds the links it names (cumulative); MIIT link numbers.
LEVELS = (
    ("digital_workshop", "数字化车间", "Digital workshop", (4, 5, 7, 8, 10)),
    ("smart_factory", "智能工厂", "Smart factory", (2, 3, 6, 13, 14)),
    ("future_factory", "未来工厂", "Future factory", (1, 9, 11, 12, 15)),
)


def _kpi_elements(kpi_id: str) -> list:
    """The elements a KPI reads: its own and its factors' (OEE reads those of availability, ...)."""
    kpis, elements = all_kpis(), all_elements()
    k = kpis[kpi_id]
    return [elements[n] for n in set(k.elements).union(*(kpis[c].elements for c in k.components))]


def kpi_sources(kpi_id: str) -> dict[str, set[str]]:
    """table -> fields a KPI reads, through its elements (and its factors' elements)."""
    out: dict[str, set[str]] = {}
    for e in _kpi_elements(kpi_id):
        for src in e.source:
            table, field = src.split(".", 1)
            out.setdefault(table, set()).add(field)
    return out


def kpi_alternatives(kpi_id: str) -> dict[str, set[str]]:
    """table -> tables that stand in for it in some element of the KPI (headcount <- headcount_count)."""
    out: dict[str, set[str]] = {}
    for e in _kpi_elements(kpi_id):
        for table, alternative in e.alternatives:
            out.setdefault(table, set()).add(alternative)
    return out


def _need_text(system: str, table: str, fields) -> str:
    return f"{system} {table}({', '.join(fields)})"


def _kpi_indicator(indicator_id: str, kpi_status: dict[str, str], loaded: set[str]) -> dict:
    """A registry KPI is computed only while every table it reads is fed and it has a report-month value.

    Snapshots outlive a removed connector (old data stays in the store and recomputes as ok), so a
    value alone is not coverage: the tables must still come from a configured stream.
    """
    k = all_kpis()[indicator_id]
    sources = kpi_sources(indicator_id)
    stand_ins = kpi_alternatives(indicator_id)
    missing = {t: f for t, f in sources.items() if t not in loaded and not (stand_ins.get(t, set()) & loaded)}
    needs = [_need_text(STREAMS[t].system.upper(), t, sorted(f))
             + "".join(f" or {STREAMS[a].system.upper()} {a}" for a in sorted(stand_ins.get(t, ())))
             for t, f in sorted(missing.items())]
    if needs:
        status = "needs"
    else:
        status = "computed" if kpi_status.get(indicator_id) == "ok" else "no_data"
    return {"id": indicator_id, "name_zh": k.name_zh, "name_en": k.name_en, "kind": "kpi", "status": status,
            "needs": needs, "reads": [f"{STREAMS[t].system.upper()} {t}" for t in sorted(sources)]}


def _planned_indicator(indicator_id: str, loaded: set[str]) -> dict:
    """A planned indicator needs what is not loaded; with all its data loaded it is only not computed yet.

    A table that is loaded still misses the fields the canonical table does not carry (is_custom on
    sales_order), and those alone are named.
    """
    name_zh, name_en, declared = PLANNED[indicator_id]
    needs = []
    for system, table, fields in declared:
        stream = STREAMS.get(table)
        if stream is None or table not in loaded:
            needs.append(_need_text(stream.system.upper() if stream else system, table, fields))
            continue
        absent = [f for f in fields if column(f) not in stream.column_names]
        if absent:
            needs.append(_need_text(stream.system.upper(), table, absent))
    reads = [f"{STREAMS[t].system.upper() if t in STREAMS else s} {t}" for s, t, _f in declared]
    return {"id": indicator_id, "name_zh": name_zh, "name_en": name_en, "kind": "planned",
            "status": "needs" if needs else "planned", "needs": needs, "reads": reads}


def indicator(indicator_id: str, kpi_status: dict[str, str], loaded: set[str]) -> dict:
    """One indicator's coverage: computed, no_data (fed, no report-month value), needs (what) or planned.

    `loaded` holds the canonical tables that configured connectors feed (serving: source_status rows
    with rows loaded); `kpi_status` the KPIs' report-month status.
    """
    if indicator_id in all_kpis():
        return _kpi_indicator(indicator_id, kpi_status, loaded)
    return _planned_indicator(indicator_id, loaded)


def _status(indicators: list[dict]) -> str:
    if not indicators:
        return "user_defined"
    states = [i["status"] for i in indicators]
    done = states.count("computed")
    if done:
        return "computed" if done == len(states) else "partial"
    # nothing computed: say missing data only when some data is missing
    return "needs" if "needs" in states else ("planned" if "planned" in states else "no_data")


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


def _brief(entry: dict) -> dict:
    """An entry in a few fields, with its headline indicator, for the 3-level path."""
    head = next((i for i in entry["indicators"] if i["id"] == entry["headline"]), None)
    return {"id": entry["id"], "name_zh": entry["name_zh"], "name_en": entry["name_en"], "status": entry["status"],
            "headline": None if head is None else {k: head[k] for k in ("id", "name_zh", "name_en", "status")}}


def levels(entries: list[dict]) -> list[dict]:
    """Per level of the 3-level path: the MIIT scenarios it expects (cumulative) and how many are measured.

    `added` lists the scenarios of the links this level adds to the one before, so a page can say
    which are covered without repeating the lower levels' scenarios.
    """
    miit = [e for e in entries if e["guide"] == "miit"]
    out, links = [], set()
    for key, zh, en, added in LEVELS:
        links |= set(added)
        scope = [e for e in miit if e["link"] in links]
        out.append({"level": key, "name_zh": zh, "name_en": en, "scenarios": len(scope),
                    "computed": sum(e["status"] == "computed" for e in scope),
                    "partial": sum(e["status"] == "partial" for e in scope),
                    "links": [{"link": n, "name_zh": MIIT_LINKS[n][0], "name_en": MIIT_LINKS[n][1]} for n in added],
                    "added": [_brief(e) for e in miit if e["link"] in added]})
    return out


def foundation(systems_loaded: set[str]) -> list[dict]:
    return [{"system": s, "connected": s.lower() in systems_loaded} for s in SYSTEMS]


def report(kpi_status: dict[str, str], loaded_tables: set[str], systems_loaded: set[str]) -> dict:
    entries = scenarios(kpi_status, loaded_tables)
    counts = {s: sum(e["status"] == s for e in entries) for s in STATUSES}
    return {"summary": {"entries": len(entries), **counts}, "foundation": foundation(systems_loaded),
            "levels": levels(entries), "scenarios": entries}
