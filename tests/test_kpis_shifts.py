"""The shift grain: the day pass's KPIs per shift, computed by hand on a three-shift day.

Plant ENT > P1 > W1 > line L1, production day from 08:00, shifts A 08:00, B 16:00, C 00:00 (the defaults).
Production day 2025-03-03 on L1, product P with an ideal cycle time of 60 s:

  shift  plan (POT, qty)   states                                      PQ   GQ   SQ  RQ
  A      28 800 s, 400     08-09 planned stop, 09-15 run, 15-16 breakdown   300  280  15   5
  B      28 800 s, 400     16-23 run, 23-24 setup                         420  420   0   0
  C      28 800 s, 200     00-04 run (on 03-04), 04-08 idle                200  190  10   0

  availability APT / (POT − PDOT):  A 21 600 / 25 200 = 85.714 %   B 25 200 / 28 800 = 87.5 %
                                    C 14 400 / 28 800 = 50 %       day 61 200 / 82 800 = 73.913 %
  effectiveness PRU·PQ / APT:       A 18 000 / 21 600   B 25 200 / 25 200   C 12 000 / 14 400
  quality GQ / PQ:                  A 280/300           B 420/420           C 190/200
  OEE = the product:                A 66.667 %   B 87.5 %   C 0.5 × 0.8333 × 0.95 = 39.583 %
                                    day 55 200 / 82 800 × 890 / 920 = 64.493 %
Shift C starts on 2025-03-04 00:00 and belongs to production day 2025-03-03.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import pytest

from connectors.schema import create_all
from kpis import engine
from kpis.reference import seed_reference_tables
from kpis.registry import all_kpis
from kpis.shifts import Shift, ShiftError, parse_shifts, shift_code_sql, shift_start_sql

D = datetime(2025, 3, 3)


def at(day_offset: int, hour: int) -> datetime:
    return datetime(2025, 3, 3 + day_offset, hour)


@pytest.fixture()
def plant() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    create_all(con)
    seed_reference_tables(con)
    con.executemany("INSERT INTO org_unit VALUES (?, ?, ?, ?, ?, 1, NULL)",
                    [(u, p, level, u, u) for u, p, level in (("ENT", None, "enterprise"), ("P1", "ENT", "plant"),
                                                             ("W1", "P1", "workshop"), ("L1", "W1", "line"))])
    con.execute("INSERT INTO product (product_id, name_zh, name_en, ideal_cycle_s) VALUES ('P', 'P', 'P', 60)")
    con.executemany("INSERT INTO planned_time (unit_id, shift_start_at, shift_code, planned_s, planned_qty) "
                    "VALUES ('L1', ?, ?, 28800, ?)", [(at(0, 8), "A", 400), (at(0, 16), "B", 400), (at(1, 0), "C", 200)])
    con.executemany("INSERT INTO equipment_state (unit_id, start_at, end_at, state) VALUES ('L1', ?, ?, ?)", [
        (at(0, 8), at(0, 9), "planned_stop"), (at(0, 9), at(0, 15), "running"), (at(0, 15), at(0, 16), "breakdown"),
        (at(0, 16), at(0, 23), "running"), (at(0, 23), at(1, 0), "setup"),
        (at(1, 0), at(1, 4), "running"), (at(1, 4), at(1, 8), "idle")])
    con.executemany(
        "INSERT INTO production_record (record_id, unit_id, product_id, start_at, end_at, produced_qty, good_qty, "
        "scrap_qty, rework_qty) VALUES (?, 'L1', 'P', ?, ?, ?, ?, ?, ?)",
        [("RA", at(0, 9), at(0, 15), 300, 280, 15, 5), ("RB", at(0, 16), at(0, 23), 420, 420, 0, 0),
         ("RC", at(1, 0), at(1, 4), 200, 190, 10, 0)])
    return con


def shift_values(con, kpi_id: str, unit_id: str = "L1") -> dict[str, tuple]:
    rows = con.execute("SELECT shift_code, shift_start, day, value, status FROM kpi_shift_value "
                       "WHERE kpi_id = ? AND unit_id = ? ORDER BY shift_start", [kpi_id, unit_id]).fetchall()
    return {code: (start, day, value, status) for code, start, day, value, status in rows}


def test_shift_kpis_by_hand(plant):
    engine.compute(plant)
    availability = shift_values(plant, "availability")
    assert [v[2] for v in availability.values()] == pytest.approx([21600 / 25200 * 100, 87.5, 50.0])
    oee = shift_values(plant, "oee")
    assert oee["A"][2] == pytest.approx(200 / 3)
    assert oee["B"][2] == pytest.approx(87.5)
    assert oee["C"][2] == pytest.approx(0.5 * 12000 / 14400 * 0.95 * 100)
    # the night shift starts the next calendar day and belongs to the production day it closes
    assert oee["C"][:2] == (at(1, 0), date(2025, 3, 3))
    day = plant.execute("SELECT value FROM kpi_value WHERE kpi_id = 'oee' AND unit_id = 'L1' AND grain = 'day' "
                        "AND period_start = DATE '2025-03-03'").fetchall()[0][0]
    assert day == pytest.approx(55200 / 82800 * 890 / 920 * 100)
    assert shift_values(plant, "plan_attainment")["C"][2] == pytest.approx(95.0)
    # the enterprise's shift rolls up from its line's elements
    assert shift_values(plant, "oee", "ENT")["A"][2] == pytest.approx(200 / 3)
    # data as of the start of the shift the data reaches, which for one shift's rows is the shift itself
    as_of = plant.execute("SELECT DISTINCT shift_start = data_as_of FROM kpi_shift_value WHERE kpi_id = 'oee'").fetchall()
    assert as_of == [(True,)]


def test_only_kpis_whose_elements_exist_per_shift_have_shift_rows(plant):
    engine.compute(plant)
    kpis = {r[0] for r in plant.execute("SELECT DISTINCT kpi_id FROM kpi_shift_value").fetchall()}
    registry = all_kpis()
    assert kpis and all(registry[k].per_shift for k in kpis)
    assert not registry["mtbf"].per_shift and not registry["on_time_delivery"].per_shift
    assert not registry["unit_operating_cost"].per_shift  # monthly ERP cost has no shift
    assert registry["oee"].all_grains[:2] == ("shift", "day")


def test_a_days_complete_shifts_add_up_to_the_day(plant):
    engine.compute(plant)
    mismatched = plant.execute("""
        SELECT s.kpi_id, s.unit_id FROM (
            SELECT kpi_id, unit_id, day, SUM(numerator) AS num, SUM(denominator) AS den, bool_and(status = 'ok') AS ok
            FROM kpi_shift_value GROUP BY ALL) s
        JOIN all_kpi_kinds k USING (kpi_id)
        JOIN kpi_value d ON d.kpi_id = s.kpi_id AND d.unit_id = s.unit_id AND d.grain = 'day' AND d.period_start = s.day
        WHERE s.ok AND k.kind IN ('ratio', 'sum')
          AND (abs(s.num - d.numerator) > 1e-9 OR abs(COALESCE(s.den, 0) - COALESCE(d.denominator, 0)) > 1e-9)""".replace(
        "all_kpi_kinds", "(SELECT unnest(?) AS kpi_id, unnest(?) AS kind)"),
        [list(all_kpis()), [k.kind for k in all_kpis().values()]]).fetchall()
    assert mismatched == []
    assert plant.execute("SELECT count(*) FROM kpi_shift_value WHERE status = 'ok'").fetchall()[0][0] > 50


def test_shift_history_is_bounded_and_incremental_equals_full(plant):
    # a second day, 2025-03-10, a week later: with a 3-day history only its shifts are kept
    plant.execute("INSERT INTO production_record (record_id, unit_id, product_id, start_at, end_at, produced_qty, "
                  "good_qty, scrap_qty, rework_qty) VALUES ('R2', 'L1', 'P', ?, ?, 10, 10, 0, 0)",
                  [datetime(2025, 3, 10, 9), datetime(2025, 3, 10, 10)])
    engine.compute(plant, shift_days=3)
    assert {r[0] for r in plant.execute("SELECT DISTINCT day FROM kpi_shift_value").fetchall()} == {date(2025, 3, 10)}
    engine.compute(plant, shift_days=30)
    snapshot = ("SELECT * EXCLUDE (computed_at, value, numerator, denominator), round(value, 9), round(numerator, 9), "
                "round(denominator, 9) FROM kpi_shift_value ORDER BY ALL")  # parallel sums may differ in the last bit
    full = plant.execute(snapshot).fetchall()
    assert {r[4] for r in full} == {date(2025, 3, 3), date(2025, 3, 10)}
    engine.compute(plant, shift_days=30, since=date(2025, 3, 10))
    assert plant.execute(snapshot).fetchall() == full
    engine.compute(plant, shift_days=0)
    assert plant.execute("SELECT count(*) FROM kpi_shift_value").fetchall()[0][0] == 0


def test_shift_macro_on_a_two_shift_calendar_from_0730():
    """白班 07:30-19:30 and 夜班 19:30-07:30; the production day starts at 07:30."""
    shifts = parse_shifts([{"code": "夜班", "start": "19:30"}, {"code": "白班", "start": "07:30"}], 450)
    assert shifts == (Shift("白班", 0), Shift("夜班", 720))
    con = duckdb.connect()
    con.execute(f"CREATE TEMP MACRO shift_start(ts) AS {shift_start_sql(450, shifts)}")
    con.execute("SET VARIABLE shift_codes = ?", [[s.code for s in shifts]])
    cases = {datetime(2025, 3, 3, 7, 30): (datetime(2025, 3, 3, 7, 30), "白班"),
             datetime(2025, 3, 3, 19, 29, 59): (datetime(2025, 3, 3, 7, 30), "白班"),
             datetime(2025, 3, 3, 19, 30): (datetime(2025, 3, 3, 19, 30), "夜班"),
             datetime(2025, 3, 4, 7, 29): (datetime(2025, 3, 3, 19, 30), "夜班"),
             datetime(1969, 12, 31, 23, 0): (datetime(1969, 12, 31, 19, 30), "夜班")}
    for ts, expected in cases.items():
        got = con.execute(f"SELECT s, {shift_code_sql('s', 450, shifts)} FROM (SELECT shift_start(?) AS s)",
                          [ts]).fetchall()[0]
        assert got == expected, ts


@pytest.mark.parametrize("raw, message", [
    ([{"code": "A", "start": "09:00"}], "must start when the production day starts"),
    ([{"code": "A", "start": "08:00"}, {"code": "A", "start": "20:00"}], "unique"),
    ([{"code": "A", "start": "08:00"}, {"code": "B", "start": "08:00"}], "same time"),
    ([{"code": "A", "start": "8h"}], "not a time"),
    ([{"code": "A"}], "exactly a code and a start"),
    ([], "1 to 6 shifts"),
])
def test_bad_shift_calendars_are_refused(raw, message):
    with pytest.raises(ShiftError, match=message):
        parse_shifts(raw, 480)
