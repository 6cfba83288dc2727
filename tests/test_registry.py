"""Contract tests over the two registries: every KPI and every connector kind declares what it must."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from connectors.registry import kinds
from connectors.schema import create_all
from kpis import engine
from kpis.docs import kpis_markdown
from kpis.reference import seed_reference_tables
from kpis.registry import all_elements, all_kpis

DOCS = Path(__file__).parents[1] / "docs"


@pytest.mark.parametrize("kpi_id", sorted(all_kpis()))
def test_every_kpi_declares_its_provenance(kpi_id):
    k = all_kpis()[kpi_id]
    for field in ("name_zh", "name_en", "unit", "direction", "lowest_level", "standard", "formula", "description"):
        assert getattr(k, field), f"{kpi_id} lacks {field}"
    assert k.scenarios, f"{kpi_id} serves no scenario"


def test_every_element_sql_binds_against_an_empty_schema():
    con = duckdb.connect()
    create_all(con)
    seed_reference_tables(con)
    engine.prepare(con, 480, "equivalent")
    for name, e in all_elements().items():
        con.execute(f"SELECT * FROM ({e.sql}) LIMIT 0").fetchall()  # raises if a column or table is wrong
    assert engine.compute(con) == 0


def test_generated_kpi_docs_are_current():
    assert (DOCS / "kpis.md").read_text(encoding="utf-8") == kpis_markdown(), "run `cockpit docs`"


@pytest.mark.parametrize("name", sorted(kinds()))
def test_every_connector_kind_declares_itself(name):
    cls = kinds()[name]
    assert cls.kind == name and cls.description


def test_generated_schema_docs_are_current():
    from connectors.schema import markdown

    assert (DOCS / "schema.md").read_text(encoding="utf-8") == markdown() + "\n", "run `cockpit docs`"


def test_all_34_kpis_of_iso_22400_2_are_in_the_registry():
    import re

    cited = {int(n) for k in all_kpis().values() if "22400" in k.standard
             for n in re.findall(r"\(KPI (\d+)", k.standard)}
    assert cited == set(range(1, 35)), sorted(set(range(1, 35)) - cited)
