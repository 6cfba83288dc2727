"""CSV exports as plants send them: encodings, dialects, aliases, numbers, dates, zones, units, chunks."""

from __future__ import annotations

import gzip
import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from cockpit import config
from connectors.base import ConnectorSpec
from connectors.loader import run_connector
from tests.conftest import NOW

PR = "record_id,unit_id,product_id,order_id,start_at,end_at,produced_qty,good_qty,scrap_qty,rework_qty"
ROW = "R{i},L1,A,O,2025-01-07 09:00:00,2025-01-07 10:00:00,10,10,0,0"


def _spec(path: Path, stream: str = "production_record", **kw) -> ConnectorSpec:
    options = {"path": str(path), **kw.pop("options", {})}
    return ConnectorSpec(name="t", system="mes", kind="csv", stream=stream, options=options,
                         max_reject_share=kw.pop("max_reject_share", 1.0), **kw)


@pytest.fixture
def store(master_file, tmp_path):
    shutil.copy(master_file, tmp_path / "store.duckdb")
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    yield con
    con.close()


def load(con, tmp_path: Path, content: str | bytes, name: str = "export.csv", **kw):
    path = tmp_path / name
    data = content.encode("utf-8") if isinstance(content, str) else content
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    result = run_connector(con, _spec(path, **kw), NOW)
    quarantine = con.execute("SELECT source_line, column_name, reason FROM quarantine WHERE run_id = ? "
                             "ORDER BY source_line", [result.run_id]).fetchall()
    return result, quarantine


def rows(con, sql: str):
    return con.execute(sql).fetchall()


# ---------------------------------------------------------------- encodings and dialects
@pytest.mark.parametrize("codec", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_encodings_and_line_endings(store, tmp_path, codec, newline):
    text = newline.join([PR, "R1,L1,A,重庆工单甲,2025-01-07 09:00:00,2025-01-07 10:00:00,10,10,0,0",
                         "", "R2,L1,A,𠀀工单,2025-01-07 10:00:00,2025-01-07 11:00:00,x,10,0,0"]) + newline
    if codec == "gbk":
        text = text.replace("𠀀", "")  # GBK has no CJK extension B; GB18030 does
    result, q = load(store, tmp_path, text.encode(codec))
    assert result.status == "ok", result.error
    assert rows(store, "SELECT order_id FROM production_record") == [("重庆工单甲",)]
    assert q == [(4, "produced_qty", "produced_qty: not a valid double: x")]  # the blank line 3 still counts


@pytest.mark.parametrize("chinese_rows", [1, 3, 10, 200])
def test_gbk_after_megabytes_of_ascii_is_still_detected(store, tmp_path, chinese_rows):
    """A few Chinese rows after 2.8 MB of ASCII: detected as GB18030 and stored as written (diluted by the
    ASCII around them, 1 to 10 such rows used to read as Big5 and load garbled)."""
    rows_ = [ROW.format(i=i) for i in range(40_000)]
    rows_ += [ROW.format(i=40_000 + i).replace(",O,", ",冲压车间工单,") for i in range(chinese_rows)]
    result, _ = load(store, tmp_path, ("\n".join([PR, *rows_]) + "\n").encode("gbk"))
    assert result.status == "ok" and result.rows_loaded == 40_000 + chinese_rows, result.error
    assert rows(store, "SELECT DISTINCT order_id FROM production_record WHERE order_id <> 'O'") == [("冲压车间工单",)]


def test_declared_encoding_overrides_detection(store, tmp_path):
    data = (PR + "\n" + ROW.format(i=1).replace(",O,", ",工单,") + "\n").encode("gbk")
    result, _ = load(store, tmp_path, data, options={"encoding": "utf-8"})
    assert result.status == "failed" and "not valid utf-8 at line 2" in result.error
    result, _ = load(store, tmp_path, data, options={"encoding": "gbk"})
    assert result.status == "ok" and rows(store, "SELECT order_id FROM production_record") == [("工单",)]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(store, tmp_path, delimiter):
    lines = [PR, ROW.format(i=1), 'R2,L1,A,"O, with; sep|",2025-01-07 10:00:00,2025-01-07 11:00:00,"1,234",1234,0,0']
    text = "\n".join(ln.replace(",", delimiter) if delimiter != "," else ln for ln in lines) + "\n"
    if delimiter != ",":  # the quoted fields keep their commas
        text = text.replace(f'"O{delimiter} with; sep|"', '"O, with; sep|"').replace(f'"1{delimiter}234"', '"1,234"')
    result, q = load(store, tmp_path, text)
    assert (result.status, q) == ("ok", []), (result.error, q)
    assert rows(store, "SELECT order_id, produced_qty FROM production_record ORDER BY 1") == [
        ("O", 10), ("O, with; sep|", 1234)]


def test_gzip_and_explicit_delimiter(store, tmp_path):
    text = "\n".join([PR, ROW.format(i=1)]).replace(",", ";") + "\n"
    result, _ = load(store, tmp_path, text, name="export.csv.gz", options={"delimiter": ";"})
    assert result.status == "ok" and result.rows_loaded == 1


# ---------------------------------------------------------------- headers
def test_header_aliases_first_match_wins_and_width_is_ignored(store, tmp_path):
    text = ("\ufeff 记录号 ,产线,产品,开始时间,结束时间,产量（件）,良品数,good,报废,返工\n"
            "R1,L1,A,2025-01-07 09:00:00,2025-01-07 10:00:00,10,9,999,1,0\n")
    mapping = {"record_id": "记录号", "unit_id": "产线", "product_id": "产品", "start_at": "开始时间",
               "end_at": "结束时间", "produced_qty": "产量(件)", "good_qty": ("合格数", "良品数", "good"),
               "scrap_qty": "报废", "rework_qty": "返工"}
    result, q = load(store, tmp_path, text, mapping=mapping)
    assert (result.status, q) == ("ok", []), result.error
    assert rows(store, "SELECT produced_qty, good_qty FROM production_record") == [(10, 9)]


def test_missing_alias_names_every_accepted_header(store, tmp_path):
    result, _ = load(store, tmp_path, PR.replace("good_qty", "gq") + "\n" + ROW.format(i=1) + "\n",
                     mapping={**{f: f for f in PR.split(",")}, "good_qty": ["合格数", "良品数"]})
    assert result.status == "failed"
    assert "line 1 (header)" in result.error and "'合格数' (or '良品数') for field good_qty not found" in result.error


def test_config_accepts_alias_lists_and_checks_units(tmp_path):
    base = '[connectors.x]\nsystem = "ems"\nkind = "csv"\nstream = "energy_reading"\n'
    path = tmp_path / "cockpit.toml"
    path.write_text(base + '[connectors.x.mapping]\nquantity = ["用电量", "kwh"]\n[connectors.x.units]\nquantity = "MWh"\n',
                    encoding="utf-8")
    spec = config.load(path, environ={}).connectors["x"]
    assert spec.mapping["quantity"] == ("用电量", "kwh") and spec.units == {"quantity": "MWh"}
    for units, message in [('quantity = "kW"', "[connectors.x].units.quantity = 'kW': unknown unit"),  # power, not energy
                           ('quantity = "万元"', "is a unit of money"), ('meter_id = "kWh"', "units.meter_id")]:
        path.write_text(base + f"[connectors.x.units]\n{units}\n", encoding="utf-8")
        with pytest.raises(config.ConfigError) as err:
            config.load(path, environ={})
        assert message in str(err.value)


# ---------------------------------------------------------------- numbers
@pytest.mark.parametrize("text, expected", [
    ('"1,234.5"', 1234.5), ('"1,234"', 1234), ("１２３．４", 123.4), (" 42 ", 42), ("＋7", 7), ("1 000", 1000),
])
def test_numbers_as_exports_write_them(store, tmp_path, text, expected):
    line = f"R1,L1,A,O,2025-01-07 09:00:00,2025-01-07 10:00:00,{text},{text},0,0"
    _result, q = load(store, tmp_path, PR + "\n" + line + "\n")
    assert q == [] and rows(store, "SELECT produced_qty FROM production_record") == [(expected,)]


@pytest.mark.parametrize("text, reason", [
    ("十", "not a valid double: 十"), ("－5", "below 0: －5"), ("12.5%", "percent_columns"), ("n/a", "not a valid double"),
    ("nan", "not a finite number"),
])
def test_bad_numbers_are_quarantined_with_reason(store, tmp_path, text, reason):
    line = f"R1,L1,A,O,2025-01-07 09:00:00,2025-01-07 10:00:00,{text},0,0,0"
    result, q = load(store, tmp_path, PR + "\n" + line + "\n")
    assert result.rows_quarantined == 1 and q[0][:2] == (2, "produced_qty") and reason in q[0][2], q


def test_percent_columns_divide_by_100(store, tmp_path):
    text = "unit_id,month_on,avg_employees\nP1,2025-01-01,12.5%\nW1,2025-01-01,50\n"
    load(store, tmp_path, text, stream="headcount", options={"percent_columns": ["avg_employees"]})
    assert rows(store, "SELECT unit_id, avg_employees FROM headcount ORDER BY 1") == [("P1", 0.125), ("W1", 0.5)]


# ---------------------------------------------------------------- dates and times
@pytest.mark.parametrize("text, options", [
    ("2025-01-07 09:00:00", {}), ("2025/1/7 9:00", {}), ("2025/01/07 09:00:00", {}), ("2025年1月7日 9时0分", {}),
    ("2025年1月7日 09:00", {}), ("20250107090000", {}), ("7/1/2025 9:00", {"dayfirst": True}),
    ("1/7/2025 9:00", {}), ("45664.375", {"excel_serial_dates": True}), ("07-Jan-25 09:00", {}),
    ("２０２５－０１－０７ ０９：００", {}),
])
def test_timestamp_formats(store, tmp_path, text, options):
    line = f"R1,L1,A,O,{text},2025-01-07 10:00:00,10,10,0,0"
    _result, q = load(store, tmp_path, PR + "\n" + line + "\n", options=options)
    assert q == [], q
    assert rows(store, "SELECT start_at FROM production_record") == [(datetime(2025, 1, 7, 9, 0),)]


@pytest.mark.parametrize("text", ["2025-01-01", "2025/1/1", "2025年1月1日", "20250101", "2025-01", "2025年1月", "45658",
                                  "1-Jan-25", "２０２５年１月１日"])
def test_date_formats_and_month_only(store, tmp_path, text):
    load(store, tmp_path, f"unit_id,month_on,avg_employees\nP1,{text},20\n", stream="headcount")
    assert rows(store, "SELECT CAST(month_on AS VARCHAR) FROM headcount") == [("2025-01-01",)]


def test_excel_serials_are_detected_when_a_column_is_all_numeric(store, tmp_path):
    text = "meter_id,start_at,interval_s,quantity\nML1,45664.375,900,1\nML1,45664.5,900,2\n"
    _result, q = load(store, tmp_path, text, stream="energy_reading")
    assert q == [] and rows(store, "SELECT min(start_at), max(start_at) FROM energy_reading") == [
        (datetime(2025, 1, 7, 9), datetime(2025, 1, 7, 12))]
    _result, q = load(store, tmp_path, text.replace("45664.5", "2025-01-07 12:00:00"), name="b.csv",
                     stream="energy_reading", options={"excel_serial_dates": False})
    assert [r[2] for r in q] == ["start_at: not a valid timestamp: 45664.375"]


def test_mixed_date_formats_in_one_column(store, tmp_path):
    lines = [PR] + [f"R{i},L1,A,O,{s},2025-01-07 23:00:00,1,1,0,0" for i, s in enumerate(
        ["2025-01-07 09:00:00", "2025/1/7 10:00", "2025年1月7日 11时00分", "20250107120000", "not a date"])]
    result, q = load(store, tmp_path, "\n".join(lines) + "\n")
    assert result.rows_loaded == 4 and q == [(6, "start_at", "start_at: not a valid timestamp: not a date")]


def test_source_timezone_is_converted_to_plant_time(store, tmp_path):
    text = "meter_id,start_at,interval_s,quantity\nML1,2025-01-07 01:00:00,900,1\n"
    load(store, tmp_path, text, stream="energy_reading", options={"timezone": "UTC"})
    assert rows(store, "SELECT start_at FROM energy_reading") == [(datetime(2025, 1, 7, 9),)]
    result, _ = load(store, tmp_path, text, name="b.csv", stream="energy_reading", options={"timezone": "Mars/Base"})
    assert result.status == "failed" and "timezone = 'Mars/Base'" in result.error


def test_interval_end_stamps_shift_to_the_start(store, tmp_path):
    text = "meter_id,end_stamp,quantity\nML1,2025-01-07 09:15:00,1\nML1,2025-01-07 09:30:00,2\n"
    mapping = {"meter_id": "meter_id", "start_at": "end_stamp", "quantity": "quantity"}
    result, q = load(store, tmp_path, text, stream="energy_reading", mapping=mapping, constants={"interval_s": 900},
                     options={"interval_timestamp": "end"})
    assert q == [], result.error
    assert rows(store, "SELECT start_at FROM energy_reading ORDER BY 1") == [
        (datetime(2025, 1, 7, 9, 0),), (datetime(2025, 1, 7, 9, 15),)]


# ---------------------------------------------------------------- units
@pytest.mark.parametrize("stream, text, units, sql, expected", [
    ("energy_reading", "meter_id,start_at,interval_s,quantity\nML1,2025-01-07 09:00:00,900,1.5\n", {"quantity": "MWh"},
     "SELECT quantity FROM energy_reading", 1500),
    ("energy_reading", "meter_id,start_at,interval_s,quantity\nGW1,2025-01-07 09:00:00,900,2500\n", {"quantity": "kg"},
     "SELECT quantity FROM energy_reading", 2.5),
    ("operating_cost", "unit_id,category,month_on,amount_cny\nP1,admin,2025-01-01,1.5\n", {"amount_cny": "万元"},
     "SELECT amount_cny FROM operating_cost", 15000),
    ("planned_time", "unit_id,shift_start_at,planned_s,planned_qty\nL1,2025-01-07 08:00:00,8,10\n", {"planned_s": "h"},
     "SELECT planned_s FROM planned_time", 28800),
    ("material_consumption", "unit_id,start_at,material_id,consumed_kg,finished_kg,integrated_kg,production_loss_kg,"
     "storage_loss_kg,other_loss_kg\nL1,2025-01-07 08:00:00,M1,1.2,0.9,1,0.15,0.05,0\n",
     {f: "t" for f in ("consumed_kg", "finished_kg", "integrated_kg", "production_loss_kg", "storage_loss_kg",
                       "other_loss_kg")},
     "SELECT consumed_kg - integrated_kg - production_loss_kg - storage_loss_kg + finished_kg "
     "FROM material_consumption", 900),
])
def test_units_convert_to_the_canonical_unit(store, tmp_path, stream, text, units, sql, expected):
    result, q = load(store, tmp_path, text, stream=stream, units=units)
    assert q == [] and rows(store, sql) == [(pytest.approx(expected),)], result.error


# ---------------------------------------------------------------- structure, lines, chunks
def test_title_line_total_row_and_repeated_header(store, tmp_path):
    lines = ["某某工厂 生产日报 2025-01-07", PR] + [ROW.format(i=i) for i in range(12)]
    lines[8:8] = [PR]  # the header again, on line 9
    lines.append("合计,,,,,,120,120,0,0")
    result, _ = load(store, tmp_path, "\n".join(lines) + "\n")
    assert result.status == "failed" and "set skip_rows = 1" in result.error
    result, q = load(store, tmp_path, "\n".join(lines) + "\n", options={"skip_rows": 1})
    assert result.rows_loaded == 12 and [ln for ln, _c, _r in q] == [9, 16]
    assert q[0][2].startswith("row: the header line repeated") and q[1][2].startswith("row: looks like a total row (合计)")
    result, q = load(store, tmp_path, "\n".join(lines) + "\n\n", name="b.csv",  # new bytes: not seen before
                     options={"skip_rows": 1, "skip_footer_matching": "合计|总计"})
    assert [ln for ln, _c, _r in q] == [9]


def test_truncated_last_row_and_shifted_columns_are_quarantined(store, tmp_path):
    lines = [PR] + [ROW.format(i=i) for i in range(10)]
    lines[3] = lines[3] + ",extra"  # line 4
    lines.append("R99,L1,A,O,2025-01-07 09:")
    result, q = load(store, tmp_path, "\n".join(lines))  # no newline at the end: cut off mid-row
    assert result.rows_loaded == 9
    assert [(ln, c, r.split(" (")[0]) for ln, c, r in q] == [
        (4, "row", "row: 11 fields where the header has 10"), (12, "row", "row: truncated row: the file ends mid-row")]


@pytest.mark.parametrize("codec, name", [("utf-8", "export.csv"), ("gbk", "export.csv"), ("utf-8", "export.csv.gz")])
def test_big_files_load_in_chunks_with_exact_lines(store, tmp_path, codec, name):
    lines = [PR] + [ROW.format(i=i).replace(",O,", ",工单,") for i in range(3000)]
    lines[1500] = lines[1500].replace(",10,10,", ",-1,10,")  # line 1501
    lines[2000:2000] = ["", ""]  # two blank lines: 2001 and 2002
    lines[2500] = lines[2500] + ",x"  # line 2501 has an extra field
    lines[2700] = lines[2700].replace("R2697,", "R5,")  # a duplicate of line 7 in another chunk
    data = ("\n".join(lines) + "\n").encode(codec)
    result, q = load(store, tmp_path, data, name=name, options={"chunk_mb": 0.02})  # about ten chunks
    assert result.status == "ok", result.error
    assert result.rows_in == 3000 and result.rows_loaded == 2997 and result.rows_quarantined == 3
    assert [(ln, c) for ln, c, _r in q] == [(1501, "produced_qty"), (2501, "row"), (None, "record_id")]
    assert "line 2701 wins" in q[2][2]
    assert rows(store, "SELECT count(*) FROM production_record") == [(2997,)]


def test_a_file_that_shrank_fails_unless_allowed(store, tmp_path):
    full = "\n".join([PR] + [ROW.format(i=i) for i in range(20)]) + "\n"
    assert load(store, tmp_path, full)[0].status == "ok"
    cut = "\n".join(full.splitlines()[:11]) + "\n"  # the same export, cut at a line boundary
    result, _ = load(store, tmp_path, cut)
    assert result.status == "failed" and "shrank from 20 rows" in result.error and "allow_shrink" in result.error
    assert load(store, tmp_path, cut, options={"allow_shrink": True})[0].status == "ok"


def test_header_only_fails_unless_allowed(store, tmp_path):
    result, _ = load(store, tmp_path, PR + "\n")
    assert result.status == "failed" and "header only" in result.error
    assert load(store, tmp_path, PR + "\r\n", options={"allow_empty": True})[0].status == "ok"


def test_every_csv_option_is_documented():
    root = Path(__file__).parents[1]
    code = "".join((root / f).read_text(encoding="utf-8") for f in (
        "connectors/kinds/csv_kind.py", "connectors/parsing.py", "connectors/loader.py"))
    options = set(re.findall(r'opts\.get\("(\w+)"', code)) | set(re.findall(r'options\.get\("(\w+)"', code))
    docs = (root / "docs" / "csv.md").read_text(encoding="utf-8")
    assert options and {o for o in options if f"`{o}" not in docs} == set()


def test_exports_from_a_daylight_saving_zone_convert_to_fixed_plant_time(store, tmp_path):
    """Berlin local time into a plant on Berlin's standard time (UTC+1): an autumn export repeats 02:00, which
    then names one instant twice, so the repeat is quarantined as a duplicate key and named, never silently
    merged; the spring export skips 02:00 and lands as 23 consecutive hours."""
    header = "meter_id,start_at,interval_s,quantity\n"
    autumn = [f"ML1,2024-10-27 {h:02d}:00:00,3600,1" for h in (0, 1, 2, 2, *range(3, 24))]
    result, quarantined = load(store, tmp_path, header + "\n".join(autumn) + "\n", stream="energy_reading",
                               options={"timezone": "Europe/Berlin"}, plant_timezone="Etc/GMT-1")
    assert result.status == "ok" and result.rows_loaded == 24
    assert len(quarantined) == 1 and "duplicate key" in quarantined[0][2]
    stamps = [r[0] for r in rows(store, "SELECT start_at FROM energy_reading ORDER BY start_at")]
    # 00:00 and 01:00 CEST are 23:00 and 00:00 at UTC+1; from the repeated hour on, Berlin is at UTC+1 itself
    assert stamps[0] == datetime(2024, 10, 26, 23) and stamps[-1] == datetime(2024, 10, 27, 23)
    spring = [f"ML1,2024-03-31 {h:02d}:00:00,3600,1" for h in (0, 1, *range(3, 24))]
    result, quarantined = load(store, tmp_path, header + "\n".join(spring) + "\n", name="spring.csv",
                               stream="energy_reading", options={"timezone": "Europe/Berlin"},
                               plant_timezone="Etc/GMT-1")
    assert result.status == "ok" and result.rows_loaded == 23 and not quarantined
    spring_stamps = [r[0] for r in rows(store, "SELECT start_at FROM energy_reading WHERE start_at < '2024-04-01' "
                                               "ORDER BY start_at")]
    assert spring_stamps == [datetime(2024, 3, 31, 0) + timedelta(hours=h) for h in range(23)]


def test_a_big5_export_that_reads_as_big5_is_still_detected(tmp_path):
    """Ties go to GB18030 (mainland exports); Traditional Chinese that reads better as Big5 keeps Big5."""
    from connectors import encoding

    path = tmp_path / "big5.csv"
    rows_ = "".join(f"R{i},臺灣新竹廠,沖壓車間,工單號碼,良品數量,備註說明\n" for i in range(30))
    path.write_bytes(("id,a,b,c,d,e\n" + rows_).encode("big5"))
    assert encoding.scan(path, "auto", "big5.csv").codec == "big5"
