"""The fast load path: both write paths keep the key unique, changed_from, lazy staging, the one-pass scan.

Every store-level test runs twice: "keyed" has the canonical tables as schema.py creates them (PRIMARY
KEY: the loader upserts per batch), "unkeyed" has the stream tables without it (the loader appends and
makes the key unique at the end of the run).
"""

from __future__ import annotations

import codecs
import random
import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pytest

from connectors import encoding
from connectors.base import ConnectorSpec
from connectors.loader import run_connector
from connectors.schema import STREAMS
from tests.conftest import NOW

PR = "record_id,unit_id,product_id,order_id,start_at,end_at,produced_qty,good_qty,scrap_qty,rework_qty"


def row(i: int, day: int = 7, good: int = 10, hour: int = 9) -> str:
    return f"R{i},L1,A,O,2025-01-{day:02d} {hour:02d}:00:00,2025-01-{day:02d} {hour + 1:02d}:00:00,{good},{good},0,0"


def _keyed(con, name: str) -> bool:
    return con.execute("SELECT count(*) FROM duckdb_constraints() WHERE table_name = ? "
                       "AND constraint_type = 'PRIMARY KEY'", [name]).fetchall()[0][0] > 0


def _set_key(con, name: str, keyed: bool) -> None:
    """Give a stream table its PRIMARY KEY or take it away, whichever schema.py declares."""
    if keyed and not _keyed(con, name):
        con.execute(f"ALTER TABLE {name} ADD PRIMARY KEY ({', '.join(STREAMS[name].key)})")
    elif not keyed and _keyed(con, name):
        con.execute(f"CREATE TABLE {name}__copy AS SELECT * FROM {name}")
        con.execute(f"DROP TABLE {name}")
        con.execute(f"ALTER TABLE {name}__copy RENAME TO {name}")


@pytest.fixture(params=["keyed", "unkeyed"])
def store(request, master_file, tmp_path):
    shutil.copy(master_file, tmp_path / "store.duckdb")
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    for name, table in STREAMS.items():
        if table.system != "master":
            _set_key(con, name, request.param == "keyed")
    assert _keyed(con, "production_record") == (request.param == "keyed")
    yield con
    con.close()


def load(con, tmp_path: Path, lines: list[str], name: str = "export.csv", stream: str = "production_record",
         **options):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    spec = ConnectorSpec(name="t", system="mes", kind="csv", stream=stream, options={"path": str(path), **options},
                         max_reject_share=1.0)
    result = run_connector(con, spec, NOW)
    assert result.status in ("ok", "unchanged"), result.error
    quarantine = con.execute("SELECT source_line, column_name, reason FROM quarantine WHERE run_id = ? "
                             "ORDER BY source_line NULLS LAST, reason", [result.run_id]).fetchall()
    return result, quarantine


def unique(con, table: str = "production_record") -> bool:
    key = ", ".join(STREAMS[table].key)
    return con.execute(f"SELECT count(*) FROM (SELECT {key} FROM {table} GROUP BY ALL HAVING count(*) > 1)"
                       ).fetchall()[0][0] == 0


def records(con) -> dict:
    return dict(con.execute("SELECT record_id, good_qty FROM production_record").fetchall())


def test_loading_the_same_rows_twice_never_double_counts(store, tmp_path):
    lines = [PR, *(row(i) for i in range(50))]
    first, _ = load(store, tmp_path, lines)
    assert (first.rows_loaded, first.rows_unchanged) == (50, 0)
    again, _ = load(store, tmp_path, [*lines, ""])  # new bytes, same records
    assert (again.status, again.rows_loaded, again.rows_unchanged, again.rows_quarantined) == ("ok", 0, 50, 0)
    assert again.changed_from is None and not again.changed
    assert store.execute("SELECT count(*) FROM production_record").fetchall() == [(50,)] and unique(store)
    # The unchanged rows keep the run that loaded them.
    assert store.execute("SELECT DISTINCT run_id FROM production_record").fetchall() == [(first.run_id,)]


def test_a_corrected_row_replaces_exactly_that_row(store, tmp_path):
    load(store, tmp_path, [PR, *(row(i) for i in range(20))])
    before = records(store)
    changed = [PR, *(row(i) for i in range(20)), row(20)]
    changed[6] = row(5, good=7)  # R5 corrected
    result, _ = load(store, tmp_path, changed)
    assert (result.rows_loaded, result.rows_unchanged) == (2, 19)  # R5 replaced, R20 new
    after = records(store)
    assert after == {**before, "R5": 7, "R20": 10} and unique(store)
    runs = dict(store.execute("SELECT record_id, run_id FROM production_record").fetchall())
    assert runs["R5"] == runs["R20"] == result.run_id and runs["R4"] != result.run_id


def test_the_last_line_of_a_repeated_key_wins_within_and_across_chunks(store, tmp_path):
    lines = [PR, *(row(i) for i in range(3000))]
    lines[3] = row(1, good=20)  # line 4 repeats R1 (line 3) in the same chunk: line 4 wins
    lines[2800] = row(5, good=30)  # line 2801 repeats R5 (line 7) in a later chunk: line 2801 wins
    result, q = load(store, tmp_path, lines, chunk_mb=0.02)  # about ten chunks
    assert result.rows_in == 3000 and result.rows_quarantined == 2 and result.rows_loaded == 2998
    assert q[0][:2] == (3, "record_id") and "line 4 of the same run wins" in q[0][2]
    assert q[1][:2] == (None, "record_id") and "line 2801 wins" in q[1][2]
    got = records(store)
    assert got["R1"] == 20 and got["R5"] == 30 and unique(store)
    assert store.execute("SELECT count(*) FROM production_record").fetchall() == [(2998,)]


class _Spy:
    """The store connection, noting every statement the loader runs."""

    def __init__(self, con):
        self.con, self.sql = con, []

    def execute(self, sql, *args):
        self.sql.append(sql)
        return self.con.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self.con, name)

    def ran(self, table: str) -> bool:
        return any(f"TEMP TABLE {table} " in s for s in self.sql)


def ordered(i: int, good: int = 10) -> str:
    return f"R{i:05d},L1,A,O,2025-01-07 09:00:00,2025-01-07 10:00:00,{good},{good},0,0"


def test_keys_in_order_across_chunks_skip_the_run_wide_key_check(store, tmp_path):
    """Chunks whose key ranges do not overlap cannot share a key: no aggregation over the whole run."""
    spy = _Spy(store)
    result, q = load(spy, tmp_path, [PR, *(ordered(i) for i in range(3000))], chunk_mb=0.02)  # about ten chunks
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined, q) == (3000, 3000, 0, [])
    assert store.execute("SELECT count(*) FROM production_record").fetchall() == [(3000,)] and unique(store)
    unkeyed = not _keyed(store, "production_record")
    assert spy.ran("run_ranges") == unkeyed and not spy.ran("run_cand")


def test_a_repeat_inside_one_chunk_of_ordered_chunks_is_still_found(store, tmp_path):
    lines = [PR, *(ordered(i) for i in range(3000))]
    lines.insert(1502, ordered(1500, good=7))  # line 1503 repeats R01500 (line 1502), same chunk: it wins
    spy = _Spy(store)
    result, q = load(spy, tmp_path, lines, chunk_mb=0.02)
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (3001, 3000, 1)
    assert q[0][:2] == (1502, "record_id") and "line 1503 of the same run wins" in q[0][2]
    assert records(store)["R01500"] == 7 and unique(store)
    assert spy.ran("run_cand") == (not _keyed(store, "production_record"))


def test_interleaved_keys_across_chunks_take_the_run_wide_key_check(store, tmp_path):
    """Even and odd keys in turn: every chunk's range overlaps the others', so the whole run is checked."""
    ids = [*range(0, 3000, 2), *range(1, 3000, 2)]  # R00000, R00002, ... then R00001, R00003, ...
    lines = [PR, *(ordered(i) for i in ids), ordered(2, good=5)]  # the last line (3002) repeats R00002 (line 3)
    spy = _Spy(store)
    result, q = load(spy, tmp_path, lines, chunk_mb=0.02)
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (3001, 3000, 1)
    assert q[0][:2] == (None, "record_id") and "line 3002 wins" in q[0][2]
    assert records(store)["R00002"] == 5 and unique(store)
    assert spy.ran("run_cand") == (not _keyed(store, "production_record"))


def test_a_repeated_key_identical_to_the_stored_row_changes_nothing(store, tmp_path):
    load(store, tmp_path, [PR, row(1), row(2)])
    result, q = load(store, tmp_path, [PR, row(1), row(1), row(3)], name="second.csv")
    assert (result.rows_loaded, result.rows_unchanged, result.rows_quarantined) == (1, 1, 1)
    assert [(ln, c) for ln, c, _r in q] == [(2, "record_id")]
    assert sorted(records(store)) == ["R1", "R2", "R3"] and unique(store)


def test_changed_from_is_the_earliest_time_inserted_or_replaced(store, tmp_path):
    first, _ = load(store, tmp_path, [PR, row(1, day=10), row(2, day=12), row(3, day=8)])
    assert first.changed_from == datetime(2025, 1, 8, 10, 0)  # end_at is production_record's time column
    assert first.data_as_of == datetime(2025, 1, 12, 10, 0) and not first.changed_master
    # R2 moves from the 12th to the 15th, R3 stays: recompute from the 12th (the replaced value).
    second, _ = load(store, tmp_path, [PR, row(1, day=10), row(2, day=15), row(3, day=8)])
    assert (second.rows_loaded, second.changed_from) == (1, datetime(2025, 1, 12, 10, 0))
    # R1 moves back to the 5th: the new value is the earlier one.
    third, _ = load(store, tmp_path, [PR, row(1, day=5), row(2, day=15), row(3, day=8)])
    assert third.changed_from == datetime(2025, 1, 5, 10, 0)
    same, _ = load(store, tmp_path, [PR, row(1, day=5), row(2, day=15), row(3, day=8), ""])
    assert same.rows_loaded == 0 and same.changed_from is None


def test_changed_from_of_a_date_stream_is_midnight(store, tmp_path):
    header = "unit_id,category,month_on,amount_cny"
    result, _ = load(store, tmp_path, [header, "P1,selling,2025-03-01,10", "P1,admin,2025-02-01,20"],
                     stream="operating_cost")
    assert result.changed_from == datetime(2025, 2, 1) and unique(store, "operating_cost")


def test_master_data_sets_changed_master_instead(master_file, tmp_path):
    shutil.copy(master_file, tmp_path / "store.duckdb")
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    try:
        header = "product_id,name_zh,name_en,family,ideal_cycle_s,unit_price_cny"
        path = tmp_path / "product.csv"
        path.write_text(f"{header}\nA,产品A,Product A,F1,60,200\nB,产品B,Product B,F1,30,100\n", encoding="utf-8")
        spec = ConnectorSpec(name="p", system="master", kind="csv", stream="product", options={"path": str(path)})
        unchanged = run_connector(con, spec, NOW)
        assert unchanged.status == "ok" and unchanged.rows_loaded == 0 and not unchanged.changed_master
        path.write_text(f"{header}\nA,产品A,Product A,F1,55,200\n", encoding="utf-8")
        changed = run_connector(con, spec, NOW)
        assert changed.rows_loaded == 1 and changed.changed_master and changed.changed_from is None
    finally:
        con.close()


def test_lines_stay_exact_when_a_chunk_falls_back_to_reading_with_rejects(store, tmp_path):
    lines = [PR, *(row(i) for i in range(3000))]
    lines[1500] = lines[1500].replace(",10,10,", ",-1,10,")  # line 1501: a bad value (lazy path keeps it)
    lines[2000:2000] = ["", ""]  # blank lines 2001 and 2002: that chunk is read again with rejects
    lines[2500] += ",x"  # line 2501: an extra field
    result, q = load(store, tmp_path, lines, chunk_mb=0.02)
    assert result.rows_in == 3000 and result.rows_loaded == 2998 and result.rows_quarantined == 2
    assert [(ln, c) for ln, c, _r in q] == [(1501, "produced_qty"), (2501, "row")]
    assert "R1498" in q[0][2] or "-1" in q[0][2]


def test_line_numbers_of_a_big_chunk_read_in_parallel(store, tmp_path):
    """DuckDB splits a big chunk among threads; the order it keeps is what numbers the lines."""
    n = 250_000  # about 20 MB: several parallel read ranges in one chunk
    bad = {7, 61_001, 123_457, 249_999}
    lines = [PR]
    for i in range(n):
        line = i + 2
        good = "x" if i in bad else 10
        lines.append(f"L{line},L1,A,O,2025-01-07 09:00:00,2025-01-07 10:00:00,{good},{good},0,0")
    lines.append("L10,L1,A,O,2025-01-07 09:00:00,2025-01-07 10:00:00,11,11,0,0")  # repeats line 10's key
    store.execute("SET threads = 2")
    result, q = load(store, tmp_path, lines)
    assert result.rows_quarantined == len(bad) + 1
    assert [ln for ln, _c, _r in q] == sorted([i + 2 for i in bad] + [10])
    raws = store.execute("SELECT source_line, raw_record FROM quarantine WHERE run_id = ? AND column_name <> 'record_id'",
                         [result.run_id]).fetchall()
    assert len(raws) == len(bad) and all(f'"record_id":"L{ln}"' in raw.replace(" ", "") for ln, raw in raws)
    assert store.execute("SELECT good_qty FROM production_record WHERE record_id = 'L10'").fetchall() == [(11,)]
    assert unique(store)


# ------------------------------------------------------------------------------------------ the scan
def _utf8_error(data: bytes, block: int) -> int | None:
    check = encoding._Utf8Check()
    for offset in range(0, len(data), block):
        part = data[offset:offset + block]
        bad = check.feed(part, offset, np.frombuffer(part, dtype=np.uint8))
        if bad is not None:
            return bad
    return check.finish()


def test_the_utf8_check_by_runs_agrees_with_decoding():
    rng = random.Random(11)
    pieces = ["a", ",", "\n", "中", "é", "😀", "合计", " "]
    for _ in range(1500):
        data = bytearray("".join(rng.choice(pieces) for _ in range(rng.randint(0, 60))).encode())
        if data and rng.random() < 0.5:
            data[rng.randrange(len(data))] = rng.choice([0x80, 0xFF, 0xE4, 0xC3, 0x41])
        data = bytes(data)
        try:
            codecs.decode(data, "utf-8")
            expected = None
        except UnicodeDecodeError as exc:
            expected = exc.start
        for block in (1, 3, 8, 64):
            assert _utf8_error(data, block) == expected, (data, block)


def test_invalid_utf8_far_into_a_file_is_found_with_its_line(tmp_path):
    path = tmp_path / "gbk.csv"
    tail = "".join(f"R{i},L1,A,重庆工单{i},二〇二五年,一月七日\n" for i in range(50)).encode("gbk")
    path.write_bytes((PR + "\n").encode() + (row(1) + "\n").encode() * 40_000 + tail)
    scan = encoding.scan(path, "auto", "gbk.csv")
    assert scan.codec == "gb18030" and scan.lines == 40_051
    with pytest.raises(encoding.ConnectorError, match="line 40002"):
        encoding.scan(path, "utf-8", "gbk.csv")


def test_planned_cuts_are_newlines_outside_quotes_with_exact_lines(tmp_path):
    rng = random.Random(5)
    fields = ["a", "bb", '"q,x"', '"multi\nline"', '"he said ""hi"""', "中文", ""]
    for trial in range(60):
        body = "\n".join(",".join(rng.choice(fields) for _ in range(3)) for _ in range(rng.randint(1, 300)))
        data = ("h1,h2,h3\n" + body + ("\n" if rng.random() < 0.8 else "")).encode()
        path = tmp_path / f"f{trial}.csv"
        path.write_bytes(data)
        size = rng.choice([1, 50, 700, 3000])
        scan = encoding.scan(path, "auto", path.name, chunk_bytes=size)
        chunks = list(encoding.chunks(scan, 1, size, tmp_path, path.name))
        if scan.size_bytes <= size:
            assert len(chunks) == 1
            continue
        joined, line = b"", 1
        for chunk in chunks:
            part = chunk.path.read_bytes()
            chunk.path.unlink()
            assert chunk.first_line == line + chunk.skip
            assert chunk.last_line == line + part.count(b"\n") - (1 if part.endswith(b"\n") else 0)
            joined += part
            if len(joined) < len(data):
                assert part.endswith(b"\n") and joined.count(b'"') % 2 == 0
            line += part.count(b"\n")
        assert joined == data


def test_a_stream_whose_checks_join_is_staged_as_a_table_with_exact_lines(store, tmp_path):
    """maintenance_event's row check looks org_unit up in a subquery: a join, which does not keep the
    read order, so its rows cannot be numbered by the order written; the table path numbers them."""
    header = "event_id,unit_id,kind,failure_code,start_at,end_at,planned_on"
    lines = [header] + [f"M{i},E1,corrective,F1,2025-01-07 08:00:00,2025-01-07 09:00:00," for i in range(3000)]
    lines[1200] = lines[1200].replace(",E1,", ",L1,")  # line 1201: booked on a line, not equipment
    lines[2500] = lines[2500].replace("2025-01-07 09:00:00", "x")  # line 2501
    result, q = load(store, tmp_path, lines, stream="maintenance_event", chunk_mb=0.05)
    assert (result.rows_loaded, result.rows_quarantined) == (2998, 2)
    assert [(ln, c) for ln, c, _r in q] == [(1201, "row"), (2501, "end_at")]
    assert "must be an equipment" in q[0][2] and unique(store, "maintenance_event")


def test_the_progress_bar_follows_the_batches_to_the_file_total(master_file, tmp_path):
    import io

    from cockpit.connectors_cli import Progress

    shutil.copy(master_file, tmp_path / "store.duckdb")
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    path = tmp_path / "big.csv"
    path.write_text("\n".join([PR, *(row(i, hour=i % 20) for i in range(3000)), "R9,ZZ,A,O,bad,x,1,1,0,0"]) + "\n",
                    encoding="utf-8")
    out = io.StringIO()
    progress, seen = Progress("mes", stream=out), []
    spec = ConnectorSpec(name="mes", system="mes", kind="csv", stream="production_record", max_reject_share=1.0,
                         options={"path": str(path), "chunk_mb": 0.02})
    try:
        result = run_connector(con, spec, NOW, on_batch=lambda b, r: (seen.append(r.rows_in), progress.update(b, r)))
    finally:
        progress.close()
        con.close()
    assert result.status == "ok" and result.rows_in == 3001
    assert len(seen) > 3 and seen == sorted(seen) and seen[-1] == 3001  # one call per chunk, growing
    text = out.getvalue()
    assert "mes: 100%" in text and "3.00k/3.00k" in text and "quarantined 1" in text
