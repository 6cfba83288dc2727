"""The bad-input corpus (tests/corpus): every broken export fails or quarantines clearly, never half-loads.

Each file is loaded as the production_record connector of a store already holding the golden plant
(loaded and computed once per module, copied per case). A failed run must leave every canonical
table and the recomputed KPI values exactly as before; a quarantined run must name the line, the
column and the reason, and load none of the quarantined records.
"""

from __future__ import annotations

import collections
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from cockpit import config
from cockpit.writer import Writer
from connectors.base import ConnectorSpec
from connectors.loader import run_connector
from connectors.schema import STREAMS
from kpis import engine
from tests.conftest import GOLDEN, NOW

CORPUS = Path(__file__).parent / "corpus"
CASES = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
KINDS = ("truncated file", "wrong declared encoding", "binary junk", "header only", "duplicated header line",
         "shifted columns", "text in numeric column", "mixed date formats", "negative quantity", "future timestamp",
         "duplicate keys", "title line or total row", "cut off mid-row")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The golden plant loaded and computed, as a store file each case copies."""
    folder = tmp_path_factory.mktemp("corpus") / "golden"
    shutil.copytree(GOLDEN, folder, ignore=shutil.ignore_patterns("var"))
    settings = config.load(folder / "cockpit.toml", environ={})
    writer = Writer(settings, clock=lambda: NOW)
    assert all(r.status == "ok" for r in writer.load())
    writer.compute()
    writer.close()
    return settings.store_path


def _snapshot(con) -> dict:
    return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in STREAMS}


def _kpis(con) -> list:
    engine.compute(con, day_start_minutes=480, energy_variant="equivalent", now=NOW)
    rows = con.execute("SELECT * EXCLUDE (computed_at) FROM kpi_value ORDER BY ALL").fetchall()
    return [tuple(round(v, 9) if isinstance(v, float) else v for v in r) for r in rows]  # sums differ in the last bit


def _spec(path: Path, case: dict) -> ConnectorSpec:
    return ConnectorSpec(name="corpus", system="mes", kind="csv", stream="production_record",
                         options={"path": str(path), **case.get("options", {})}, mapping=case.get("mapping", {}),
                         max_reject_share=0.5)


def test_the_corpus_covers_every_kind_at_least_twice():
    files = {p.name for p in CORPUS.iterdir() if ".csv" in p.name}
    assert files == {c["file"] for c in CASES}, "every corpus file has exactly one expected outcome"
    assert len(files) >= 50
    counts = collections.Counter(c["kind"] for c in CASES)
    assert {k: counts[k] for k in KINDS if counts[k] < 2} == {}


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_corpus_file(case, template, tmp_path):
    shutil.copy(template, tmp_path / "store.duckdb")
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    try:
        target = tmp_path / case["file"]
        spec = _spec(target, case)
        if "previous" in case:  # an earlier, complete delivery of the same export
            target.write_text(case["previous"], encoding="utf-8")
            assert run_connector(con, spec, NOW).status == "ok"
        before, kpis_before = _snapshot(con), _kpis(con)
        shutil.copy(CORPUS / case["file"], target)
        result = run_connector(con, spec, NOW)
        quarantine = con.execute("SELECT source_line, column_name, reason, raw_record FROM quarantine WHERE run_id = ? "
                                 "ORDER BY source_line", [result.run_id]).fetchall()
        if case["outcome"] == "failed":
            assert result.status == "failed", (result, quarantine)
            assert case["message"] in result.error
            if not result.error.startswith("connector"):
                assert case["file"] in result.error, "the message names the file"
            assert quarantine == [], "a failed run leaves no quarantine rows behind"
            assert _snapshot(con) == before, "nothing partial in the canonical tables"
            assert _kpis(con) == kpis_before, "the previous numbers are still served"
        else:
            assert result.status == "ok", result.error
            got = [(line, column) for line, column, _reason, _raw in quarantine]
            assert got == [(q["line"], q["column"]) for q in case["quarantined"]], quarantine
            for (_line, _col, reason, raw), q in zip(quarantine, case["quarantined"]):
                assert q["reason"] in reason and raw
            assert result.rows_in == result.rows_loaded + result.rows_unchanged + result.rows_quarantined
            loaded = {r[0] for r in con.execute("SELECT record_id FROM production_record WHERE run_id = ?",
                                                [result.run_id]).fetchall()}
            for _line, column, _reason, raw in quarantine:
                if column != "record_id" and raw.startswith("{"):  # a duplicate's key is loaded by its winner
                    assert json.loads(raw)["record_id"] not in loaded, "a quarantined record was loaded"
    finally:
        con.close()
