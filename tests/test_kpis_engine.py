"""Engine mechanics the golden fixtures do not reach: bounded look-back when incremental, irregular org trees,
the production-day macro.

Maintenance plant (hand-built below): ENT > P1 > W1 > lines L1 (equipment E1) and L2 (E2). The MES records
states per line: each line runs 09:00-17:00 every day from 2024-10-01 to 2025-03-31, so an equipment's
operating time is its line's running time.
  E1 failures: 2025-01-20 10:00-10:30, 2025-02-27 16:30-20:00 (restored after the line stopped, at 20:00),
      then 10:00-10:30 on March 3, 5, 7, 10, 12 and 14. Times to failure in March:
      Mar 3  from Feb 27 20:00: Feb 28 8 h + Mar 1 8 h + Mar 2 8 h + Mar 3 09:00-10:00 1 h  = 25.0 h
      Mar 5  from Mar 3 10:30: 6.5 h + Mar 4 8 h + 1 h                                      = 15.5 h
      Mar 7  likewise                                                                      = 15.5 h
      Mar 10 from Mar 7 10:30: 6.5 h + Mar 8 8 h + Mar 9 8 h + 1 h                          = 23.5 h
      Mar 12, Mar 14 likewise 15.5 h each
      MTTF March = (25 + 15.5 + 15.5 + 23.5 + 15.5 + 15.5) / 6 = 110.5 / 6 h
  E2 has its first failure on 2025-03-04 12:00-12:30: its TTF counts from its line's first running record,
      2024-10-01 09:00: 154 days (Oct 1 - Mar 3) x 8 h + 3 h = 1235 h.
An incremental compute from March starts E1's running clock at 2024-12-30 09:00 (its first running interval
in the 62 days before March), not at its first record, and E2's at the beginning (a first failure): both
must give the full compute's snapshots.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import pytest

from connectors.schema import create_all
from kpis import engine
from kpis.reference import seed_reference_tables
from tests.conftest import kpi

SNAPSHOT = ("SELECT * EXCLUDE (computed_at, value, numerator, denominator), round(value, 9), "
            "round(numerator, 9), round(denominator, 9) FROM kpi_value ORDER BY ALL")


def _org(con: duckdb.DuckDBPyConnection, rows: list[tuple[str, str | None, str]]) -> None:
    con.executemany("INSERT INTO org_unit VALUES (?, ?, ?, ?, ?, 1, NULL)",
                    [(u, p, level, u, u) for u, p, level in rows])


@pytest.fixture()
def maintenance() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    create_all(con)
    seed_reference_tables(con)
    _org(con, [("ENT", None, "enterprise"), ("P1", "ENT", "plant"), ("W1", "P1", "workshop"),
               ("L1", "W1", "line"), ("L2", "W1", "line"), ("E1", "L1", "equipment"), ("E2", "L2", "equipment")])
    states = []
    day = date(2024, 10, 1)
    while day <= date(2025, 3, 31):
        start = datetime.combine(day, datetime.min.time()) + timedelta(hours=9)
        states += [(line, start, start + timedelta(hours=8), "running") for line in ("L1", "L2")]
        day += timedelta(days=1)
    con.executemany("INSERT INTO equipment_state VALUES (?, ?, ?, ?, NULL, NULL)", states)
    failures = [("E1", datetime(2025, 1, 20, 10), datetime(2025, 1, 20, 10, 30)),
                ("E1", datetime(2025, 2, 27, 16, 30), datetime(2025, 2, 27, 20)),
                *[("E1", datetime(2025, 3, d, 10), datetime(2025, 3, d, 10, 30)) for d in (3, 5, 7, 10, 12, 14)],
                ("E2", datetime(2025, 3, 4, 12), datetime(2025, 3, 4, 12, 30))]
    con.executemany("INSERT INTO maintenance_event VALUES (?, ?, 'corrective', NULL, ?, ?, NULL, NULL)",
                    [(f"F{i}", u, s, e) for i, (u, s, e) in enumerate(failures)])
    return con


def test_time_to_failure_by_hand(maintenance):
    engine.compute(maintenance)
    value, numerator, denominator, status = kpi(maintenance, "mttf", "E1", "month", "2025-03-01")
    assert status == "ok" and denominator == 6
    assert numerator == pytest.approx(110.5) and value == pytest.approx(110.5 / 6)
    assert kpi(maintenance, "mttf", "E2", "month", "2025-03-01")[1] == pytest.approx(1235)  # 1 failure: insufficient


def test_incremental_time_to_failure_reads_a_bounded_history_and_equals_full(maintenance):
    engine.compute(maintenance)
    full = maintenance.execute(SNAPSHOT).fetchall()
    engine.compute(maintenance, since=date(2025, 3, 10))
    assert maintenance.execute(SNAPSHOT).fetchall() == full
    # the shared sums are views again afterwards, so element SQL keeps binding
    kinds = dict(maintenance.execute("SELECT view_name, 'view' FROM duckdb_views() WHERE temporary").fetchall())
    assert kinds.get("failure_ttf") == "view" and kinds.get("state_day") == "view"


def test_irregular_tree_adds_a_units_own_data_to_its_descendants():
    """A line under a line: the upper line's good output is its own plus the lower line's, counted once."""
    con = duckdb.connect()
    create_all(con)
    seed_reference_tables(con)
    _org(con, [("ENT", None, "enterprise"), ("P1", "ENT", "plant"), ("W1", "P1", "workshop"),
               ("L1", "W1", "line"), ("L1B", "L1", "line")])
    con.execute("INSERT INTO product VALUES ('A', 'A', 'A', NULL, 60, 1, NULL)")
    con.executemany("INSERT INTO production_record VALUES (?, ?, 'A', NULL, ?, ?, ?, ?, 0, 0, NULL)",
                    [("R1", "L1", datetime(2025, 1, 6, 9), datetime(2025, 1, 6, 10), 100, 100),
                     ("R2", "L1B", datetime(2025, 1, 6, 9), datetime(2025, 1, 6, 10), 40, 40)])
    engine.compute(con)
    for unit, expected in (("L1B", 40), ("L1", 140), ("W1", 140), ("ENT", 140)):
        assert kpi(con, "good_output", unit, "day", "2025-01-06")[0] == expected, unit
        assert kpi(con, "good_output", unit)[0] == expected, unit
    dupes = con.execute("SELECT count(*) FROM (SELECT kpi_id, unit_id, grain, period_start FROM kpi_value "
                        "GROUP BY ALL HAVING count(*) > 1)").fetchall()[0][0]
    assert dupes == 0


@pytest.mark.parametrize("minutes", [0, 480, 1439])
def test_production_day_macro_matches_the_interval_arithmetic(minutes):
    con = duckdb.connect()
    create_all(con)
    engine.prepare(con, minutes, "equivalent")
    stamps = [datetime(2025, 1, 1, 7, 59, 59, 999999), datetime(2025, 1, 1, 8), datetime(2024, 2, 29, 23, 59),
              datetime(1969, 12, 31, 3), datetime(2025, 3, 30, 0, 0)]
    for ts in stamps:
        got, expected = con.execute(f"SELECT prod_day(?), CAST(? - INTERVAL {minutes} MINUTE AS DATE)",
                                    [ts, ts]).fetchall()[0]
        assert got == expected, ts


def test_one_group_by_per_kpi_gives_the_same_snapshots(maintenance, monkeypatch):
    """Big inputs group each KPI on its own (PER_KPI_ROWS); small ones all at once: same snapshots."""
    con = maintenance
    con.execute("INSERT INTO org_unit VALUES ('W2', 'P1', 'workshop', 'W2', 'W2', 1, NULL)")
    engine.compute(con)
    together = con.execute(SNAPSHOT).fetchall()
    monkeypatch.setattr(engine, "PER_KPI_ROWS", 0)
    engine.compute(con)
    assert con.execute(SNAPSHOT).fetchall() == together
    engine.compute(con, since=date(2025, 3, 10))
    assert con.execute(SNAPSHOT).fetchall() == together


def test_a_month_whose_daily_data_starts_after_its_first_week_is_partial(golden_dir):
    """ERP books January's whole cost; MES data starting on 20 January would make January's unit cost 3x too
    high. January is 'partial' (no value, left out of windows); February, fully covered, is 'ok'."""
    from cockpit import config
    from cockpit.writer import Writer
    from kpis.windows import window_values
    from kpis.periods import Window
    from tests.conftest import kpi

    production = golden_dir / "production_record.csv"
    lines = production.read_text(encoding="utf-8").splitlines()
    moved = [lines[0]] + [ln.replace("2025-01-06", "2025-01-20") for ln in lines[1:]]
    moved += ["R11,L1,A,O1,2025-02-03 09:00:00,2025-02-03 15:00:00,600,560,30,10",  # February: twice the output
              "R12,L2,B,O2,2025-02-03 08:00:00,2025-02-03 11:00:00,720,648,72,0"]
    production.write_text("\n".join(moved) + "\n", encoding="utf-8")
    cost = golden_dir / "operating_cost.csv"
    rows = cost.read_text(encoding="utf-8").splitlines()
    cost.write_text("\n".join(rows + [r.replace("2025-01-01", "2025-02-01") for r in rows[1:]]) + "\n", encoding="utf-8")
    writer = Writer(config.load(golden_dir / "cockpit.toml", environ={}), clock=lambda: datetime(2025, 3, 10, 12))
    try:
        writer.load()
        writer.compute()
        con = writer.con
        january = kpi(con, "unit_operating_cost", "P1", period="2025-01-01")
        assert january[0] is None and january[3] == "partial"
        assert kpi(con, "unit_operating_cost", "P1", period="2025-02-01")[0] == pytest.approx(60000 / 1208)
        assert kpi(con, "unit_operating_cost", "ENT", period="2025-01-01")[3] == "partial"  # rolled up too
        assert kpi(con, "good_output", "P1", period="2025-01-01")[3] == "ok"  # daily data alone is fine
        monthly = con.execute("SELECT * FROM kpi_value WHERE grain = 'month'").df()
        both = window_values(monthly, Window(date(2025, 1, 1), date(2025, 2, 28)))
        row = both[(both["kpi_id"] == "unit_operating_cost") & (both["unit_id"] == "P1")].iloc[0]
        # February only: (60000 + 60000) / (604 + 1208) = 66.2 would count January's whole cost for 14 days
        assert row["value"] == pytest.approx(60000 / 1208) and row["months"] == 1
        writer.compute(since=date(2025, 2, 3))  # incremental: January keeps its state
        assert kpi(con, "unit_operating_cost", "P1", period="2025-01-01")[3] == "partial"
    finally:
        writer.close()


def test_data_starting_in_the_first_week_keeps_the_month(golden_loaded):
    """The golden plant's MES data starts on 6 January (the first week may be a holiday, 国庆 or 元旦)."""
    from tests.conftest import kpi

    assert kpi(golden_loaded.con, "unit_operating_cost", "P1")[3] == "ok"


def test_an_order_running_into_a_new_month_is_recomputed_where_it_started():
    """Order O1 starts on L1 on 31 January and continues into February (on L1, then L2).

    AOET books an order on the day it started on a unit, with its whole span: L1's O1 runs from
    31 Jan 09:00 to 2 Feb 10:00 = 49 h, booked in January, so January's throughput on L1 (PQ by record
    day / AOET) falls from 100 / 1 to 100 / 49 pieces per hour once the February records arrive. Fall-off: the first operation
    (L1) produced 150; L1 scrapped 5 + 1 (booked on 31 Jan), L2 3 (3 Feb): 6/150 = 4 %, 3/150 = 2 %.
    An incremental compute from February must give the same snapshots as a full one.
    """
    con = duckdb.connect()
    create_all(con)
    seed_reference_tables(con)
    _org(con, [("ENT", None, "enterprise"), ("P1", "ENT", "plant"), ("W1", "P1", "workshop"),
               ("L1", "W1", "line"), ("L2", "W1", "line")])
    con.execute("INSERT INTO product VALUES ('A', 'A', 'A', NULL, 60, 1, NULL)")
    insert = ("INSERT INTO production_record (record_id, unit_id, product_id, order_id, start_at, end_at, produced_qty, "
              "good_qty, scrap_qty, rework_qty) VALUES (?, ?, 'A', 'O1', ?, ?, ?, ?, ?, 0)")
    con.execute(insert, ["R1", "L1", datetime(2025, 1, 31, 9), datetime(2025, 1, 31, 10), 100, 95, 5])
    engine.compute(con)
    assert kpi(con, "throughput_rate", "L1", "month", "2025-01-01")[0] == pytest.approx(100)  # 100 in 1 h so far
    con.executemany(insert, [("R2", "L1", datetime(2025, 2, 2, 9), datetime(2025, 2, 2, 10), 50, 49, 1),
                             ("R3", "L2", datetime(2025, 2, 3, 9), datetime(2025, 2, 3, 11), 95, 92, 3)])
    engine.compute(con, since=date(2025, 2, 2))
    incremental = con.execute(SNAPSHOT).fetchall()
    assert kpi(con, "throughput_rate", "L1", "month", "2025-01-01")[0] == pytest.approx(100 / 49)
    assert kpi(con, "fall_off_ratio", "L1", "month", "2025-01-01")[0] == pytest.approx(4.0)
    assert kpi(con, "fall_off_ratio", "L2", "month", "2025-02-01")[0] == pytest.approx(2.0)
    assert kpi(con, "throughput_rate", "L1", "month", "2025-02-01")[3] == "no_data"  # no order started there
    engine.compute(con)
    assert con.execute(SNAPSHOT).fetchall() == incremental


def test_snapshot_keys_are_never_renumbered(maintenance):
    """Snapshots are stored on integer keys: a unit or KPI seen later gets the next key, so the months an
    incremental compute keeps still name the units they were computed for."""
    con = maintenance
    engine.compute(con)
    january = con.execute(SNAPSHOT.replace("ORDER BY", "WHERE period_start < DATE '2025-02-01' ORDER BY")).fetchall()
    keys = dict(con.execute("SELECT unit_id, unit_key FROM snapshot_unit").fetchall())
    con.execute("INSERT INTO org_unit VALUES ('A0', 'P1', 'workshop', 'A0', 'A0', 1, NULL)")  # sorts first
    engine.compute(con, since=date(2025, 3, 10))
    assert con.execute(SNAPSHOT.replace("ORDER BY", "WHERE period_start < DATE '2025-02-01' ORDER BY")).fetchall() == january
    after = dict(con.execute("SELECT unit_id, unit_key FROM snapshot_unit").fetchall())
    assert {u: after[u] for u in keys} == keys and after["A0"] == max(keys.values()) + 1
    assert con.execute("SELECT count(*) FROM snapshot_kpi").fetchall()[0][0] == len(engine.all_kpis())
    assert con.execute("SELECT count(DISTINCT kpi_key) FROM snapshot_kpi").fetchall()[0][0] == len(engine.all_kpis())


def test_a_store_of_an_earlier_release_gets_snapshot_views(tmp_path):
    """Earlier releases stored kpi_value and kpi_shift_value as tables of names: opening the store replaces them
    with the views over the keyed snapshots (the next compute is a full one: the kpis code changed)."""
    from cockpit.store import _drop_stale_derived_tables

    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    con.execute("CREATE TABLE kpi_value (kpi_id VARCHAR, unit_id VARCHAR, grain VARCHAR, period_start DATE, "
                "value DOUBLE, status VARCHAR)")
    con.execute("INSERT INTO kpi_value VALUES ('oee', 'L1', 'day', DATE '2025-01-01', 0.5, 'ok')")
    con.execute("CREATE TABLE kpi_shift_value (kpi_id VARCHAR, unit_id VARCHAR, shift_start TIMESTAMP)")
    con.execute("CREATE TABLE store_setting (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT INTO store_setting VALUES ('kpi_signature', 'abc'), ('go_live', '2025-01-01')")
    _drop_stale_derived_tables(con)
    assert con.execute("SELECT key FROM store_setting").fetchall() == [("go_live",)]  # next compute: full
    create_all(con)
    kinds = dict(con.execute("SELECT view_name, 'view' FROM duckdb_views() WHERE NOT internal").fetchall())
    assert kinds == {"kpi_value": "view", "kpi_shift_value": "view"}
    assert con.execute("SELECT count(*) FROM kpi_value").fetchall()[0][0] == 0
