"""Loading: atomic runs, quarantine with file/line/column, idempotent re-delivery, bad files fail whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import kpi

HEADER = "record_id,unit_id,product_id,order_id,start_at,end_at,produced_qty,good_qty,scrap_qty,rework_qty\n"


def _count(con, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def _snapshot(con) -> dict:
    return {t: con.execute(f"SELECT * EXCLUDE (run_id) FROM {t} ORDER BY ALL").fetchall()
            for t in ("production_record", "equipment_state", "energy_reading", "operating_cost")}


def _last_run(con, connector: str):
    return con.execute(
        "SELECT status, rows_in, rows_loaded, rows_unchanged, rows_quarantined, error FROM load_run "
        "WHERE connector = ? ORDER BY run_id DESC LIMIT 1", [connector]).fetchall()[0]


@pytest.fixture
def loaded(golden_writer):
    golden_writer.load()
    golden_writer.compute()
    return golden_writer


def test_first_load_counts(loaded):
    assert _count(loaded.con, "production_record") == 2
    assert _last_run(loaded.con, "production_record")[:5] == ("ok", 2, 2, 0, 0)


def test_same_content_under_a_new_name_changes_nothing(loaded):
    folder: Path = loaded.settings.path.parent
    before = _snapshot(loaded.con)
    oee_before = kpi(loaded.con, "oee", "W1")
    (folder / "production_record.csv").rename(folder / "production_record_redelivered.csv")
    spec = loaded.settings.connectors["production_record"]
    # point the connector at a glob so the renamed file is found
    loaded.settings.connectors["production_record"] = type(spec)(**{**spec.__dict__, "options": {"path": "production_record*.csv"}})
    results = loaded.load(["production_record"])
    assert results[0].status == "unchanged" and results[0].rows_loaded == 0
    loaded.compute()
    assert _snapshot(loaded.con) == before
    assert kpi(loaded.con, "oee", "W1") == oee_before


def test_identical_rows_in_a_changed_file_are_not_rewritten(loaded):
    path = loaded.settings.path.parent / "production_record.csv"
    path.write_text(path.read_text() + "\n")  # new bytes, same records
    result = loaded.load(["production_record"])[0]
    assert (result.status, result.rows_loaded, result.rows_unchanged) == ("ok", 0, 2)


def test_corrected_row_replaces_exactly_that_row(loaded):
    path = loaded.settings.path.parent / "production_record.csv"
    path.write_text(path.read_text().replace("R2,L2,B,O2,2025-01-06 08:00:00,2025-01-06 11:00:00,360,324,36,0",
                                             "R2,L2,B,O2,2025-01-06 08:00:00,2025-01-06 11:00:00,360,330,30,0"))
    result = loaded.load(["production_record"])[0]
    assert (result.rows_loaded, result.rows_unchanged) == (1, 1)
    rows = loaded.con.execute("SELECT record_id, good_qty, run_id FROM production_record ORDER BY 1").fetchall()
    assert rows[0][:2] == ("R1", 280) and rows[1][:2] == ("R2", 330)
    assert rows[0][2] != rows[1][2]  # R1 keeps the run that first loaded it
    loaded.compute()
    assert kpi(loaded.con, "quality_ratio", "W1")[0] == pytest.approx(100 * 610 / 660)  # (280 + 330) / 660


def test_missing_mapped_column_fails_naming_file_and_column(loaded):
    path = loaded.settings.path.parent / "production_record.csv"
    path.write_text(path.read_text().replace("good_qty", "good_quantity").replace("R1,", "R9,", 1))
    before = _snapshot(loaded.con)
    result = loaded.load(["production_record"])[0]
    assert result.status == "failed"
    assert "production_record.csv" in result.error and "line 1" in result.error
    assert "good_qty" in result.error and "did you mean 'good_quantity'" in result.error
    assert _snapshot(loaded.con) == before  # nothing half-loaded, previous data still there


def test_wrong_encoding_fails_with_line(loaded):
    folder = loaded.settings.path.parent
    (folder / "production_record.csv").write_bytes(
        (HEADER + "R3,L1,A,工单,2025-01-07 09:00:00,2025-01-07 10:00:00,10,10,0,0\n").encode("gbk"))
    spec = loaded.settings.connectors["production_record"]
    loaded.settings.connectors["production_record"] = type(spec)(
        **{**spec.__dict__, "options": {**spec.options, "encoding": "utf-8"}})
    result = loaded.load(["production_record"])[0]
    assert result.status == "failed"
    assert "not valid utf-8 at line 2" in result.error
    assert _count(loaded.con, "production_record") == 2


def test_gbk_is_detected_when_encoding_is_auto(loaded):
    folder = loaded.settings.path.parent
    (folder / "production_record.csv").write_bytes(
        (HEADER + "R3,L1,A,重庆工单甲,2025-01-07 09:00:00,2025-01-07 10:00:00,10,10,0,0\n").encode("gbk"))
    result = loaded.load(["production_record"])[0]
    assert result.status == "ok", result.error
    assert loaded.con.execute("SELECT order_id FROM production_record WHERE record_id = 'R3'").fetchall() == [("重庆工单甲",)]


def test_non_numeric_quantity_is_quarantined_with_line_and_column(loaded):
    folder = loaded.settings.path.parent
    rows = [f"N{i},L1,A,O,2025-01-0{i % 5 + 1} 09:00:00,2025-01-0{i % 5 + 1} 10:00:00,10,10,0,0" for i in range(12)]
    rows.insert(5, "BAD,L1,A,O,2025-01-07 09:00:00,2025-01-07 10:00:00,十,10,0,0")
    (folder / "production_record.csv").write_text(HEADER + "\n".join(rows) + "\n")
    result = loaded.load(["production_record"])[0]
    assert (result.status, result.rows_quarantined, result.rows_loaded) == ("ok", 1, 12)
    q = loaded.con.execute("SELECT source_file, source_line, column_name, reason, raw_record FROM quarantine").fetchall()
    assert len(q) == 1
    source_file, line, column, reason, raw = q[0]
    assert source_file.endswith("production_record.csv") and line == 7  # header + 5 rows before it
    assert column == "produced_qty" and "not a valid double: 十" in reason
    assert '"record_id":"BAD"' in raw.replace(" ", "")


@pytest.mark.parametrize("bad_row, column, reason", [
    ("X1,L1,A,O,2025-01-07 09:00:00,2025-01-07 10:00:00,-5,0,0,0", "produced_qty", "below 0"),
    ("X1,L9,A,O,2025-01-07 09:00:00,2025-01-07 10:00:00,5,5,0,0", "unit_id", "unknown org_unit L9"),
    ("X1,L1,A,O,2025-13-07 09:00:00,2025-01-07 10:00:00,5,5,0,0", "start_at", "not a valid timestamp"),
    ("X1,L1,A,O,2025-01-07 09:00:00,2025-01-07 10:00:00,5,4,0,0", "", "produced_qty must equal"),
    ("X1,L1,A,O,2099-01-07 09:00:00,2099-01-07 10:00:00,5,5,0,0", "start_at", "in the future"),
])
def test_bad_rows_are_quarantined_with_reason(loaded, bad_row, column, reason):
    folder = loaded.settings.path.parent
    good = [f"G{i},L1,A,O,2025-01-07 0{i}:00:00,2025-01-07 0{i}:30:00,5,5,0,0" for i in range(10)]
    (folder / "production_record.csv").write_text(HEADER + "\n".join([bad_row, *good]) + "\n")
    result = loaded.load(["production_record"])[0]
    assert result.rows_quarantined == 1
    got_column, got_reason = loaded.con.execute("SELECT column_name, reason FROM quarantine").fetchall()[0]
    assert reason in got_reason
    if column:
        assert got_column == column


def test_duplicate_keys_in_one_file_keep_the_last_line(loaded):
    folder = loaded.settings.path.parent
    rows = [f"D{i},L1,A,O,2025-01-07 09:00:00,2025-01-07 10:00:00,5,5,0,0" for i in range(10)]
    rows.append("D0,L1,A,O,2025-01-07 09:00:00,2025-01-07 10:00:00,6,6,0,0")
    (folder / "production_record.csv").write_text(HEADER + "\n".join(rows) + "\n")
    result = loaded.load(["production_record"])[0]
    assert result.rows_quarantined == 1
    assert loaded.con.execute("SELECT produced_qty FROM production_record WHERE record_id = 'D0'").fetchall() == [(6,)]
    reason, line = loaded.con.execute("SELECT reason, source_line FROM quarantine").fetchall()[0]
    assert line == 2 and "line 12" in reason


def test_too_many_rejects_fail_the_whole_run(loaded):
    folder = loaded.settings.path.parent
    rows = ["T1,L1,A,O,2025-01-07 09:00:00,2025-01-07 10:00:00,5,5,0,0",
            "T2,L1,A,O,2025-01-07 10:00:00,2025-01-07 11:00:00,abc,5,0,0"]
    (folder / "production_record.csv").write_text(HEADER + "\n".join(rows) + "\n")
    before = _snapshot(loaded.con)
    result = loaded.load(["production_record"])[0]
    assert result.status == "failed" and "1 of 2 rows rejected" in result.error and "line 3" in result.error
    assert _snapshot(loaded.con) == before
    assert _count(loaded.con, "quarantine") == 0  # rolled back with the run; the error names the first bad line


def test_failed_source_keeps_serving_old_numbers_and_is_marked(loaded):
    from cockpit.serving import Serving

    loaded.publish()
    serving = Serving(loaded.settings.serving_path)
    before = serving.monthly()
    (loaded.settings.path.parent / "production_record.csv").write_bytes(b"\x00\x01\x02garbage")
    result = loaded.refresh(["production_record"])[0]
    assert result.status == "failed" and "binary" in result.error
    status = serving.sources().set_index("connector").loc["production_record"]
    assert status["state"] == "failed" and status["since"] is not None
    assert serving.monthly().equals(before)


def test_one_failing_connector_does_not_stop_the_others(golden_writer):
    (golden_writer.settings.path.parent / "meter.csv").unlink()
    results = {r.connector: r.status for r in golden_writer.load()}
    assert results["meter"] == "failed"
    assert results["production_record"] == "ok" and results["headcount"] == "ok"


def test_a_store_from_an_older_release_gets_new_optional_columns(tmp_path):
    """Older stores: keyed fact tables, and streams without the optional columns added since."""
    import duckdb

    from connectors.schema import STREAMS, create_all

    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    labor = STREAMS["labor_time"]
    old = [c for c in labor.columns if c.required]
    con.execute(f"CREATE TABLE labor_time ({', '.join(f'{c.name} {c.type}' for c in old)}, run_id BIGINT, "
                f"PRIMARY KEY ({', '.join(labor.key)}))")
    sample = {"VARCHAR": "'L1'", "TIMESTAMP": "TIMESTAMP '2025-01-06 08:00:00'", "DATE": "DATE '2025-01-06'"}
    con.execute(f"INSERT INTO labor_time ({', '.join(c.name for c in old)}, run_id) "
                f"VALUES ({', '.join(sample.get(c.type, '8') for c in old)}, 1)")
    create_all(con)
    columns = [r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE labor_time)").fetchall()]
    assert set(labor.column_names) <= set(columns) and len(columns) == len(labor.column_names) + 1
    new = [c.name for c in labor.columns if not c.required]
    assert new and con.execute(f"SELECT count(*), count({new[0]}) FROM labor_time").fetchall()[0] == (1, 0)
    create_all(con)  # idempotent
    con.close()
