"""Writes the bad-input corpus: broken production_record exports and expected.toml beside them.

The files are committed; run this only to change the corpus (`python tests/corpus/make_corpus.py`).
Every file targets production_record of the golden plant (tests/fixtures/golden: lines L1/L2,
products A/B, clock 2025-02-10 12:00). Each case names its kind, the outcome (failed: the run
changes nothing; quarantined: good rows load, the named lines go to the quarantine with a column
and a reason) and the words the message must contain.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

HERE = Path(__file__).parent
HEADER = "record_id,unit_id,product_id,order_id,start_at,end_at,produced_qty,good_qty,scrap_qty,rework_qty"
ZH_HEADER = "记录号,产线,产品编码,工单号,开始时间,结束时间,产量,合格数,报废数,返工数"
ZH_MAPPING = dict(zip(HEADER.split(","), ZH_HEADER.split(",")))
CASES: list[dict] = []


def row(i: int, **over) -> str:
    day = i % 28 + 1
    values = {"record_id": f"C{i:03d}", "unit_id": f"L{i % 2 + 1}", "product_id": "AB"[i % 2], "order_id": f"O{i}",
              "start_at": f"2025-01-{day:02d} 08:00:00", "end_at": f"2025-01-{day:02d} 09:00:00",
              "produced_qty": "100", "good_qty": "95", "scrap_qty": "3", "rework_qty": "2"}
    values.update({k: str(v) for k, v in over.items()})
    return ",".join(values[c] for c in HEADER.split(","))


def rows(n: int, start: int = 1, **over) -> list[str]:
    return [row(i, **over) for i in range(start, start + n)]


def text(lines: list[str], end: str = "\n", nl: str = "\n") -> bytes:
    return (nl.join(lines) + end).encode("utf-8")


def case(file: str, kind: str, content: bytes, outcome: str, message: str = "", quarantined=(), **extra) -> None:
    CASES.append({"file": file, "kind": kind, "content": content, "outcome": outcome, "message": message,
                  "quarantined": [{"line": ln, "column": col, "reason": why} for ln, col, why in quarantined], **extra})


def build() -> None:
    # -- truncated file: the same export again, but shorter, or a gzip stream cut off
    full = rows(20)
    case("truncated_file_01.csv", "truncated file", text([HEADER, *full[:12]]), "failed", "shrank from 20 rows",
         previous=text([HEADER, *full]).decode())
    case("truncated_file_02.csv", "truncated file", text([HEADER, *full[:5]], nl="\r\n", end="\r\n"), "failed",
         "shrank from 20 rows", previous=text([HEADER, *full], nl="\r\n", end="\r\n").decode())
    case("truncated_file_03.csv.gz", "truncated file", gzip.compress(text([HEADER, *full]), mtime=0)[:-40], "failed",
         "gzip stream is damaged or cut off")
    # -- wrong declared encoding
    gbk = (ZH_HEADER + "\n" + "\n".join(rows(10, order_id="重庆工单")) + "\n").encode("gbk")
    case("wrong_encoding_01.csv", "wrong declared encoding", gbk, "failed", "not valid utf-8 at line 1",
         options={"encoding": "utf-8"}, mapping=ZH_MAPPING)
    case("wrong_encoding_02.csv", "wrong declared encoding", gbk.decode("gbk").encode("utf-8"), "failed",
         "the file is valid UTF-8 but was read as gb18030", options={"encoding": "gbk"}, mapping=ZH_MAPPING)
    case("wrong_encoding_03.csv", "wrong declared encoding",
         text([HEADER, *rows(3)]) + (row(4, order_id="工单") + "\n").encode("gbk"), "failed",
         "not valid utf-8 at line 5", options={"encoding": "utf-8"})
    # -- binary junk
    case("binary_junk_01.csv", "binary junk", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "failed",
         "binary content at line 3")
    case("binary_junk_02.csv", "binary junk", b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + b"[Content_Types].xml" * 20,
         "failed", "binary content at line 1")
    case("binary_junk_03.csv", "binary junk", text([HEADER, *rows(3)]) + b"\x00\x00\x00\x00garbage" + text(rows(3, 4)),
         "failed", "binary content at line 5")
    case("binary_junk_04.csv", "binary junk", bytes((i * 37 + 11) % 128 + 128 for i in range(3000)), "failed",
         "encoding not recognised")
    # -- header only
    case("header_only_01.csv", "header only", text([HEADER]), "failed", "header only, no data rows")
    case("header_only_02.csv", "header only", HEADER.encode(), "failed", "header only, no data rows")
    case("header_only_03.csv", "header only", b"\xef\xbb\xbf" + text([HEADER, "", "", ""]), "failed", "header only")
    # -- the header line again inside the data
    lines = [HEADER, *rows(4), HEADER, *rows(6, 5)]
    case("repeated_header_01.csv", "duplicated header line", text(lines), "quarantined", "",
         [(6, "row", "the header line repeated inside the data")])
    lines = [ZH_HEADER, *rows(10), ZH_HEADER, *rows(10, 11)]
    case("repeated_header_02.csv", "duplicated header line", text(lines), "quarantined", "",
         [(12, "row", "the header line repeated")], mapping=ZH_MAPPING)
    # -- shifted columns: an extra or a missing field
    lines = [HEADER, *rows(10)]
    lines[4] += ",99"
    case("shifted_columns_01.csv", "shifted columns", text(lines), "quarantined", "",
         [(5, "row", "11 fields where the header has 10")])
    lines = [HEADER, *rows(10)]
    lines[6] = lines[6].replace(",L2,", ",", 1).replace(",L1,", ",", 1)
    case("shifted_columns_02.csv", "shifted columns", text(lines), "quarantined", "",
         [(7, "row", "9 fields where the header has 10")])
    lines = [HEADER, *rows(10)]
    lines[3] = row(3, order_id="O,3")
    case("shifted_columns_03.csv", "shifted columns", text(lines), "quarantined", "", [(4, "row", "11 fields")])
    # -- text in numeric columns
    lines = [HEADER, *rows(10)]
    lines[2] = row(2, produced_qty="十")
    case("text_in_numbers_01.csv", "text in numeric column", text(lines), "quarantined", "",
         [(3, "produced_qty", "not a valid double: 十")])
    lines = [HEADER, *rows(12)]
    lines[3], lines[7] = row(3, good_qty="N/A"), row(7, scrap_qty="--")
    case("text_in_numbers_02.csv", "text in numeric column", text(lines), "quarantined", "",
         [(4, "good_qty", "not a valid double: N/A"), (8, "scrap_qty", "not a valid double: --")])
    lines = [HEADER, *rows(10)]
    lines[5] = row(5, scrap_qty="3%")
    case("text_in_numbers_03.csv", "text in numeric column", text(lines), "quarantined", "",
         [(6, "scrap_qty", "percent_columns")])
    lines = [HEADER, *rows(10)]
    lines[9] = row(9, produced_qty="100件")
    case("text_in_numbers_04.csv", "text in numeric column", text(lines), "quarantined", "",
         [(10, "produced_qty", "not a valid double: 100件")])
    # -- mixed date formats: the readable ones load, the rest are quarantined
    lines = [HEADER, row(1, start_at="2025/1/1 8:00"), row(2, start_at="2025年1月2日 8时00分"), row(3, start_at="20250103080000"),
             row(4, start_at="2025-02-30 08:00:00"), *rows(8, 5)]
    case("mixed_dates_01.csv", "mixed date formats", text(lines), "quarantined", "",
         [(5, "start_at", "not a valid timestamp: 2025-02-30")])
    lines = [HEADER, *rows(10)]
    lines[6] = row(6, start_at="昨天 08:00")
    case("mixed_dates_02.csv", "mixed date formats", text(lines), "quarantined", "",
         [(7, "start_at", "not a valid timestamp: 昨天")])
    lines = [HEADER, row(1, start_at="1/13/2025 08:00", end_at="1/13/2025 09:00"), row(2, start_at="13/01/2025 08:00"), *rows(9, 3)]
    case("mixed_dates_03.csv", "mixed date formats", text(lines), "quarantined", "",
         [(3, "start_at", "not a valid timestamp: 13/01/2025")])
    # -- negative quantities
    lines = [HEADER, *rows(10)]
    lines[8] = row(8, produced_qty=-5, good_qty=-5, scrap_qty=0, rework_qty=0)
    case("negative_qty_01.csv", "negative quantity", text(lines), "quarantined", "", [(9, "produced_qty", "below 0: -5")])
    lines = [HEADER, *rows(10)]
    lines[1] = row(1, produced_qty=92, scrap_qty="－5")
    case("negative_qty_02.csv", "negative quantity", text(lines), "quarantined", "", [(2, "scrap_qty", "below 0")])
    # -- future timestamps (the test clock is 2025-02-10 12:00)
    lines = [HEADER, *rows(10)]
    lines[4] = row(4, start_at="2025-03-01 08:00:00", end_at="2025-03-01 09:00:00")
    case("future_01.csv", "future timestamp", text(lines), "quarantined", "", [(5, "start_at", "in the future")])
    lines = [HEADER, *rows(10)]
    lines[10] = row(10, start_at="2099-01-01 08:00:00", end_at="2099-01-01 09:00:00")
    case("future_02.csv", "future timestamp", text(lines), "quarantined", "", [(11, "start_at", "in the future: 2099")])
    lines = [HEADER, *rows(10)]
    lines[2] = row(2, start_at="2025-02-10 11:00:00", end_at="2025-02-10 13:00:00")
    case("future_03.csv", "future timestamp", text(lines), "quarantined", "", [(3, "end_at", "in the future")])
    # -- duplicate keys: the last line wins
    lines = [HEADER, *rows(10)]
    lines[9] = row(5, produced_qty=101, good_qty=96)
    case("duplicate_keys_01.csv", "duplicate keys", text(lines), "quarantined", "",
         [(6, "record_id", "line 10 of the same run wins")])
    lines = [HEADER, *rows(12)]
    lines[4], lines[8] = row(2), row(2)
    case("duplicate_keys_02.csv", "duplicate keys", text(lines), "quarantined", "",
         [(3, "record_id", "line 9 of the same run wins"), (5, "record_id", "line 9 of the same run wins")])
    # -- a title line above the header, or a total row below the data
    case("title_line_01.csv", "title line or total row", text(["生产日报表", HEADER, *rows(10)]), "failed",
         "set skip_rows = 1")
    case("title_line_02.csv", "title line or total row",
         text(["重庆未来智造 两江工厂", "统计期间: 2025-01-01 至 2025-01-31", ZH_HEADER, *rows(10)]), "failed",
         "set skip_rows = 2", mapping=ZH_MAPPING)
    case("title_line_03.csv", "title line or total row", text(["报表,2025-01,,,,,,,,", HEADER, *rows(10)]), "failed",
         "set skip_rows = 1")
    case("total_row_01.csv", "title line or total row", text([HEADER, *rows(10), "合计,,,,,,1000,950,30,20"]),
         "quarantined", "", [(12, "row", "looks like a total row (合计)")])
    case("total_row_02.csv", "title line or total row", text([ZH_HEADER, *rows(10), "总计：,,,,,,1000,950,30,20"]),
         "quarantined", "", [(12, "row", "total row")], mapping=ZH_MAPPING)
    case("total_row_03.csv", "title line or total row", text([HEADER, *rows(10), ",,,合计,,,1000,950,30,20"]),
         "quarantined", "", [(12, "record_id", "record_id: missing value")])
    case("total_row_04.csv", "title line or total row",
         text([HEADER, *rows(5), "小计,L1,,,,,500,475,15,10", *rows(5, 6), "Total,,,,,,1000,950,30,20"]),
         "quarantined", "", [(7, "row", "total row (小计)"), (13, "row", "total row (Total)")])
    # -- a file cut off mid-row (the writer stopped in the middle of a line)
    case("cut_mid_row_01.csv", "cut off mid-row", text([HEADER, *rows(10), "C011,L1,A,O11,2025-01-"], end=""),
         "quarantined", "", [(12, "row", "truncated row: the file ends mid-row (5 of 10 fields)")])
    case("cut_mid_row_02.csv", "cut off mid-row", text([HEADER, *rows(10), 'C011,L1,A,"O 11'], end=""),
         "quarantined", "", [(12, "row", "truncated row")])
    case("cut_mid_row_03.csv.gz", "cut off mid-row",
         gzip.compress(text([HEADER, *rows(10), "C011,L2,B,O11,2025-01-12 08:00:00,2025-01-12 09:00:00,100,9"], end=""),
                       mtime=0), "quarantined", "", [(12, "row", "the file ends mid-row (8 of 10 fields)")])
    case("cut_mid_row_04.csv", "cut off mid-row",
         ("\r\n".join([ZH_HEADER, *rows(10, order_id="工单"), "C011,L1,A,工单"])).encode("gbk"), "quarantined", "",
         [(12, "row", "truncated row")], mapping=ZH_MAPPING)
    # -- more of what arrives in practice
    case("empty_file_01.csv", "empty file", b"", "failed", "file is empty")
    case("empty_file_02.csv.gz", "empty file", gzip.compress(b"", mtime=0), "failed", "file is empty")
    lines = [HEADER, *rows(10)]
    lines[2], lines[4] = row(2, unit_id="L9"), row(4, product_id="Z")
    case("unknown_master_01.csv", "unknown master data", text(lines), "quarantined", "",
         [(3, "unit_id", "unknown org_unit L9"), (5, "product_id", "unknown product Z")])
    lines = [HEADER, *rows(10)]
    lines[3] = row(3, unit_id="")
    case("unknown_master_02.csv", "unknown master data", text(lines), "quarantined", "", [(4, "unit_id", "missing value")])
    lines = [HEADER, *rows(10)]
    lines[6] = row(6, good_qty=90)
    case("iso_identity_01.csv", "quantity identity", text(lines), "quarantined", "",
         [(7, "row", "produced_qty must equal good_qty + scrap_qty + rework_qty")])
    lines = [HEADER, *rows(10)]
    lines[5] = row(5, end_at="2025-01-06 07:00:00")
    case("iso_identity_02.csv", "quantity identity", text(lines), "quarantined", "",
         [(6, "row", "end_at must be after start_at")])
    lines = [HEADER, *rows(4), *rows(6, 5, produced_qty="x")]
    case("too_many_rejects_01.csv", "too many rejects", text(lines), "failed",
         "6 of 10 rows rejected, more than the allowed 50%; first: ")
    lines = [HEADER, *[row(i, start_at="gestern") for i in range(1, 11)]]
    case("too_many_rejects_02.csv", "too many rejects", text(lines), "failed", "line 2, column start_at")
    case("missing_column_01.csv", "missing column", text([HEADER.replace("good_qty", "good_quantity"), *rows(10)]),
         "failed", "line 1 (header): column 'good_qty' for field good_qty not found (did you mean 'good_quantity'?)")
    case("missing_column_02.csv", "missing column", text([HEADER.replace(",rework_qty", ""), *[r.rsplit(",", 1)[0] for r in rows(10)]]),
         "failed", "column 'rework_qty' for field rework_qty not found")
    case("wrong_delimiter_01.csv", "wrong delimiter", text([HEADER, *rows(10)]), "failed", "line 1 (header)",
         options={"delimiter": ";"})
    lines = [HEADER, *rows(10)]
    lines[5] = row(5, order_id='"O5"x')
    case("broken_quote_01.csv", "broken quoting", text(lines), "quarantined", "", [(6, "row", "row: broken quoting")])
    lines = [HEADER, *rows(20)]
    lines[19] = row(19, order_id='"O19')  # the quote is never closed: the rest of the file is one bad record
    case("broken_quote_02.csv", "broken quoting", text(lines), "quarantined", "", [(20, "row", "broken quoting")])


def write() -> None:
    build()
    for old in HERE.glob("*.csv*"):
        old.unlink()
    expected = []
    for c in CASES:
        (HERE / c["file"]).write_bytes(c.pop("content"))
        expected.append(c)
    (HERE / "expected.json").write_text(json.dumps(expected, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(CASES)} files in {HERE}")


if __name__ == "__main__":
    write()
