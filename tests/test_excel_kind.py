"""Excel kind on workbooks made here: sheets, header offsets, merged headers, totals, melt, end to end."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from cockpit import config
from cockpit.writer import Writer
from connectors import registry
from connectors.base import ConnectorError, ConnectorSpec, RunContext
from connectors.kinds import excel_kind
from connectors.kinds.excel_kind import cell_text, header_names
from connectors.loader import run_connector
from tests.conftest import NOW

HEADER = ["记录号", "产线", "产品", "开始", "结束", "产量", "合格", "报废", "返工"]


def _row(i: int, good=None) -> list:
    start = datetime(2025, 1, 6, 8, 0) + timedelta(hours=i)
    return [f"X{i:02d}", "L1" if i % 2 else "L2", "A", start, start + timedelta(hours=1), 10,
            10 if good is None else good, 0, 0]


def _book(path: Path, sheets: dict[str, list[list]], merges: dict[str, list[str]] | None = None) -> Path:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
        for cells in (merges or {}).get(title, []):
            sheet.merge_cells(cells)
    book.save(path)
    return path


def _read(folder: Path, **options) -> pd.DataFrame:
    spec = ConnectorSpec("daily", "mes", "excel", "production_record", options=options, base_dir=folder)
    batches = list(registry.create(spec).fetch(RunContext(now=NOW, state={})))
    return pd.concat([b.frame for b in batches], ignore_index=True) if batches else pd.DataFrame()


def _error(folder: Path, **options) -> str:
    with pytest.raises(ConnectorError) as info:
        _read(folder, **options)
    return str(info.value)


@pytest.mark.parametrize("value, text", [
    (None, ""), (12.0, "12"), (0.1 + 0.2, "0.30000000000000004"), (3, "3"), (-0.5, "-0.5"), (1e20, "1e+20"),
    (True, "true"), ("  L1 ", "  L1 "), (datetime(2025, 1, 6, 8, 0), "2025-01-06 08:00:00"),
    (datetime(2025, 1, 6, 7, 59, 59, 999_600), "2025-01-06 08:00:00"),  # Excel's day-fraction noise
    (datetime(2025, 1, 6, 8, 0, 0, 250_000), "2025-01-06 08:00:00.250000"),
    (date(2025, 1, 6), "2025-01-06"), (time(8, 30), "08:30:00"), (timedelta(hours=1), "3600"),
    (float("nan"), ""),
])
def test_cells_become_the_text_a_csv_would_carry(value, text):
    assert cell_text(value) == text


@pytest.mark.parametrize("rows, names", [
    ([["a", "b"]], ["a", "b"]),
    ([["产线", "产量", None, None, "备注"], [None, "合格", "报废", "返工", None]],
     ["产线", "产量/合格", "产量/报废", "产量/返工", "备注"]),
    # a vertically merged title never spills right; headerless columns get their letter
    ([["产线", None, "产量", None], [None, "日期", "合格", "报废"]], ["产线", "日期", "产量/合格", "产量/报废"]),
    ([["a", None, "a", "c", None, None]], ["a", "column B", "a.1", "c"]),
    ([["合格\n数量 ", datetime(2025, 1, 7)]], ["合格 数量", "2025-01-07 00:00:00"]),
])
def test_header_names(rows, names):
    assert header_names(rows) == names


def test_sheet_by_name_and_by_index(tmp_path):
    _book(tmp_path / "日报.xlsx", {"说明": [["本表由MES导出"]], "日报": [HEADER, _row(1), _row(2)]})
    by_name = _read(tmp_path, path="日报.xlsx", sheet="日报")
    by_index = _read(tmp_path, path="*.xlsx", sheet=1)
    assert by_name.equals(by_index)
    assert by_name["记录号"].tolist() == ["X01", "X02"] and by_name["开始"][0] == "2025-01-06 09:00:00"
    assert by_name["产量"].tolist() == ["10", "10"]
    assert set(by_name["_source_file"]) == {f"{tmp_path / '日报.xlsx'}#日报"}
    assert by_name["_source_line"].tolist() == [2, 3]  # Excel row numbers


def test_header_offset_keeps_excel_row_numbers(tmp_path):
    _book(tmp_path / "r.xlsx", {"日报": [["生产日报 2025年1月"], [], HEADER, _row(1), [], _row(2)]})
    frame = _read(tmp_path, path="r.xlsx", header_row=3)
    assert frame["记录号"].tolist() == ["X01", "X02"]
    assert frame["_source_line"].tolist() == [4, 6]  # the blank row 5 is skipped, not renumbered


def test_merged_two_row_header(tmp_path):
    top = ["记录号", "产线", "产品", "开始", "结束", "数量", None, None, None]
    sub = [None, None, None, None, None, "产出", "合格", "报废", "返工"]
    _book(tmp_path / "r.xlsx", {"日报": [top, sub, _row(1)]},
          merges={"日报": ["A1:A2", "B1:B2", "C1:C2", "D1:D2", "E1:E2", "F1:I1"]})
    frame = _read(tmp_path, path="r.xlsx", header_rows=2)
    assert list(frame.columns[:9]) == ["记录号", "产线", "产品", "开始", "结束",
                                       "数量/产出", "数量/合格", "数量/报废", "数量/返工"]
    assert frame["_source_line"].tolist() == [3]


def test_total_rows_never_load_as_data(tmp_path):
    rows = [HEADER, _row(1), ["小计", None, None, None, None, 10, 10, 0, 0], _row(2),
            [None, "合计", None, None, None, 20, 20, 0, 0]]
    _book(tmp_path / "r.xlsx", {"日报": rows})
    assert len(_read(tmp_path, path="r.xlsx")) == 4  # without the option they are rows like any other
    frame = _read(tmp_path, path="r.xlsx", skip_footer_matching="合计|总计|小计")
    assert frame["记录号"].tolist() == ["X01", "X02"] and frame["_source_line"].tolist() == [2, 4]


def test_melt_turns_one_column_per_reason_into_rows(tmp_path):
    rows = [["产线", "日期", "B01 故障", "B02 换型", "B03 缺料", "备注"],
            ["L1", date(2025, 1, 6), 30, None, 15, "夜班"],
            ["L2", date(2025, 1, 6), None, 45, None, None]]
    _book(tmp_path / "停机.xlsx", {"停机": rows})
    melt = {"id_columns": ["产线", "日期"], "variable_name": "reason_code", "value_name": "minutes",
            "columns_matching": r"^B\d+"}
    frame = _read(tmp_path, path="停机.xlsx", melt=melt)
    got = frame[["产线", "reason_code", "minutes", "_source_line"]].values.tolist()
    assert got == [["L1", "B01 故障", "30", 2], ["L1", "B03 缺料", "15", 2], ["L2", "B02 换型", "45", 3]]
    assert "备注" not in frame.columns and frame["日期"][0] == "2025-01-06 00:00:00"


@pytest.mark.parametrize("options, expected", [
    ({"sheet": "不存在"}, "no sheet '不存在'; sheets: 说明, 日报, 空表"),
    ({"sheet": 7}, "no sheet index 7 (0-based); sheets: 说明, 日报, 空表"),
    ({"sheet": "空表"}, "sheet '空表' is empty at header row 1; sheets: 说明, 日报, 空表"),
    ({"sheet": "日报", "header_row": 9}, "sheet '日报' is empty at header row 9"),
    ({"sheet": "日报", "melt": {"id_columns": ["线别"]}}, "melt id_columns ['线别'] not found"),
    ({"sheet": "日报", "skip_footer_matching": "合计("}, "skip_footer_matching: not a valid regular expression"),
    ({"sheet": "日报", "sheets": 1}, "unknown excel option 'sheets' (did you mean 'sheet'?)"),
])
def test_unusable_sheets_and_settings_fail_naming_file_and_sheet(tmp_path, options, expected):
    _book(tmp_path / "日报.xlsx", {"说明": [["x"]], "日报": [HEADER, _row(1)], "空表": []})
    message = _error(tmp_path, path="日报.xlsx", **options)
    assert expected in message
    if "sheet '" in expected or "no sheet" in expected:
        assert f"{tmp_path / '日报.xlsx'}" in message


def test_a_header_only_sheet_fails_unless_allowed(tmp_path):
    """As a CSV export with a header and no rows: an export cut short must not pass as 'nothing new'."""
    _book(tmp_path / "日报.xlsx", {"日报": [["报表"], HEADER, ["合计", None, None]]})
    message = _error(tmp_path, path="日报.xlsx", header_row=2, skip_footer_matching="^合计")
    assert "日报.xlsx#日报: header only, no data rows after row 2" in message and "allow_empty" in message
    assert _read(tmp_path, path="日报.xlsx", header_row=2, skip_footer_matching="^合计", allow_empty=True).empty


def test_a_file_that_is_not_xlsx_fails_clearly(tmp_path):
    (tmp_path / "old.xlsx").write_bytes(b"\xd0\xcf\x11\xe0 an .xls from 2003")
    assert "old.xlsx: not a readable .xlsx workbook" in _error(tmp_path, path="old.xlsx")


# --- end to end: config -> loader -> DuckDB store, quarantine pointing at Excel rows --------------------

DAILY = """
[connectors.daily]
system = "mes"
kind = "excel"
stream = "production_record"
path = "日报*.xlsx"
sheet = "日报"
header_row = 3
header_rows = 2
skip_footer_matching = "合计"
max_reject_share = 0.5

[connectors.daily.mapping]
record_id = "记录号"
unit_id = "产线"
product_id = "产品"
start_at = "开始"
end_at = "结束"
produced_qty = "数量/产出"
good_qty = "数量/合格"
scrap_qty = "数量/报废"
rework_qty = "数量/返工"

[connectors.meters_wide]
system = "ems"
kind = "excel"
stream = "energy_reading"
path = "能耗.xlsx"

[connectors.meters_wide.melt]
id_columns = ["表计"]
variable_name = "日期"
value_name = "用量"

[connectors.meters_wide.mapping]
meter_id = "表计"
start_at = "日期"
quantity = "用量"

[connectors.meters_wide.constants]
interval_s = 86400
"""


@pytest.fixture
def excel_writer(golden_dir):
    top = ["记录号", "产线", "产品", "开始", "结束", "数量", None, None, None]
    sub = [None] * 5 + ["产出", "合格", "报废", "返工"]
    rows = [["生产日报"], [], top, sub, *(_row(i) for i in range(1, 6)), _row(6, good="十"),
            ["合计", None, None, None, None, 60, 50, 0, 0]]
    _book(golden_dir / "日报_202501.xlsx", {"说明": [["MES"]], "日报": rows},
          merges={"日报": ["A3:A4", "B3:B4", "C3:C4", "D3:D4", "E3:E4", "F3:I3"]})
    _book(golden_dir / "能耗.xlsx", {"能耗": [["表计", datetime(2025, 1, 7), datetime(2025, 1, 8)],
                                              ["ML1", 900.5, 1000], ["GW1", None, 80]]})
    toml = golden_dir / "cockpit.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + DAILY, encoding="utf-8")
    writer = Writer(config.load(toml, environ={}), clock=lambda: NOW)
    yield writer
    writer.close()


def test_end_to_end_excel_load_with_quarantine_at_the_excel_row(excel_writer):
    results = {r.connector: r for r in excel_writer.load()}
    daily = results["daily"]
    counts = (daily.status, daily.rows_in, daily.rows_loaded, daily.rows_quarantined)
    assert counts == ("ok", 6, 5, 1), daily.error
    con = excel_writer.con
    rows = con.execute("SELECT record_id, start_at, produced_qty FROM production_record "
                       "WHERE record_id LIKE 'X%' ORDER BY 1").fetchall()
    assert [r[0] for r in rows] == ["X01", "X02", "X03", "X04", "X05"]
    assert rows[0][1:] == (datetime(2025, 1, 6, 9, 0), 10.0)
    source_file, line, column, reason = con.execute(
        "SELECT source_file, source_line, column_name, reason FROM quarantine WHERE connector = 'daily'"
    ).fetchall()[0]
    assert source_file.endswith("日报_202501.xlsx#日报") and line == 10  # title, blank, 2 header rows, 5 rows
    assert column == "good_qty" and "十" in reason

    meters = results["meters_wide"]
    assert (meters.status, meters.rows_loaded) == ("ok", 3), meters.error
    assert con.execute("SELECT meter_id, start_at, quantity FROM energy_reading WHERE interval_s = 86400 "
                       "AND start_at >= '2025-01-07' ORDER BY 1, 2").fetchall() == [
        ("GW1", datetime(2025, 1, 8), 80.0), ("ML1", datetime(2025, 1, 7), 900.5),
        ("ML1", datetime(2025, 1, 8), 1000.0)]

    again = {r.connector: r for r in excel_writer.load(["daily", "meters_wide"])}
    assert again["daily"].status == "unchanged" and again["meters_wide"].status == "unchanged"  # same bytes


# --- a workbook that shrank, and a plan report with one column per shift ---------------------------------

SHRINKING = """
[connectors.shrinking]
system = "mes"
kind = "excel"
stream = "production_record"
path = "日报.xlsx"

[connectors.shrinking.mapping]
record_id = "记录号"
unit_id = "产线"
product_id = "产品"
start_at = "开始"
end_at = "结束"
produced_qty = "产量"
good_qty = "合格"
scrap_qty = "报废"
rework_qty = "返工"
"""


@pytest.mark.parametrize("chunk_rows", [excel_kind.CHUNK_ROWS, 4], ids=["one-batch", "spooled-batches"])
def test_a_workbook_that_shrank_fails_unless_allowed(golden_dir, monkeypatch, chunk_rows):
    monkeypatch.setattr(excel_kind, "CHUNK_ROWS", chunk_rows)  # 4: the 20 rows come in 5 batches
    toml = golden_dir / "cockpit.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + SHRINKING, encoding="utf-8")
    book = golden_dir / "日报.xlsx"
    writer = Writer(config.load(toml, environ={}), clock=lambda: NOW)
    try:
        writer.load(["org_unit", "product"])  # the master data the rows refer to
        _book(book, {"日报": [HEADER, *(_row(i) for i in range(1, 21))]})
        (full,) = writer.load(["shrinking"])
        assert (full.status, full.rows_loaded) == ("ok", 20), full.error
        stored = "SELECT * FROM production_record ORDER BY record_id"
        before = writer.con.execute(stored).fetchall()
        files = "SELECT path, row_count, head_hash FROM source_file WHERE connector = 'shrinking'"
        assert [r[:2] for r in writer.con.execute(files).fetchall()] == [(f"{book}#日报", 20)]

        _book(book, {"日报": [HEADER, *(_row(i) for i in range(1, 11))]})  # the same report, cut short
        (cut,) = writer.load(["shrinking"])
        assert cut.status == "failed"
        assert f"{book}#日报: the file shrank from 20 rows" in cut.error and "to 10 rows" in cut.error
        assert "set allow_shrink = true on [connectors.shrinking]" in cut.error
        assert writer.con.execute(stored).fetchall() == before  # nothing changed
        assert len(writer.con.execute(files).fetchall()) == 1

        allowed = dataclasses.replace(writer.spec("shrinking"),
                                      options={**writer.spec("shrinking").options, "allow_shrink": True})
        result = run_connector(writer.con, allowed, NOW)
        assert result.status == "ok", result.error
        assert [r[1] for r in writer.con.execute(files + " ORDER BY loaded_at, run_id").fetchall()] == [20, 10]

        _book(book, {"日报": [HEADER, *(_row(i) for i in range(30, 35))]})  # another report: not a shrink
        (other,) = writer.load(["shrinking"])
        assert (other.status, other.rows_loaded) == ("ok", 5), other.error
    finally:
        writer.close()


def test_batches_of_a_big_sheet_carry_the_same_total_and_rows_as_one_batch(tmp_path, monkeypatch):
    _book(tmp_path / "r.xlsx", {"日报": [HEADER, _row(1), [], _row(2), _row(3), ["合计"], _row(4), _row(5)]})
    spec = ConnectorSpec("daily", "mes", "excel", "production_record", base_dir=tmp_path,
                         options={"path": "r.xlsx", "skip_footer_matching": "合计"})
    whole = list(registry.create(spec).fetch(RunContext(now=NOW, state={})))
    monkeypatch.setattr(excel_kind, "CHUNK_ROWS", 2)
    spooled = list(registry.create(spec).fetch(RunContext(now=NOW, state={})))
    assert [len(b.frame) for b in whole] == [5] and [len(b.frame) for b in spooled] == [2, 2, 1]
    assert {(b.rows, b.head) for b in spooled} == {(whole[0].rows, whole[0].head)} and whole[0].rows == 5
    assert pd.concat([b.frame for b in spooled], ignore_index=True).equals(whole[0].frame)
    assert spooled[1].frame["_source_line"].tolist() == [5, 7]  # Excel rows: blank row 3 and the total skipped


PLAN = r"""
[connectors.weekly_plan]
system = "mes"
kind = "excel"
stream = "planned_time"
path = "周计划.xlsx"
sheet = "计划"
header_row = 2
skip_footer_matching = "^合计"

[connectors.weekly_plan.melt]
id_columns = ["产线"]
variable_name = "班次开始"
value_name = "计划数量"
columns_matching = '^\d{4}-\d{2}-\d{2} '

[connectors.weekly_plan.mapping]
unit_id = "产线"
shift_start_at = "班次开始"
planned_qty = "计划数量"

[connectors.weekly_plan.constants]
shift_code = "A"
planned_s = 28800
"""


def test_end_to_end_a_plan_with_one_column_per_shift_melts_into_planned_time(golden_dir):
    """The A shifts of 13-15 January as date-time header cells, a row total at the right, a total row below."""
    a_shift = [datetime(2025, 1, d, 8, 0) for d in (13, 14, 15)]
    rows = [["2025年第3周 生产计划（A班）"],
            ["产线", *a_shift, "合计"],
            ["L1", 400, 420, None, 820],  # no plan for L1 on the 15th: a blank cell is no record
            ["L2", 300, 0, 310, 610],  # a planned 0 (a stop) is a record
            ["合计", 700, 420, 310, 1430]]
    _book(golden_dir / "周计划.xlsx", {"计划": rows})
    toml = golden_dir / "cockpit.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + PLAN, encoding="utf-8")
    writer = Writer(config.load(toml, environ={}), clock=lambda: NOW)
    try:
        writer.load(["org_unit"])
        (result,) = writer.load(["weekly_plan"])
        assert (result.status, result.rows_in, result.rows_loaded, result.rows_quarantined) == ("ok", 5, 5, 0), \
            result.error
        stored = writer.con.execute(
            "SELECT unit_id, shift_start_at, shift_code, planned_s, planned_qty FROM planned_time "
            "WHERE shift_start_at >= '2025-01-13' ORDER BY 1, 2").fetchall()
        assert stored == [
            ("L1", datetime(2025, 1, 13, 8, 0), "A", 28800.0, 400.0),
            ("L1", datetime(2025, 1, 14, 8, 0), "A", 28800.0, 420.0),
            ("L2", datetime(2025, 1, 13, 8, 0), "A", 28800.0, 300.0),
            ("L2", datetime(2025, 1, 14, 8, 0), "A", 28800.0, 0.0),
            ("L2", datetime(2025, 1, 15, 8, 0), "A", 28800.0, 310.0),
        ]
        assert sum(r[4] for r in stored) == 1430  # the sheet's own grand total, and no total loaded twice
    finally:
        writer.close()
