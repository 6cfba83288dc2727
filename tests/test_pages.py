"""Render tests of /definitions and /scenarios: headers in the page language, every KPI and entry shown."""

from __future__ import annotations

import re

import pytest
from dash import html

from cockpit.serving import Serving, scenario_report
from cockpit.web import pages, scenarios
from cockpit.web.i18n import t
from kpis.catalogue import entry_ids, kpi_scenarios
from kpis.registry import all_kpis
from tests.test_scenarios import published_plant

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def serving(tmp_path_factory):
    _toml, writer = published_plant(tmp_path_factory.mktemp("pages"))
    path = writer.settings.serving_path
    writer.close()
    return Serving(path)


def text(node) -> str:
    """All text under a Dash component, children in order, separated by spaces."""
    if node is None:
        return ""
    if isinstance(node, (str, int, float)):
        return str(node)
    if isinstance(node, (list, tuple)):
        return " ".join(text(n) for n in node)
    return text(getattr(node, "children", None))


def find(node, kind) -> list:
    """Every component of a Dash type under node, depth first."""
    out = []
    if isinstance(node, (list, tuple)):
        for n in node:
            out += find(n, kind)
    elif hasattr(node, "children"):
        if isinstance(node, kind):
            out.append(node)
        out += find(node.children, kind)
    return out


def by_class(node, name: str) -> list:
    out = []
    if isinstance(node, (list, tuple)):
        for n in node:
            out += by_class(n, name)
    elif hasattr(node, "children"):
        if name in (getattr(node, "className", None) or "").split():
            out.append(node)
        out += by_class(node.children, name)
    return out


def headers(page) -> list[str]:
    return [text(th) for th in find(page, html.Th)]


def body_rows(page) -> list[list[str]]:
    return [[text(td) for td in find(tr, html.Td)] for tr in find(find(page, html.Tbody), html.Tr)]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_definitions_headers_are_in_the_page_language(lang):
    head = headers(pages.definitions_page(lang))
    assert head[3] == t("elements", lang) and len(head) == 9
    for h in head:
        assert bool(CJK.search(h)) == (lang == "zh"), h


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_kpi_is_defined_with_formula_unit_direction_standard_and_elements(lang):
    page = pages.definitions_page(lang)
    rows = {r[0]: r for r in body_rows(page)}
    kpis = all_kpis()
    assert set(rows) == set(kpis)
    for k in kpis.values():
        _id, name, formula, elements, unit, direction, _level, standard, served = rows[k.id]
        assert name == (k.name_en if lang == "en" else k.name_zh)
        assert (formula, unit, standard) == (k.formula, k.unit, k.standard)
        assert direction == t("lower_better" if k.direction == "lower" else "higher_better", lang)
        for element in k.elements | set(k.components):
            assert element in elements, (k.id, element)
        for entry in kpi_scenarios(k.id, k.scenarios):
            assert entry in served, (k.id, entry)
        assert "CQ-9" not in served


@pytest.mark.parametrize("kpi_id, expected", [
    ("defect_rate", ["分子 produced_qty − good_qty", "分母 produced_qty"]),
    ("energy_tce", ["合计 0.001 × energy_kgce"]),
    ("oee", ["因子之积 availability × effectiveness × quality_ratio"]),
    ("cpk", ["样本 measured_n"]),
])
def test_elements_are_written_as_sums(kpi_id, expected):
    page = pages.definitions_page("zh")
    row = next(tr for tr in find(find(page, html.Tbody), html.Tr) if text(find(tr, html.Td)[0]) == kpi_id)
    assert [text(div) for div in by_class(row, "kpi-elements")[0].children] == expected


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_scenarios_page_shows_all_84_entries_in_the_page_language(serving, lang):
    page = scenarios.page(serving, lang)
    head = headers(page)
    assert head == [t(k, lang) for k in ("kpi_id", "scenario", "category", "status", "indicators")]
    for h in head[1:]:
        assert bool(CJK.search(h)) == (lang == "zh"), h
    rows = body_rows(page)
    assert [r[0] for r in rows] == entry_ids() and len(rows) == 84
    doc = scenario_report(serving)
    for row, entry in zip(rows, doc["scenarios"], strict=True):
        assert row[1] == (entry["name_en"] if lang == "en" else entry["name_zh"])
        assert row[3] == t(f"cov_{entry['status']}", lang)
    summary = text(by_class(page, "scenario-summary"))
    assert f"84 {t('scenario_count', lang)}" in summary


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_3_level_path_names_covered_and_uncovered_scenarios_with_headlines(serving, lang):
    page = scenarios.page(serving, lang)
    panels = by_class(page, "level-panel")
    assert [text(p.children[0]) for p in panels] == (
        ["Digital workshop", "Smart factory", "Future factory"] if lang == "en" else ["数字化车间", "智能工厂", "未来工厂"])
    workshop = panels[0]
    covered, rest = by_class(workshop, "level-group")
    assert text(covered).startswith(t("covered", lang)) and text(rest).startswith(t("not_covered", lang))
    # the golden plant computes OEE and availability for January: MIIT-24 is covered, with its headline
    oee = "Online monitoring and fault diagnosis · OEE" if lang == "en" else "在线运行监测与故障诊断 · 设备综合效率"
    assert any(text(chip).startswith(oee) for chip in by_class(covered, "level-chip")), text(covered)
    assert any("能源管理" in text(p) or "Energy management" in text(p) for p in by_class(workshop, "level-links"))
    chips = sum(len(by_class(p, "level-chip")) for p in panels)
    assert chips == 52  # each MIIT scenario once, at the level that adds it
    has_cjk = [bool(CJK.search(text(chip))) for chip in by_class(page, "level-chip")]
    assert has_cjk == [lang == "zh"] * 52


def test_a_planned_indicator_says_not_computed_yet_not_missing_data(serving):
    page = scenarios.page(serving, "zh")
    row = next(tr for tr in find(find(page, html.Tbody), html.Tr) if text(find(tr, html.Td)[0]) == "CQ-5.2.6")
    changeover = next(div for div in by_class(row, "indicator") if text(div.children[0]) == "换型时间")
    assert "待实现" in text(changeover) and "数据已接入" in text(changeover) and "缺数据" not in text(changeover)


def test_a_failing_source_is_shown_with_its_error_and_since_when_and_no_secret(golden_dir):
    """IT reads on /sources what failed and since when, in the page language; a secret the connector names is
    masked wherever its error is recorded (here it is part of the path the error quotes)."""
    from cockpit import config
    from cockpit.writer import Writer
    from tests.conftest import NOW

    secret = "export-share-7f3a9c"
    toml = golden_dir / "cockpit.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + '\n[connectors.mes_share]\nsystem = "mes"\nkind = "csv"\n'
                    'stream = "labor_time"\npath = { env = "MES_SHARE" }\n', encoding="utf-8")
    settings = config.load(toml, environ={"MES_SHARE": f"/mnt/{secret}/labor_*.csv"})
    writer = Writer(settings, clock=lambda: NOW)
    try:
        results = {r.connector: r for r in writer.refresh()}
        stored = writer.con.execute("SELECT error FROM load_run WHERE connector = 'mes_share'").fetchall()[0][0]
    finally:
        writer.close()
    assert results["mes_share"].status == "failed" and secret not in results["mes_share"].error
    assert secret not in stored and "no file matches ***" in stored  # the whole value is the secret
    zh = str(pages.sources_page(Serving(settings.serving_path), "zh"))
    assert all(h in zh for h in ("连接器", "系统", "类型", "数据流", "状态", "数据截至", "错误"))
    assert "失败 自 2025-02-10" in zh and "NaT" not in zh and secret not in zh
    en = str(pages.sources_page(Serving(settings.serving_path), "en"))
    assert "System" in en and "Failed since 2025-02-10" in en
