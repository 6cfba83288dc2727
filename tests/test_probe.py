"""connectors.probe: `test` reads a source without loading it; `preview` gives each sample row its outcome."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from cockpit import config
from connectors import encoding, probe
from tests.conftest import NOW

HEADER = "record_id,unit_id,product_id,order_id,start_at,end_at,produced_qty,good_qty,scrap_qty,rework_qty\n"


def _settings(folder: Path, extra: str = ""):
    path = folder / "cockpit.toml"
    if extra:
        path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return config.load(path, environ={})


def _master(folder: Path) -> dict[str, pd.DataFrame]:
    """The golden plant's master data, as the serving file would publish it."""
    return {name: pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
            for name in probe.MASTER_TABLES}


def test_probe_finds_file_encoding_and_every_mapped_header(golden_dir):
    report = probe.probe(_settings(golden_dir).connectors["production_record"], NOW)
    assert report.ok and report.reachable and report.error is None
    assert report.sources == [str(golden_dir / "production_record.csv")]
    assert report.encoding == "utf-8"
    assert [f for f, _src in report.matched] == HEADER.strip().split(",")
    assert report.missing == [] and report.unmapped == []


def test_probe_names_a_missing_header_and_suggests_the_close_one(golden_dir):
    csv = golden_dir / "production_record.csv"
    csv.write_text(csv.read_text().replace("good_qty", "合格数"), encoding="utf-8")
    settings = _settings(golden_dir, '\n[connectors.production_record.mapping]\n'
                                     'record_id = "record_id"\nunit_id = "unit_id"\nproduct_id = "product_id"\n'
                                     'start_at = "start_at"\nend_at = "end_at"\nproduced_qty = "produced_qty"\n'
                                     'good_qty = "合格数量"\nscrap_qty = "scrap_qty"\nrework_qty = "rework_qty"\n')
    report = probe.probe(settings.connectors["production_record"], NOW)
    assert not report.ok and report.reachable
    assert report.missing == [("good_qty", "合格数量", "合格数")]
    assert "合格数" in report.unmapped and "order_id" in report.unmapped  # found, but no field takes them
    text = probe.format_probe(report)
    assert "MISSING  good_qty" in text and "did you mean '合格数'" in text


def test_probe_reports_an_unreachable_source(golden_dir):
    spec = _settings(golden_dir).connectors["production_record"]
    spec = dataclasses.replace(spec, options={"path": "exports/*.csv"})
    report = probe.probe(spec, NOW)
    assert not report.reachable and not report.ok
    assert "no file matches" in report.error and "exports/*.csv" in report.error


def test_probe_detects_a_gbk_export(golden_dir):
    (golden_dir / "headcount_gbk.csv").write_bytes("单位,月份,平均人数\nP1,2025-01-01,20\n".encode("gbk"))
    settings = _settings(golden_dir, '\n[connectors.hc_gbk]\nsystem = "erp"\nkind = "csv"\nstream = "headcount"\n'
                                     'path = "headcount_gbk.csv"\n[connectors.hc_gbk.mapping]\n'
                                     'unit_id = "单位"\nmonth_on = "月份"\navg_employees = "平均人数"\n')
    report = probe.probe(settings.connectors["hc_gbk"], NOW)
    assert report.encoding == "gb18030"
    assert report.ok, report
    assert report.matched == [("unit_id", "单位"), ("month_on", "月份"), ("avg_employees", "平均人数")]


def _headcount(folder: Path, name: str, data: bytes, options: str = ""):
    """A headcount connector over one export written as `data`, mapped from Chinese headers."""
    (folder / name).write_bytes(data)
    settings = _settings(folder, f'\n[connectors.hc]\nsystem = "erp"\nkind = "csv"\nstream = "headcount"\n'
                                 f'path = "{name}"\n{options}[connectors.hc.mapping]\n'
                                 'unit_id = "单位"\nmonth_on = "月份"\navg_employees = "平均人数"\n')
    return settings.connectors["hc"]


HC_MATCHED = [("unit_id", "单位"), ("month_on", "月份"), ("avg_employees", "平均人数")]


@pytest.mark.parametrize(("name", "data", "options", "codec"), [
    pytest.param("hc_semicolon.csv", "单位;月份;平均人数\nP1;2025-01-01;20\nP1;2025-02-01;21\n".encode(), "",
                 "utf-8", id="semicolon"),
    pytest.param("hc_tab.csv", "单位\t月份\t平均人数\nP1\t2025-01-01\t20\n".encode(), "", "utf-8", id="tab"),
    pytest.param("hc_title.csv", "人员月报 2025年1月,,\n单位,月份,平均人数\nP1,2025-01-01,20\n".encode("gbk"),
                 "skip_rows = 1\n", "gb18030", id="gbk-title-line"),
    pytest.param("hc_declared.csv", "单位|月份|平均人数\nP1|2025-01-01|20\n".encode(), 'delimiter = "|"\n',
                 "utf-8", id="configured-delimiter"),
])
def test_probe_reads_the_header_as_the_csv_kind_does(golden_dir, name, data, options, codec):
    """Sniffed or configured delimiter, title lines and encoding: test must see what load sees."""
    spec = _headcount(golden_dir, name, data, options)
    report = probe.probe(spec, NOW)
    assert report.ok, probe.format_probe(report)
    assert report.headers == ["单位", "月份", "平均人数"]
    assert report.matched == HC_MATCHED and report.missing == [] and report.unmapped == []
    assert report.encoding == codec


def test_probe_reports_the_encoding_a_run_reads_with_not_a_guess_from_the_head(golden_dir):
    """Not UTF-8 only after the first 64 KB: the run's scan finds it, so the test must name its codec too."""
    path = golden_dir / "hc_late_gbk.csv"
    rows = "".join(f"P1,2025-01-01,{i}\n" for i in range(5000))
    path.write_bytes(("unit_id,month_on,avg_employees\n" + rows).encode() + "冲压车间,2025-01-01,3\n".encode("gbk"))
    spec = _settings(golden_dir, '\n[connectors.hc]\nsystem = "erp"\nkind = "csv"\nstream = "headcount"\n'
                                 'path = "hc_late_gbk.csv"\n').connectors["hc"]
    assert probe.detect_encoding(path) == "utf-8"  # what the head alone suggests
    report = probe.probe(spec, NOW)
    assert report.ok, probe.format_probe(report)
    assert report.encoding == encoding.scan(path, "auto", str(path)).codec != "utf-8"


def test_probe_of_a_semicolon_file_names_a_renamed_column_with_a_hint(golden_dir):
    spec = _headcount(golden_dir, "hc_renamed.csv", "单位;月份;平均人数(人)\nP1;2025-01-01;20\n".encode("gbk"))
    report = probe.probe(spec, NOW)
    assert not report.ok and report.reachable
    assert report.matched == HC_MATCHED[:2]
    assert report.missing == [("avg_employees", "平均人数", "平均人数(人)")]
    assert report.unmapped == ["平均人数(人)"]
    assert "did you mean '平均人数(人)'" in report.error  # the load's own header check, same words
    assert "did you mean '平均人数(人)'" in probe.format_probe(report)


def test_preview_gives_each_row_its_outcome_and_reason(golden_dir):
    csv = golden_dir / "production_record.csv"
    csv.write_text(csv.read_text() + "R3,L1,A,O3,2025-01-07 09:00:00,2025-01-07 10:00:00,10,8,1,0\n"
                                     "R4,LX,A,O4,2025-01-07 09:00:00,2025-01-07 10:00:00,10,10,0,0\n")
    store = golden_dir / "var" / "store.duckdb"
    report = probe.preview(_settings(golden_dir).connectors["production_record"], _master(golden_dir), NOW)
    assert report.status == "ok" and report.error is None
    by_id = {r["record_id"]: r for r in report.rows}
    assert [r["source_line"] for r in report.rows] == [2, 3, 4, 5]
    assert by_id["R1"]["outcome"] == by_id["R2"]["outcome"] == "ok"
    assert by_id["R3"]["outcome"] == "quarantined"
    assert "produced_qty must equal good_qty + scrap_qty + rework_qty" in by_id["R3"]["reason"]
    assert (by_id["R4"]["outcome"], by_id["R4"]["column"]) == ("quarantined", "unit_id")
    assert "unknown org_unit LX" in by_id["R4"]["reason"]
    assert "a run like this fails whole" in report.rejected_share_note  # 2 of 4 is above the 10 % allowed
    assert not store.exists()  # the preview ran in a scratch store
    text = probe.format_preview(report)
    assert "line 4: produced_qty must equal" in text and "line 5: [unit_id] unit_id: unknown org_unit LX" in text


def test_preview_stops_at_twenty_rows(golden_dir):
    rows = "".join(f"X{i},L1,A,O{i},2025-01-08 08:00:00,2025-01-08 09:00:00,1,1,0,0\n" for i in range(60))
    (golden_dir / "production_record.csv").write_text(HEADER + rows, encoding="utf-8")
    report = probe.preview(_settings(golden_dir).connectors["production_record"], _master(golden_dir), NOW)
    assert len(report.rows) == probe.PREVIEW_ROWS
    assert all(r["outcome"] == "ok" for r in report.rows)


def test_preview_without_master_data_says_why_references_fail(golden_dir):
    report = probe.preview(_settings(golden_dir).connectors["production_record"], {}, NOW)
    assert "org_unit" in report.master_note and "product" in report.master_note
    assert all(r["outcome"] == "quarantined" for r in report.rows)


def test_preview_of_a_broken_header_fails_with_the_column_name(golden_dir):
    csv = golden_dir / "production_record.csv"
    csv.write_text(csv.read_text().replace("scrap_qty", "scrap"), encoding="utf-8")
    report = probe.preview(_settings(golden_dir).connectors["production_record"], _master(golden_dir), NOW)
    assert report.status == "failed"
    assert "scrap_qty" in report.error


@pytest.mark.parametrize("go_live", [None, pytest.param("2025-01-01", id="published")])
def test_mock_spec_gets_a_go_live_date(go_live):
    from datetime import date

    spec = config.load(Path(__file__).parents[1] / "cockpit.toml", environ={}).connectors["wms_movement"]
    filled = probe.spec_for_probe(spec, date.fromisoformat(go_live) if go_live else None)
    assert isinstance(filled.options["go_live"], date)


def test_cli_parity(golden_dir, capsys):
    from cockpit import cli
    from cockpit.store import writer_lock

    cfg = str(golden_dir / "cockpit.toml")
    assert cli.main(["--config", cfg, "connectors", "run", "org_unit", "--wait", "0"]) == 0
    assert "org_unit             ok        in=6 loaded=6" in capsys.readouterr().out
    assert cli.main(["--config", cfg, "connectors", "list"]) == 0
    listing = capsys.readouterr().out
    assert "org_unit             master  csv    org_unit            1h        ok" in listing
    assert "production_record" in listing and "never" in listing  # only org_unit has run
    assert cli.main(["--config", cfg, "connectors", "test", "production_record"]) == 0
    assert "reachable: yes" in capsys.readouterr().out
    assert cli.main(["--config", cfg, "connectors", "preview", "production_record"]) == 0
    assert "R2" in capsys.readouterr().out
    assert cli.main(["--config", cfg, "connectors", "test", "nope"]) == 1
    with writer_lock(config.load(cfg, environ={}), "scheduler"):
        assert cli.main(["--config", cfg, "connectors", "run", "meter", "--wait", "0"]) == cli.EXIT_BUSY
