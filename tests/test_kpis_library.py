"""Hand-computed values of the maintenance, delivery, quality and capability KPIs (tests/fixtures/golden_library).

The golden plant of test_kpis_golden.py plus the new streams, all in January 2025:
  Org: ENT > P1 > W1 > L1 (equipment E1, E2, E3), L2 (equipment E4). The MES records states per line.
  L1 runs 09:00-15:00 on 2025-01-06 (21600 s), so E1, E2, E3 each operate 6 h; L2 runs 3 h (E4).
  maintenance_event:
    E1 failures 09:30-09:40, 10:30-10:50, 12:00-12:30, 13:00-13:10, 15:00-16:00: 5 failures, TTR 130 min;
       TTF from the previous restoration on L1's running clock: 1800 + 3000 + 4200 + 1800 + 6600 = 17400 s.
    E2 failures 10:00-10:05, 11:00-11:05, 14:00-14:05, 15:10-15:55: 4 failures, TTR 60 min;
       TTF 3600 + 3300 + 10500 + 3300 = 20700 s (15:10 is after L1 stopped running at 15:00).
    E3 no events; E4 (line L2) no events and L2 books no maintenance at all.
    Preventive: E1 planned 01-05 done 01-05 10:00-12:00 (on time); E2 planned 01-05 done 01-12 10:00-13:00
    (late); E1 planned 01-19 never done.
  sales_order (P1): 4 lines delivered, 3 by the promised date, 2 also in full; 7 + 8 + 12 + 17 days; 1 open.
  purchase_order (P1): 3 lines received, 2 on time; received 1000 + 500 + 280, accepted 990 + 500 + 266; 1 open.
  quality_inspection: L1 final 300 / 20 defective, L2 final 360 / 36, L1 incoming 1000 / 50 (not in DPPM).
  first_pass_test: L1 276 of 300 good at the first test, L2 324 of 360.
  measurement: L1 D [9, 11] 10 x 10.2, 10 x 10.0, 10 x 10.4 and E [0, 1] 15 x 0.4, 15 x 0.6;
    L2 D [9, 11] 10 x 9.9, 10 x 10.1 (20 values, below the 30 needed) and R (USL 1.6 only) 15 x 0.8, 15 x 1.0.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from cockpit import config
from cockpit.writer import Writer
from kpis import engine
from kpis.coverage import scenarios
from kpis.periods import Window
from kpis.registry import Element, Kpi, all_kpis, element
from kpis.registry import kpi as register_kpi
from kpis.windows import window_values
from tests.conftest import copy_plant, kpi, load_plant

LIBRARY = Path(__file__).parent / "fixtures" / "golden_library"
NOW = datetime(2025, 2, 10, 12, 0)
APPROX = {"rel": 1e-9}
S_D = math.sqrt(0.8 / 29)  # L1 D: mean 10.2, Σ(x - x̄)² = 10 x 0.2² + 10 x 0.2² = 0.8, n - 1 = 29
S_E = math.sqrt(0.3 / 29)  # L1 E: mean 0.5, Σ(x - x̄)² = 30 x 0.1² = 0.3
S_R = S_E  # L2 R: mean 0.9, same spread as E


def _copy(folder: Path) -> Path:
    return copy_plant(LIBRARY, folder)


def _writer(toml: Path) -> Writer:
    return Writer(config.load(toml, environ={}), clock=lambda: NOW)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    writer, results = load_plant(LIBRARY, tmp_path_factory.mktemp("library"))
    yield writer, results
    writer.close()


@pytest.fixture
def con(library):
    return library[0].con


def test_every_new_stream_loads_without_rejects(library):
    for r in library[1]:
        assert r.status == "ok" and r.rows_quarantined == 0, (r.connector, r.error)
    loaded = {r.stream for r in library[1] if r.rows_loaded}
    assert {"maintenance_event", "measurement", "first_pass_test", "sales_order", "purchase_order"} <= loaded


@pytest.mark.parametrize("kpi_id, unit, expected, arithmetic", [
    # MTBF = Σ operating time / Σ failures (only with >= 5 failures)
    ("mtbf", "E1", 6 / 5, "6 h / 5 failures = 1.2 h"),
    ("mtbf", "L1", 18 / 9, "(6 + 6 + 6 h of E1, E2, E3) / (5 + 4 + 0) = 2 h: failure-free E3 stays in the pool"),
    ("mtbf", "ENT", 18 / 9, "L2's equipment has no maintenance data: left out, not counted as failure-free"),
    # MTTF = Σ TTF / failures
    ("mttf", "E1", 17400 / 5 / 3600, "17400 s / 5 = 3480 s = 0.9667 h"),
    ("mttf", "L1", (17400 + 20700) / 9 / 3600, "(17400 + 20700) s / 9 = 4233.3 s = 1.1759 h"),
    # MTTR = Σ TTR / failures
    ("mttr", "E1", 130 / 5, "(10 + 20 + 30 + 10 + 60) min / 5 = 26 min"),
    ("mttr", "E2", 60 / 4, "(5 + 5 + 5 + 45) min / 4 = 15 min"),
    ("mttr", "L1", 190 / 9, "(130 + 60) / (5 + 4) = 21.111 min; the mean of 26 and 15 (20.5) is wrong"),
    # corrective maintenance ratio = CMT / (CMT + PMT)
    ("corrective_maintenance_ratio", "E1", 100 * 7800 / 15000, "7800 s / (7800 + 7200 s of PM) = 52 %"),
    ("corrective_maintenance_ratio", "E2", 100 * 3600 / 14400, "3600 / (3600 + 10800) = 25 %"),
    ("corrective_maintenance_ratio", "L1", 100 * 11400 / 29400, "(7800 + 3600) / (15000 + 14400) = 38.776 %"),
    # PM compliance = done by the planned day / planned (by planned date)
    ("pm_compliance", "E1", 50.0, "1 on time / 2 planned (the one of 01-19 never done)"),
    ("pm_compliance", "E2", 0.0, "0 / 1: done a week late. A real 0 %: a PM was planned"),
    ("pm_compliance", "L1", 100 / 3, "1 / 3 = 33.333 %"),
    # deliveries
    ("on_time_delivery", "P1", 75.0, "3 of 4 delivered lines by the promised date; the open line is not counted"),
    ("otif", "P1", 50.0, "2 of 4: SO1/2 was on time but 45 of 50"),
    ("order_to_delivery_time", "P1", 11.0, "(7 + 8 + 12 + 17) days / 4 lines = 11 days"),
    ("supplier_on_time_delivery", "P1", 200 / 3, "2 of 3 received lines: PO1/2 came two days late"),
    ("incoming_quality", "P1", 100 * 1756 / 1780, "(990 + 500 + 266) / (1000 + 500 + 280) = 98.652 %"),
    # quality
    ("dppm", "L1", 20 / 300 * 1e6, "20 / 300 x 10^6 = 66 667 ppm; the incoming lot (50 / 1000) is not the line's"),
    ("dppm", "W1", 56 / 660 * 1e6, "(20 + 36) / (300 + 360) x 10^6 = 84 848 ppm"),
    ("first_pass_yield", "L1", 92.0, "276 / 300 = 92 %, below the quality ratio 280 / 300 of the same shift"),
    ("first_pass_yield", "W1", 100 * 600 / 660, "(276 + 324) / (300 + 360) = 90.909 %"),
    # capability: the least capable characteristic of the line
    ("cpk", "L1", 0.8 / (3 * S_D), "D: min(11 - 10.2, 10.2 - 9) / 3s = 0.8 / 0.49827 = 1.6055 < E: 0.5 / 3s_E = 1.6387"),
    ("cp", "L1", 1 / (6 * S_E), "E: (1 - 0) / 6s_E = 1.6387 < D: (11 - 9) / 6s_D = 2.0069"),
    ("cpk", "L2", 0.7 / (3 * S_R), "R: (1.6 - 0.9) / 3s = 2.2941; D has only 20 values and is left out"),
])
def test_library_value(con, kpi_id, unit, expected, arithmetic):
    value, _num, _den, status = kpi(con, kpi_id, unit)
    assert status == "ok", arithmetic
    assert value == pytest.approx(expected, **APPROX), arithmetic


def test_mttr_roll_up_is_not_the_mean_of_equipment_values(con):
    e1, e2, line = (kpi(con, "mttr", u)[0] for u in ("E1", "E2", "L1"))
    assert (e1, e2) == (pytest.approx(26.0), pytest.approx(15.0))
    assert line == pytest.approx(190 / 9)  # 21.111: five 26-min repairs weigh more than four 15-min ones
    assert (e1 + e2) / 2 == pytest.approx(20.5) and line != pytest.approx(20.5)
    assert kpi(con, "mttr", "L1")[1:3] == (pytest.approx(190.0), pytest.approx(9.0))  # Σ minutes, Σ failures


@pytest.mark.parametrize("kpi_id, unit, status, why", [
    ("mtbf", "E2", "insufficient", "4 failures: MTBF is shown only from 5"),
    ("mttf", "E2", "insufficient", "same rule for MTTF"),
    ("mtbf", "E3", "insufficient", "ran 6 h without a failure: too few failures, not an infinite MTBF"),
    ("mtbf", "E4", "no_data", "its line books no maintenance: unknown, not failure-free"),
    ("mtbf", "L2", "no_data", "nothing below it has data"),
    ("mttr", "E3", "no_data", "no failure, no restoration to average: never 0"),
    ("cp", "L2", "not_applicable", "R has only an upper limit; D has too few values"),
    ("cpk", "W1", "not_applicable", "characteristics are never pooled above the line"),
    ("cpk", "ENT", "not_applicable", "same"),
])
def test_statuses_instead_of_numbers(con, kpi_id, unit, status, why):
    value, _num, _den, got = kpi(con, kpi_id, unit)
    assert (value, got) == (None, status), why


def test_mtbf_keeps_its_sums_when_insufficient(con):
    assert kpi(con, "mtbf", "E2")[1:] == (pytest.approx(6.0), pytest.approx(4.0), "insufficient")


def test_units_without_events_have_no_snapshot_value(con):
    for kpi_id in ("corrective_maintenance_ratio", "pm_compliance", "mttf"):
        assert kpi(con, kpi_id, "E3") is None, kpi_id  # shown as no data, never 0
    assert kpi(con, "on_time_delivery", "W1") is None  # below the plant: not applicable, never allocated


def test_capability_names_the_characteristic_and_its_sample(con):
    rows = {(r[0], r[1]): r[2:] for r in con.execute(
        "SELECT kpi_id, unit_id, variant, denominator, n_units, n_complete FROM kpi_value "
        "WHERE kpi_id IN ('cp', 'cpk') AND grain = 'month'").fetchall()}
    assert rows[("cpk", "L1")] == ("characteristic=D [9.0, 11.0]", 30.0, 2, 2)
    assert rows[("cp", "L1")] == ("characteristic=E [0.0, 1.0]", 30.0, 2, 2)
    assert rows[("cpk", "L2")] == ("characteristic=R [, 1.6]", 30.0, 2, 1)  # D: 20 values, not enough


def test_a_maintenance_event_booked_on_a_line_is_quarantined(tmp_path):
    toml = _copy(tmp_path / "golden_library")
    folder = toml.parent
    text = toml.read_text(encoding="utf-8")
    for stream in ("maintenance_event", "purchase_order", "measurement"):  # several bad rows in a tiny file
        text = text.replace(f'path = "{stream}.csv"', f'path = "{stream}.csv"\nmax_reject_share = 0.9')
    toml.write_text(text, encoding="utf-8")
    with open(folder / "maintenance_event.csv", "a") as f:
        f.write("CM10,L1,corrective,B01,2025-01-06 15:00:00,2025-01-06 16:00:00,\n"
                "CM11,E1,corrective,B01,2025-01-06 17:00:00,,\n"
                "PM4,E2,preventive,,,,\n")
    with open(folder / "purchase_order.csv", "a") as f:
        f.write("PO4,1,SUP-B,RM1,P1,2025-01-15,2025-01-15,100,100,101\n")
    with open(folder / "measurement.csv", "a") as f:
        f.write("M999,L1,A,D,2025-01-06 11:00:00,10.1,11,9\n")
    writer = _writer(toml)
    try:
        writer.load()
        reasons = {r[0]: r[1] for r in writer.con.execute(
            "SELECT json_extract_string(raw_record, '$.event_id') AS id, reason FROM quarantine "
            "WHERE stream = 'maintenance_event'").fetchall()}
        assert "unit_id must be an equipment" in reasons["CM10"]
        assert "start_at and end_at come together" in reasons["CM11"]
        assert "a preventive event needs planned_on" in reasons["PM4"]
        other = {r[0]: r[1] for r in writer.con.execute(
            "SELECT stream, reason FROM quarantine WHERE stream IN ('purchase_order', 'measurement')").fetchall()}
        assert "accepted_qty exceeds received_qty" in other["purchase_order"]
        assert "lsl must be below usl" in other["measurement"]
    finally:
        writer.close()


def test_capability_windows_without_samples_take_one_month_only(con):
    monthly = con.execute("SELECT kpi_id, unit_id, period_start, value, numerator, denominator, status, n_units, "
                          "n_complete FROM kpi_value WHERE grain = 'month'").df()
    january = window_values(monthly, Window(date(2025, 1, 1), date(2025, 1, 31))).set_index(["kpi_id", "unit_id"])
    assert january.loc[("cpk", "L1"), "value"] == pytest.approx(0.8 / (3 * S_D))
    assert january.loc[("cpk", "L1"), "denominator"] == 30
    assert january.loc[("mtbf", "E2"), "status"] == "insufficient"  # the window keeps the >= 5 failures rule
    assert january.loc[("mtbf", "L1"), "value"] == pytest.approx(2.0)
    quarter = window_values(monthly, Window(date(2024, 11, 1), date(2025, 1, 31))).set_index(["kpi_id", "unit_id"])
    assert quarter.loc[("cpk", "L1"), "status"] == "not_applicable"  # without samples: never a mean of monthly Cpk
    assert pd.isna(quarter.loc[("cpk", "L1"), "value"])
    assert quarter.loc[("mttr", "L1"), "value"] == pytest.approx(190 / 9)  # ratios still add up over months


def test_capability_over_months_pools_the_samples(tmp_path):
    """February adds L2 D 10 x 9.6 and 10 x 9.8 to January's 10 x 9.9 and 10 x 10.1: neither month has the 30
    values a Cpk needs, the two together have 40. Pooled D: mean 9.85, Σ(x - x̄)² = 10 x (0.05² + 0.25² + 0.25²
    + 0.05²) = 1.3, s = sqrt(1.3 / 39) = 0.18257; Cpk = min(11 - 9.85, 9.85 - 9) / 3s = 0.85 / 0.54772 = 1.5519,
    below R's 2.2941 (January, mean 0.9, USL 1.6): the line's Cpk over January-February is D's. Cp: R has no
    lower limit, so D's (11 - 9) / 6s = 1.8257 (January alone: not applicable, D too few values)."""
    toml = _copy(tmp_path / "plant")
    with open(toml.parent / "measurement.csv", "a", encoding="utf-8") as f:
        for i in range(20):
            f.write(f"F{i:03d},L2,B,D,2025-02-03 {9 + i // 10}:{i % 10 * 5:02d}:00,{9.6 if i < 10 else 9.8},9,11\n")
    writer = _writer(toml)
    try:
        writer.load()
        writer.compute()
        con = writer.con
        monthly = con.execute("SELECT kpi_id, unit_id, period_start, value, numerator, denominator, status, n_units, "
                              "n_complete FROM kpi_value WHERE grain = 'month'").df()
        samples = con.execute("SELECT * FROM capability_sample").df()
        both = window_values(monthly, Window(date(2025, 1, 1), date(2025, 2, 28)), samples).set_index(
            ["kpi_id", "unit_id"])
        s = math.sqrt(1.3 / 39)
        assert both.loc[("cpk", "L2"), "value"] == pytest.approx(0.85 / (3 * s), **APPROX)
        assert both.loc[("cpk", "L2"), "denominator"] == 40
        assert both.loc[("cp", "L2"), "value"] == pytest.approx(2 / (6 * s), **APPROX)
        assert both.loc[("cpk", "L1"), "value"] == pytest.approx(0.8 / (3 * S_D), **APPROX)  # January's only
        assert both.loc[("cpk", "W1"), "status"] == "not_applicable"  # never pooled above the line
        february = window_values(monthly, Window(date(2025, 2, 1), date(2025, 2, 28)), samples).set_index(
            ["kpi_id", "unit_id"])
        assert february.loc[("cpk", "L2"), "status"] == "insufficient"  # 20 values
        # an incremental compute from February keeps January's samples and replaces February's
        engine.compute(con, since=date(2025, 2, 3))
        again = con.execute("SELECT * FROM capability_sample ORDER BY ALL").fetchall()
        engine.compute(con)
        assert again == con.execute("SELECT * FROM capability_sample ORDER BY ALL").fetchall()
    finally:
        writer.close()


def test_incremental_recompute_keeps_capability_equal_to_full(library):
    writer = library[0]
    snapshot = ("SELECT * EXCLUDE (computed_at, value, numerator, denominator), round(value, 9), "
                "round(numerator, 9), round(denominator, 9) FROM kpi_value ORDER BY ALL")
    engine.compute(writer.con, since=date(2025, 1, 20))
    incremental = writer.con.execute(snapshot).fetchall()
    engine.compute(writer.con)
    assert incremental == writer.con.execute(snapshot).fetchall()


def test_scenarios_of_the_new_kpis_are_computed_or_say_what_is_missing():
    status = {k: "ok" for k in all_kpis()}
    tables = {"equipment_state", "maintenance_event", "sales_order", "purchase_order", "quality_inspection",
              "first_pass_test", "measurement", "production_record", "complaint"}
    by_id = {e["id"]: e for e in scenarios(status, tables)}
    for entry in ("CQ-5.2.8", "CQ-5.3.2", "CQ-5.5.2", "CQ-5.2.2", "MIIT-23", "MIIT-45"):
        assert by_id[entry]["status"] == "computed", entry
    maintenance = {"mtbf", "mttf", "mttr", "corrective_maintenance_ratio", "pm_compliance"}
    status = {k: v for k, v in status.items() if k not in maintenance}
    without = {e["id"]: e for e in scenarios(status, tables - {"maintenance_event"})}
    mtbf = without["CQ-5.2.8"]["indicators"][0]
    assert mtbf["status"] == "needs" and "MES maintenance_event(end_at, kind, start_at)" in mtbf["needs"]


def test_a_capability_kpi_needs_a_sample_element():
    element(Element("plain_count_for_test", "个", "test only", "SELECT 'x' AS unit_id, DATE '2025-01-01' AS day, "
                    "1.0 AS value", "line"))
    try:
        with pytest.raises(ValueError, match="sample element"):
            register_kpi(Kpi("cpk_without_sample", "x", "x", "×", "higher", "capability", "line", "s", "f", "d",
                             denominator={"plain_count_for_test": 1}, capability="cpk", scenarios=("CQ-5.2.2",)))
        with pytest.raises(AssertionError):
            Kpi("cpk_bad", "x", "x", "×", "higher", "capability", "line", "s", "f", "d",
                denominator={"measured_n": 1}, capability="cmk")
    finally:
        from kpis.registry import ELEMENTS

        ELEMENTS.pop("plain_count_for_test", None)


# --- operations KPIs (tests/fixtures/golden_ops) ----------------------------------------------------------
# Two plants, January 2025 unless said otherwise:
#   ENT > P1 > W1 > L1 > E1 and ENT > P2 > W2 > L2 > E2. GQ: L1 280 of A (200 元), L2 324 of B (100 元).
#   Electricity: ML1 (L1) 10 000 kWh, ML2 (L2) 20 000 kWh, at 0.1229 kgce/kWh.
#   Natural gas: GW1 (no meter value) 100 m3 with a measured 35 169.12 kJ/m3 (= 1.2 x 29 307.6) and 100 m3
#     without (default 1.33); GW2 (meter value 36 634.5 = 1.25 x 29 307.6) 200 m3 without a reading value and
#     100 m3 with a measured 32 238.36 (= 1.1 x 29 307.6), which wins over the meter's.
#   Cycle counts: P1 100/100 exact, 196/200 within 2 % (|4| x 100 <= 2 x 200), 49/50 without tolerance (off),
#     5 found where the book says 0 (5 % of 0 is 0: off); P2 80/80, 10/10.
#   Picks: P1 5 lines, 1 wrong item; P2 3 lines, none wrong.
#   Receipts: P1 4 h and 20 h (one more still at the dock); P2 2 h.
#   Sales lines delivered: P1 4, P2 2 (and one in Nov 2024). Complaints: P1 3 received, 1 rejected as unfounded;
#     P2 one in Dec 2024 (so its complaint data starts in December) and none in January.
#   Forecast (January, vs delivered in January): P1 A 250 vs 100 + 200, B 200 vs 45 + 80 (the open line is not
#     sales yet; SO4, ordered in December, ships in January); P2 A 100 vs nothing, B 60 vs 40 + 40.
#   Maintenance cost: P1 3000 + 2600 + 1000 - 600 (a returned part) = 6000 元; P2 1620 元.
#   Green electricity: P1 1500 kWh PV + 1 certificate (1000 kWh); P2 3000 kWh green contract.
OPS = Path(__file__).parent / "fixtures" / "golden_ops"
KGCE_W1 = 10000 * 0.1229 + 100 * 1.2 + 100 * 1.33  # 1229 + 120 + 133 = 1482
KGCE_W2 = 20000 * 0.1229 + 200 * 1.25 + 100 * 1.1  # 2458 + 250 + 110 = 2818


def _ops_copy(folder: Path) -> Path:
    return copy_plant(OPS, folder)


@pytest.fixture(scope="module")
def ops(tmp_path_factory):
    writer, results = load_plant(OPS, tmp_path_factory.mktemp("ops"))
    yield writer, results
    writer.close()


def test_every_operations_stream_loads_without_rejects(ops):
    for r in ops[1]:
        assert r.status == "ok" and r.rows_quarantined == 0, (r.connector, r.error)
    loaded = {r.stream for r in ops[1] if r.rows_loaded}
    assert {"cycle_count", "pick_task", "goods_receipt", "complaint", "demand_forecast", "maintenance_cost",
            "green_electricity"} <= loaded


@pytest.mark.parametrize("kpi_id, unit, expected, arithmetic", [
    ("inventory_record_accuracy", "P1", 50.0, "2 of 4 lines: exact, and 4 off 200 within 2 %; 1 off 50 and 5 off 0 not"),
    ("inventory_record_accuracy", "P2", 100.0, "2 of 2"),
    ("inventory_record_accuracy", "ENT", 100 * 4 / 6, "(2 + 2) / (4 + 2) = 66.667 %; the mean of plants (75 %) is wrong"),
    ("picking_accuracy", "P1", 80.0, "4 of 5 lines without an error"),
    ("picking_accuracy", "ENT", 100 * 7 / 8, "(4 + 3) / (5 + 3) = 87.5 %; mean of 80 and 100 is wrong"),
    ("dock_to_stock_time", "P1", 12.0, "(4 + 20) h / 2 lines put away; the line still at the dock waits"),
    ("dock_to_stock_time", "ENT", 26 / 3, "(24 + 2) h / 3 = 8.667 h; the mean of 12 and 2 (7 h) is wrong"),
    ("complaint_rate", "P1", 50.0, "2 complaints (the rejected one left out) / 4 lines delivered x 100"),
    ("complaint_rate", "P2", 0.0, "no complaint in January, complaint data since December: a real 0 %"),
    ("complaint_rate", "ENT", 100 * 2 / 6, "(2 + 0) / (4 + 2) x 100 = 33.333 %"),
    ("forecast_accuracy", "P1", 100 * (1 - 125 / 425), "1 - (|250 - 300| + |200 - 125|) / (300 + 125) = 70.588 %"),
    ("forecast_accuracy", "P2", 100 * (1 - 120 / 80), "1 - (|100 - 0| + |60 - 80|) / 80 = -50 %: errors exceed sales"),
    ("forecast_accuracy", "ENT", 100 * (1 - 245 / 505), "1 - (125 + 120) / (425 + 80) = 51.485 %; plant mean 10.3 % wrong"),
    ("maintenance_cost_share", "P1", 100 * 6000 / 56000, "6000 / 56 000 元 = 10.714 %"),
    ("maintenance_cost_share", "ENT", 100 * 7620 / 88400, "(6000 + 1620) / (56 000 + 32 400) = 8.620 %"),
    ("green_power_share", "P1", 25.0, "(1500 + 1000) / 10 000 kWh"),
    ("green_power_share", "P2", 15.0, "3000 / 20 000 kWh"),
    ("green_power_share", "ENT", 100 * 5500 / 30000, "5500 / 30 000 = 18.333 %; the mean of plants (20 %) is wrong"),
    # natural gas by calorific value: reading's value, else the meter's, else 1.33 kgce/m3
    ("energy_tce", "W1", KGCE_W1 / 1000, "(1229 + 100 x 1.2 + 100 x 1.33) / 1000 = 1.482 tce"),
    ("energy_tce", "W2", KGCE_W2 / 1000, "(2458 + 200 x 1.25 (meter) + 100 x 1.1 (reading wins)) / 1000 = 2.818 tce"),
    ("energy_per_unit", "W1", KGCE_W1 / 280, "1482 kgce / 280 = 5.2929 kgce/件"),
    ("energy_per_unit", "ENT", (KGCE_W1 + KGCE_W2) / 604, "(1482 + 2818) / (280 + 324) = 7.1192 kgce/件"),
    ("energy_per_output_value", "P2", KGCE_W2 / 1000 / 3.24, "2.818 tce / 3.24 万元 = 0.86975 tce/万元"),
    # Scope 1 of gas by calorific value: 15.3 tC/TJ x 0.99 x 44/12 = 55.539 kgCO2/GJ = 5.5539e-5 kg/kJ
    ("co2_scope1_t", "W1", (100 * 35169.12 * 5.5539e-5 + 100 * 2.1622) / 1000,
     "(3 516 912 kJ x 5.5539e-5 = 195.32 kg) + (100 m3 without a value x 2.1622 = 216.22 kg) = 0.41154 t"),
    ("co2_scope1_t", "W2", (200 * 36634.5 + 100 * 32238.36) * 5.5539e-5 / 1000,
     "(200 m3 x 36 634.5 (meter) + 100 m3 x 32 238.36 (reading)) kJ x 5.5539e-5 = 585.98 kg = 0.58598 t"),
])
def test_operations_value(ops, kpi_id, unit, expected, arithmetic):
    value, _num, _den, status = kpi(ops[0].con, kpi_id, unit)
    assert status == "ok", arithmetic
    assert value == pytest.approx(expected, **APPROX), arithmetic


@pytest.mark.parametrize("kpi_id, unit, period, status, why", [
    ("complaint_rate", "P2", "2024-11-01", "no_data", "a delivery before P2's complaint data starts: unknown, not 0 %"),
    ("forecast_accuracy", "P2", "2024-11-01", None, "P2 delivered in November but has no forecast for it: no snapshot"),
    ("inventory_record_accuracy", "W1", "2025-01-01", None, "warehouses belong to plants: not below plant level"),
    ("green_power_share", "W1", "2025-01-01", None, "certificates are bought per plant: not below plant level"),
])
def test_operations_statuses(ops, kpi_id, unit, period, status, why):
    row = kpi(ops[0].con, kpi_id, unit, "month", period)
    assert (row[3] if row else None) == status, why
    if row:
        assert row[0] is None, why


def test_energy_variant_is_still_recorded_with_calorific_values(ops):
    variants = ops[0].con.execute("SELECT DISTINCT kpi_id, variant FROM kpi_value WHERE kpi_id IN "
                                  "('energy_tce', 'energy_per_unit', 'energy_per_output_value')").fetchall()
    assert sorted(variants) == [(k, "electricity=equivalent;natural_gas=measured_ncv_else_table") for k in
                                ("energy_per_output_value", "energy_per_unit", "energy_tce")]
    engine.compute(ops[0].con, energy_variant="equal_value")
    try:
        assert kpi(ops[0].con, "energy_tce", "W1")[0] == pytest.approx((10000 * 0.3007 + 120 + 133) / 1000, **APPROX)
        assert ops[0].con.execute("SELECT DISTINCT variant FROM kpi_value WHERE kpi_id = 'energy_tce'").fetchall() == [
            ("electricity=equal_value;natural_gas=measured_ncv_else_table",)]
    finally:
        engine.compute(ops[0].con)


def test_calorific_value_row_reaches_an_existing_store_and_edits_stay(ops):
    from kpis.reference import NCV_VARIANT, seed_reference_tables

    con = ops[0].con
    con.execute("UPDATE energy_coefficient SET kgce_per_unit = 1.2143 WHERE medium = 'natural_gas' AND variant = 'default'")
    con.execute("DELETE FROM energy_coefficient WHERE variant = ?", [NCV_VARIANT])  # a store seeded before the row
    try:
        seed_reference_tables(con)
        rows = dict(con.execute("SELECT variant, kgce_per_unit FROM energy_coefficient WHERE medium = 'natural_gas'")
                    .fetchall())
        assert rows == {"default": 1.2143, "gas_field": 1.2143, NCV_VARIANT: pytest.approx(1 / 29307.6, rel=1e-12)}
    finally:
        con.execute("UPDATE energy_coefficient SET kgce_per_unit = 1.33 WHERE medium = 'natural_gas' "
                    "AND variant = 'default'")


def test_bad_calorific_values_and_operations_rows_are_quarantined(tmp_path):
    toml = _ops_copy(tmp_path / "golden_ops")
    folder = toml.parent
    text = toml.read_text(encoding="utf-8")
    for stream in ("meter", "energy_reading", "goods_receipt", "complaint"):
        text = text.replace(f'path = "{stream}.csv"', f'path = "{stream}.csv"\nmax_reject_share = 0.9')
    toml.write_text(text, encoding="utf-8")
    with open(folder / "meter.csv", "a") as f:
        f.write("ML9,L1,electricity,kWh,错配热值电表,35000\n")
    with open(folder / "energy_reading.csv", "a") as f:
        f.write("GW1,2025-01-08 08:00:00,86400,100,35.2\n")  # MJ/m3 given as kJ/m3
    with open(folder / "goods_receipt.csv", "a") as f:
        f.write("G9,WH1,P1,PO9,1,I1,2025-01-09 10:00:00,2025-01-09 09:00:00,10\n")
    with open(folder / "complaint.csv", "a") as f:
        f.write("K9,W1,C1,A,SO1,1,2025-01-21,quality,closed,1\n")
    writer = _writer(toml)
    try:
        writer.load()
        reasons = dict(writer.con.execute("SELECT stream, reason FROM quarantine").fetchall())
        assert "ncv_kj_m3 is for natural gas meters only" in reasons["meter"]
        assert "ncv_kj_m3 outside 20 000-50 000 kJ/m³" in reasons["energy_reading"]
        assert "stocked_at is before docked_at" in reasons["goods_receipt"]
        assert "unit_id must be a plant" in reasons["complaint"]
    finally:
        writer.close()


def test_scenarios_of_the_operations_kpis_are_computed_or_say_what_is_missing():
    status = {k: "ok" for k in all_kpis()}
    tables = {"cycle_count", "pick_task", "goods_receipt", "complaint", "sales_order", "demand_forecast",
              "maintenance_cost", "output_value", "green_electricity", "energy_reading", "meter",
              "equipment_state", "maintenance_event"}
    by_id = {e["id"]: e for e in scenarios(status, tables)}
    for entry in ("CQ-5.3.5", "MIIT-16", "CQ-5.4.1", "CQ-5.4.2", "MIIT-41", "MIIT-26", "MIIT-25"):
        assert by_id[entry]["status"] == "computed", entry
    without = {e["id"]: e for e in scenarios({k: v for k, v in status.items() if k != "picking_accuracy"},
                                             tables - {"pick_task"})}
    picking = without["CQ-5.3.5"]["indicators"][1]
    assert without["CQ-5.3.5"]["status"] == "partial"
    assert picking["status"] == "needs" and "WMS pick_task(error_code, picked_at)" in picking["needs"]


def test_a_forecast_for_a_later_month_is_data_as_of_the_load_not_of_that_month(tmp_path):
    toml = _ops_copy(tmp_path / "golden_ops")
    forecast = toml.parent / "demand_forecast.csv"
    forecast.write_text(forecast.read_text(encoding="utf-8") + "P1,A,2025-03-01,260,2025-02-05\n", encoding="utf-8")
    writer = _writer(toml)
    try:
        runs = {r.stream: r for r in writer.load()}
        assert runs["demand_forecast"].status == "ok", runs["demand_forecast"].error
        assert runs["demand_forecast"].data_as_of == NOW  # not 2025-03-01, which would read as the future
        assert runs["sales_order"].data_as_of < NOW
    finally:
        writer.close()
