"""The scenario catalogue: 84 entries, every indicator known, coverage that follows what is loaded."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from cockpit import config
from cockpit.serving import Serving, scenario_report
from cockpit.writer import Writer
from connectors.schema import STREAMS
from kpis.catalogue import CQ_SCENARIOS, MIIT_SCENARIOS, entry_ids, kpi_scenarios, mismatches, references
from kpis.coverage import indicator, report, scenarios
from kpis.indicators import PLANNED, column
from kpis.registry import all_kpis
from tests.conftest import GOLDEN, NOW, copy_plant

ALL_TABLES = {"production_record", "equipment_state", "planned_time", "labor_time", "energy_reading", "meter",
              "product", "operating_cost", "output_value", "headcount"}


def test_84_entries_with_their_numbers():
    assert [s[0] for s in CQ_SCENARIOS][:2] == ["5.1.1", "5.1.2"] and CQ_SCENARIOS[-1][0] == "5.7.3"
    assert len(CQ_SCENARIOS) == 32 and len(MIIT_SCENARIOS) == 52
    assert [s[0] for s in MIIT_SCENARIOS] == list(range(1, 53))
    assert len(scenarios({}, set())) == 84


def test_every_indicator_is_a_kpi_or_planned_and_not_both():
    named = {i for s in CQ_SCENARIOS for i in s[3]} | {i for s in MIIT_SCENARIOS for i in s[4]}
    kpis = set(all_kpis())
    assert named <= kpis | set(PLANNED)
    assert not (kpis & set(PLANNED)), "an implemented KPI is still listed as planned"


def test_coverage_follows_loaded_streams():
    # on-time delivery is a KPI, but sales_order is not among the loaded tables: it cannot be 'ok'
    status = {k: "ok" for k in all_kpis() if k != "on_time_delivery"}
    by_id = {e["id"]: e for e in scenarios(status, ALL_TABLES)}
    assert by_id["CQ-5.2.7"]["status"] == "computed"  # OEE and availability
    assert by_id["CQ-5.2.1"]["status"] == "partial"  # plan attainment yes, on-time delivery needs ERP orders
    assert by_id["CQ-5.7.3"]["status"] == "user_defined"
    # remove the state stream: OEE flips to 'needs' naming the source system, table and fields
    without = {e["id"]: e for e in scenarios({k: v for k, v in status.items() if k not in ("oee", "availability")},
                                             ALL_TABLES - {"equipment_state"})}
    oee = without["CQ-5.2.7"]
    assert oee["status"] == "needs"
    assert "MES equipment_state(end_at, start_at, state)" in oee["indicators"][0]["needs"]


def test_report_levels_and_foundation():
    doc = report({k: "ok" for k in all_kpis()}, ALL_TABLES, {"mes", "erp", "ems"})
    assert doc["summary"]["entries"] == 84
    assert [lvl["scenarios"] for lvl in doc["levels"]] == [20, 34, 52]  # 3+6+3+5+3 MIIT scenarios; +2+2+3+3+4; all
    assert {f["system"]: f["connected"] for f in doc["foundation"]}["WMS"] is False


@pytest.mark.parametrize("entry", scenarios({}, set()), ids=lambda e: e["id"])
def test_entry_fields(entry):
    for key in ("id", "name_zh", "name_en", "category_zh", "status", "indicators"):
        assert entry[key] is not None


def published_plant(folder: Path) -> tuple[Path, Writer]:
    """The golden plant with January 2025 complete (one record on 2 February), loaded, computed and published.

    Returns its cockpit.toml and the writer (close it). The golden exports alone end on 6 January, so
    their last complete month, December, has no data and no scenario could be computed.
    """
    toml = copy_plant(GOLDEN, folder / "golden")
    with open(toml.parent / "production_record.csv", "a", encoding="utf-8") as f:
        f.write("R3,L1,A,O3,2025-02-02 08:00:00,2025-02-02 09:00:00,60,60,0,0\n")
    writer = Writer(config.load(toml, environ={}), clock=lambda: NOW)
    writer.load()
    writer.execute("compute", {})  # what `cockpit compute` does: compute, freeze, publish
    return toml, writer


def _without_connector(toml: Path, name: str) -> Path:
    """A copy of the config with one connector's section removed (same folder, so the same store)."""
    text = toml.read_text(encoding="utf-8")
    section = re.compile(rf"^\[connectors\.{name}(\.[^\]]+)?\]\n(?:(?!\[).*\n?)*", re.MULTILINE)
    assert section.search(text), name
    copy = toml.with_name(f"without-{name}.toml")
    copy.write_text(section.sub("", text), encoding="utf-8")
    return copy


def test_coverage_flips_back_when_a_connector_is_removed(tmp_path):
    toml, writer = published_plant(tmp_path)
    try:
        before = {e["id"]: e for e in scenario_report(Serving(writer.settings.serving_path))["scenarios"]}
    finally:
        writer.close()
    assert before["CQ-5.2.7"]["status"] == "computed"  # OEE and availability for January
    assert before["MIIT-24"]["status"] == "computed"

    # the state stream's connector leaves the config; its rows stay in the store and still compute as ok
    settings = config.load(_without_connector(toml, "equipment_state"), environ={})
    assert "equipment_state" not in {s.stream for s in settings.connectors.values()}
    writer = Writer(settings, clock=lambda: NOW)
    try:
        writer.execute("compute", {})
        serving = Serving(settings.serving_path)
        oee = serving.monthly().query("kpi_id == 'oee' and status == 'ok'")
        assert not oee.empty, "old state rows are expected to keep OEE computable"
        after = {e["id"]: e for e in scenario_report(serving)["scenarios"]}
    finally:
        writer.close()
    for entry in ("CQ-5.2.7", "MIIT-24"):
        assert after[entry]["status"] == "needs", entry
        for ind in after[entry]["indicators"]:
            assert ind["status"] == "needs"
            assert "MES equipment_state(end_at, start_at, state)" in ind["needs"], ind
    # a planned indicator on the same table no longer reads as only waiting for the product
    changeover = next(i for i in after["CQ-5.2.6"]["indicators"] if i["id"] == "changeover_time")
    assert changeover["needs"] == ["MES equipment_state(state = setup, start_at, end_at)"]
    # scenarios that do not read states are unchanged
    assert after["CQ-5.6.1"]["status"] == before["CQ-5.6.1"]["status"] == "computed"


def test_a_kpi_with_old_values_but_no_feed_needs_its_table():
    status = {k: "ok" for k in all_kpis()}
    ind = indicator("oee", status, ALL_TABLES - {"equipment_state"})
    assert ind["status"] == "needs" and ind["needs"] == ["MES equipment_state(end_at, start_at, state)"]
    assert indicator("oee", {}, ALL_TABLES)["status"] == "no_data"  # fed, but no report-month value


@pytest.mark.parametrize("indicator_id, tables, status, needs", [
    # everything it reads is loaded: not computed by the product yet, never "needs data"
    ("changeover_time", ALL_TABLES, "planned", []),
    ("inspection_coverage", ALL_TABLES | {"quality_inspection"}, "planned", []),
    ("material_shortage_stops", ALL_TABLES, "planned", []),
    ("logistics_cost_per_unit", ALL_TABLES, "planned", []),
    # what is missing, and only that
    ("changeover_time", ALL_TABLES - {"equipment_state"}, "needs", ["MES equipment_state(state = setup, start_at, end_at)"]),
    ("inspection_coverage", ALL_TABLES, "needs", ["MES quality_inspection(inspected_qty)"]),
    ("new_product_revenue_share", ALL_TABLES, "needs", ["PLM product_launch(product_id, launched_on)"]),
    ("custom_order_share", ALL_TABLES | {"sales_order"}, "needs", ["ERP sales_order(is_custom)"]),
    ("line_side_on_time_delivery", ALL_TABLES | {"stock_movement"}, "needs",
     ["WMS stock_movement(requested_at, delivered_at)"]),
])
def test_planned_indicators_say_planned_when_their_data_is_loaded(indicator_id, tables, status, needs):
    ind = indicator(indicator_id, {}, tables)
    assert (ind["kind"], ind["status"], ind["needs"]) == ("planned", status, needs)


def test_an_entry_whose_data_is_loaded_but_not_computed_says_planned():
    """MIIT-10: setup ratio (a KPI) and changeover time (planned), both reading MES equipment_state."""
    def status(kpi_status, tables):
        return {e["id"]: e for e in scenarios(kpi_status, tables)}["MIIT-10"]["status"]

    assert status({}, ALL_TABLES) == "planned"  # nothing lacks data: the product does not compute it yet
    assert status({"setup_ratio": "ok"}, ALL_TABLES) == "partial"
    assert status({"setup_ratio": "ok"}, ALL_TABLES - {"equipment_state"}) == "needs"


def test_planned_needs_name_the_canonical_system_and_real_columns():
    """A need on a canonical table names that stream's system and its columns; the few it lacks are known."""
    absent = set()
    for ind_id, (_zh, _en, needs) in PLANNED.items():
        for system, table, fields in needs:
            assert fields, ind_id
            if table in STREAMS:
                assert system == STREAMS[table].system.upper(), (ind_id, table)
                absent |= {(table, column(f)) for f in fields if column(f) not in STREAMS[table].column_names}
    # fields the canonical model would need to grow: coverage names them as needed even when the table is fed
    assert absent == {("sales_order", "is_custom"), ("stock_movement", "requested_at"),
                      ("stock_movement", "delivered_at")}


def test_levels_name_the_scenarios_each_level_adds_with_their_headline():
    doc = report({k: "ok" for k in all_kpis()}, ALL_TABLES, {"mes", "erp", "ems"})
    added = [[e["id"] for e in lvl["added"]] for lvl in doc["levels"]]
    assert [len(a) for a in added] == [20, 14, 18]  # 20, 34, 52 cumulative
    flat = [i for a in added for i in a]
    assert len(set(flat)) == 52 and set(flat) == {f"MIIT-{n}" for n in range(1, 53)}
    first = doc["levels"][0]
    assert [link["name_zh"] for link in first["links"]] == ["计划调度", "生产作业", "质量管控", "设备管理", "能源管理"]
    oee = next(e for e in first["added"] if e["id"] == "MIIT-24")
    assert oee["status"] == "computed" and oee["headline"]["id"] == "oee" and oee["headline"]["name_zh"]
    for lvl in doc["levels"]:
        assert lvl["computed"] >= sum(e["status"] == "computed" for e in lvl["added"])


def test_catalogue_references_to_kpis_appear_in_kpi_scenarios():
    kpis = all_kpis()
    for ind_id, entries in references().items():
        if ind_id in kpis:
            shown = kpi_scenarios(ind_id, kpis[ind_id].scenarios)
            assert set(entries) <= set(shown), (ind_id, sorted(set(entries) - set(shown)))
    ids = set(entry_ids())
    for k in kpis.values():
        shown = kpi_scenarios(k.id, k.scenarios)
        assert set(shown) <= ids and (set(k.scenarios) & ids) <= set(shown), k.id
    assert kpi_scenarios("defect_rate", ("CQ-9", "CQ-5.5.1")) == ["CQ-5.5.1", "MIIT-19", "MIIT-21"]


def test_mismatches_name_missing_entries_and_ids_that_are_no_entry():
    record = SimpleNamespace(scenarios=("CQ-9", "CQ-5.2.7"), group="line")
    assert mismatches({"oee": record}) == {"oee": {"missing": ["MIIT-15", "MIIT-24"], "unknown": ["CQ-9"]}}
    outcome = SimpleNamespace(scenarios=("CQ-9", *references()["oee"]), group="outcome")  # §9 is what outcomes serve
    assert mismatches({"oee": outcome}) == {}
    agreeing = SimpleNamespace(scenarios=tuple(references()["oee"]), group="line")
    assert mismatches({"oee": agreeing}) == {}


def test_every_kpi_record_names_the_entries_the_catalogue_lists_it_under():
    """One truth for 'which scenarios does this KPI serve': the record agrees with the catalogue coverage reads."""
    assert mismatches(all_kpis()) == {}
