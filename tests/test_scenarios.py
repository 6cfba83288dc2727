"""The scenario catalogue: 84 entries, every indicator known, coverage that follows what is loaded."""

from __future__ import annotations

import pytest

from kpis.catalogue import CQ_SCENARIOS, MIIT_SCENARIOS
from kpis.coverage import report, scenarios
from kpis.indicators import PLANNED
from kpis.registry import all_kpis

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
