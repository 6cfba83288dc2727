"""Hand-computed KPI values on the golden plant (tests/fixtures/golden).

The plant: ENT > P1 > W1 > lines L1, L2 (> equipment E1 under L1); production day 2025-01-06.
  L1: POT 28800 s, planned stop 3600 s -> PBT 25200; running 21600 (APT); breakdown 3600.
      product A (ideal 60 s): PQ 300, GQ 280, SQ 15, RQ 5; labour 24 h.
  L2: POT 14400 s, no planned stop -> PBT 14400; running 10800; setup 3600.
      product B (ideal 30 s): PQ 360, GQ 324, SQ 36, RQ 0; labour 12 h.
Planned time and cycle times differ between the lines on purpose: averaging line ratios gives a
different (wrong) answer for every roll-up checked below.
"""

from __future__ import annotations

import math
import shutil

import pytest

from cockpit import config
from cockpit.writer import Writer
from tests.conftest import FIXTURES, NOW, copy_plant, kpi, load_plant

APPROX = {"rel": 1e-9}


@pytest.fixture
def con(golden_loaded):
    return golden_loaded.con


@pytest.mark.parametrize("kpi_id, unit, expected, arithmetic", [
    # availability = APT / PBT
    ("availability", "L1", 100 * 21600 / 25200, "21600 / (28800 - 3600) = 85.714 %"),
    ("availability", "L2", 100 * 10800 / 14400, "10800 / 14400 = 75 %"),
    ("availability", "W1", 100 * 32400 / 39600, "(21600 + 10800) / (25200 + 14400) = 81.818 %; mean of lines 80.357 % is wrong"),
    # effectiveness = PRU x PQ / APT
    ("effectiveness", "L1", 100 * 18000 / 21600, "60 s x 300 / 21600 s = 83.333 %"),
    ("effectiveness", "L2", 100.0, "30 s x 360 / 10800 s = 100 %"),
    ("effectiveness", "W1", 100 * 28800 / 32400, "(18000 + 10800) / 32400 = 88.889 %"),
    # quality ratio = GQ / PQ
    ("quality_ratio", "W1", 100 * 604 / 660, "(280 + 324) / (300 + 360) = 91.515 %"),
    # OEE = A x E x Q of the summed elements: 9/11 x 8/9 x 151/165 = 1208/1815
    ("oee", "L1", 100 * (21600 / 25200) * (18000 / 21600) * (280 / 300), "0.857143 x 0.833333 x 0.933333 = 66.667 %"),
    ("oee", "L2", 100 * 0.75 * 1.0 * 0.9, "0.75 x 1 x 0.9 = 67.5 %"),
    ("oee", "W1", 100 * 1208 / 1815, "9/11 x 8/9 x 151/165 = 66.556 %; mean of line OEEs 67.083 % is wrong"),
    ("oee", "ENT", 100 * 1208 / 1815, "same elements as W1"),
    # defect rate = (PQ - GQ) / PQ
    ("defect_rate", "L1", 100 * 20 / 300, "(300 - 280) / 300 = 6.667 %"),
    ("defect_rate", "W1", 100 * 56 / 660, "(660 - 604) / 660 = 8.485 %; mean of lines 8.333 % is wrong"),
    ("scrap_ratio", "W1", 100 * 51 / 660, "(15 + 36) / 660 = 7.727 %"),
    # labour productivity = sum(ideal cycle x GQ) / 3600 / labour hours
    ("labour_productivity", "L1", (60 * 280 / 3600) / 24, "4.6667 h / 24 h = 0.19444"),
    ("labour_productivity", "W1", (60 * 280 + 30 * 324) / 3600 / 36, "(16800 + 9720) / 3600 / 36 = 0.20463"),
    # energy: 1500 kWh x 0.1229 + 100 m3 x 1.33 = 317.35 kgce, over GQ 604
    ("energy_per_unit", "W1", 317.35 / 604, "(1500 x 0.1229 + 100 x 1.33) / 604 = 0.52541 kgce/件"),
    ("energy_tce", "P1", 0.31735, "317.35 kgce / 1000"),
    ("energy_per_output_value", "P1", 0.31735 / 8.84, "0.31735 tce / 8.84 万元"),
    # operating cost: cost of sales + selling + admin + R&D (finance costs excluded) / GQ
    ("unit_operating_cost", "P1", 60000 / 604, "(50000 + 5000 + 4000 + 1000) / 604 = 99.338 元/件"),
    # output value per person-month: (280 x 200 + 324 x 100) / 10000 / 20
    ("output_value_per_head", "P1", 8.84 / 20, "88400 元 = 8.84 万元 / 20 person-months = 0.442"),
    # schedule attainment = Σ min(GQ, plan) per line and shift / Σ plan; both lines are under plan here
    ("plan_attainment", "W1", 100 * 604 / 800, "(min(280, 400) + min(324, 400)) / (400 + 400) = 75.5 %"),
    # AOET: order O1 on L1 09:00-15:00 = 21600 s, O2 on L2 08:00-11:00 = 10800 s
    ("throughput_rate", "L1", 300 / 6, "300 produced / 6 h = 50 件/h"),
    ("throughput_rate", "W1", 660 / 9, "(300 + 360) / (6 + 3) h = 73.33 件/h; mean of lines (50 + 120) / 2 = 85 is wrong"),
    ("production_process_ratio", "W1", 100 * 32400 / 32400, "(21600 + 10800) APT / (21600 + 10800) AOET"),
    ("allocation_ratio", "L1", 100 * 25200 / 21600, "AUBT (21600 run + 3600 breakdown) / 21600 AOET = 116.7 %"),
    # carbon, national series: 2025 readings use the latest published year (2023, 0.5306 kgCO2/kWh)
    ("co2_scope2_t", "W1", 1500 * 0.5306 / 1000, "1500 kWh x 0.5306 / 1000 = 0.7959 t"),
    ("co2_scope1_t", "W1", 100 * 2.1622 / 1000, "100 m3 natural gas x 2.1622 / 1000 = 0.21622 t"),
    ("carbon_per_output_value", "P1", (0.7959 + 0.21622) / 8.84, "(0.7959 + 0.21622) t / 8.84 万元 = 0.11450"),
    # allocation efficiency = AUBT / PBT, AUBT = APT + AUST + ADET: every unplanned second is allocated here
    # (golden_plan below has idle time, which AUBT leaves out)
    ("allocation_efficiency", "L1", 100.0, "(21600 run + 0 setup + 3600 breakdown) / 25200 = 100 %; / POT 87.5 % is wrong"),
    ("allocation_efficiency", "L2", 100.0, "(10800 + 3600 setup + 0) / 14400 = 100 %; without AUST 75 %"),
    ("allocation_efficiency", "W1", 100.0, "(25200 + 14400) / (25200 + 14400) = 100 %"),
    # utilization efficiency = APT / AUBT
    ("utilization_efficiency", "L1", 100 * 21600 / 25200, "21600 / (21600 + 0 + 3600) = 85.714 %"),
    ("utilization_efficiency", "L2", 75.0, "10800 / (10800 + 3600 + 0) = 75 %"),
    ("utilization_efficiency", "W1", 100 * 32400 / 39600, "(21600 + 10800) / (25200 + 14400) = 81.818 %; mean 80.357 % wrong"),
    # setup availability (NEE's first factor) = AUPT / PBT, AUPT = APT + AUST
    ("setup_availability", "L1", 100 * 21600 / 25200, "(21600 + 0) / 25200 = 85.714 %: no setup, equals availability"),
    ("setup_availability", "L2", 100.0, "(10800 + 3600) / 14400 = 100 %; availability 75 %"),
    ("setup_availability", "W1", 100 * 36000 / 39600, "(21600 + 14400) / (25200 + 14400) = 90.909 %"),
    # NEE = AUPT / PBT x effectiveness x quality ratio, each factor from summed elements: 10/11 x 8/9 x 151/165
    ("nee", "L1", 100 * (21600 / 25200) * (18000 / 21600) * (280 / 300), "6/7 x 5/6 x 14/15 = 66.667 % = OEE (no setup)"),
    ("nee", "L2", 100 * 1.0 * 1.0 * 0.9, "1 x (30 x 360 / 10800 = 1) x 324/360 = 90 %; OEE 67.5 %"),
    ("nee", "W1", 100 * 12080 / 16335, "10/11 x 8/9 x 151/165 = 12080/16335 = 73.952 %; mean of lines 78.333 % wrong"),
    # setup ratio = AUST / AUPT
    ("setup_ratio", "L1", 0.0, "0 / (0 + 21600) = 0 %: a real 0, the MES reported the line's states"),
    ("setup_ratio", "L2", 25.0, "3600 / (3600 + 10800) = 25 %"),
    ("setup_ratio", "W1", 10.0, "(0 + 3600) / (21600 + 14400) = 10 %; mean of lines 12.5 % is wrong"),
    # technical efficiency = APT / (APT + ADET)
    ("technical_efficiency", "L1", 100 * 21600 / 25200, "21600 / (21600 + 3600) = 85.714 %"),
    ("technical_efficiency", "L2", 100.0, "10800 / (10800 + 0) = 100 %: setup is not a delay"),
    ("technical_efficiency", "W1", 90.0, "32400 / (25200 + 10800) = 90 %; mean of lines 92.857 % is wrong"),
    # rework ratio = RQ / PQ
    ("rework_ratio", "L1", 100 * 5 / 300, "5 / 300 = 1.667 %"),
    ("rework_ratio", "L2", 0.0, "0 / 360 = 0 %"),
    ("rework_ratio", "W1", 100 * 5 / 660, "(5 + 0) / (300 + 360) = 0.758 %; mean of lines 0.833 % is wrong"),
    # sums
    ("good_output", "L1", 280.0, "Σ GQ = 280"),
    ("good_output", "W1", 604.0, "280 + 324 = 604"),
    ("planned_output", "L2", 400.0, "Σ planned quantity = 400"),
    ("planned_output", "W1", 800.0, "400 + 400 = 800"),
])
def test_golden_value(con, kpi_id, unit, expected, arithmetic):
    value, _num, _den, status = kpi(con, kpi_id, unit)
    assert status == "ok", arithmetic
    assert value == pytest.approx(expected, **APPROX), arithmetic


def test_day_grain_equals_month_grain_for_a_one_day_month(con):
    assert kpi(con, "oee", "W1", "day", "2025-01-06")[0] == pytest.approx(kpi(con, "oee", "W1")[0])


@pytest.mark.parametrize("kpi_id, unit", [
    ("oee", "E1"),  # equipment is below OEE's lowest level (line): 不适用, never allocated
    ("energy_per_unit", "L1"),  # auxiliary workshop meters cannot be split onto lines
    ("unit_operating_cost", "W1"),  # cost is booked per plant
    ("output_value_per_head", "W1"),
])
def test_no_value_below_lowest_level(con, kpi_id, unit):
    assert kpi(con, kpi_id, unit) is None


def test_missing_numerator_data_is_no_data_not_zero(golden_writer):
    (golden_writer.settings.path.parent / "energy_reading.csv").write_text("meter_id,start_at,interval_s,quantity\n")
    golden_writer.load()
    golden_writer.compute()
    value, numerator, denominator, status = kpi(golden_writer.con, "energy_per_unit", "W1")
    assert (value, numerator, denominator, status) == (None, None, None, "no_data")  # stated, never 0
    assert kpi(golden_writer.con, "energy_tce", "W1") is None


def test_zero_planned_time_is_not_planned(golden_writer):
    path = golden_writer.settings.path.parent / "planned_time.csv"
    path.write_text(path.read_text().replace("14400", "0"))
    state = golden_writer.settings.path.parent / "equipment_state.csv"
    state.write_text("\n".join(line for line in state.read_text().splitlines() if not line.startswith("L2")) + "\n")
    golden_writer.load()
    golden_writer.compute()
    value, _n, _d, status = kpi(golden_writer.con, "availability", "L2")
    assert (value, status) == (None, "not_planned")
    assert kpi(golden_writer.con, "oee", "L2")[3] == "not_planned"


def test_energy_and_carbon_variants_are_recorded(con):
    def variant(kpi_id):
        return con.execute("SELECT DISTINCT variant FROM kpi_value WHERE kpi_id = ?", [kpi_id]).fetchall()

    assert variant("energy_per_unit") == [("electricity=equivalent;natural_gas=measured_ncv_else_table",)]
    assert variant("carbon_per_output_value") == [("natural_gas=measured_ncv_else_table;carbon=national",)]
    assert variant("defect_rate") == [(None,)]


def test_regional_carbon_series(golden_writer):
    from kpis import engine

    golden_writer.load()
    engine.compute(golden_writer.con, carbon_series="regional_southwest")
    assert kpi(golden_writer.con, "co2_scope2_t", "W1")[0] == pytest.approx(1500 * 0.2472 / 1000)  # 西南 2023


def test_a_unit_missing_one_side_is_left_out_of_the_roll_up_and_counted(golden_writer):
    """P2 reports production but no cost: the enterprise unit cost is P1's, flagged as 1 of 2 plants."""
    folder = golden_writer.settings.path.parent
    with open(folder / "org_unit.csv", "a") as f:
        f.write("P2,ENT,plant,二厂,Plant 2,2\nW2,P2,workshop,二车间,Workshop 2,1\nL3,W2,line,三线,Line 3,1\n")
    with open(folder / "production_record.csv", "a") as f:
        f.write("R3,L3,A,O3,2025-01-06 09:00:00,2025-01-06 10:00:00,100,100,0,0\n")
    golden_writer.load()
    golden_writer.compute()
    row = golden_writer.con.execute(
        "SELECT value, numerator, denominator, n_units, n_complete FROM kpi_value WHERE kpi_id = 'unit_operating_cost' "
        "AND unit_id = 'ENT' AND grain = 'month'").fetchall()[0]
    assert row[0] == pytest.approx(60000 / 604)  # not 60000 / 704
    assert row[1:] == (60000, 604, 2, 1)
    # the defect rate has both sides everywhere: (660 - 604 + 0) / (660 + 100)
    assert kpi(golden_writer.con, "defect_rate", "ENT")[0] == pytest.approx(100 * 56 / 760)


def test_incremental_recompute_equals_full(golden_writer):
    """A correction in January recomputed from January on gives the same snapshots as a full recompute."""
    from datetime import date

    from kpis import engine

    w = golden_writer
    w.load()
    engine.compute(w.con)
    with open(w.settings.path.parent / "production_record.csv", "a") as f:
        f.write("R4,L1,B,O4,2025-01-07 09:00:00,2025-01-07 10:00:00,50,45,5,0\n")
    w.load(["production_record"])
    engine.compute(w.con, since=date(2025, 1, 7))
    # parallel float sums may differ in the last bit between runs: compare to 9 decimals
    snapshot = ("SELECT * EXCLUDE (computed_at, value, numerator, denominator), round(value, 9), "
                "round(numerator, 9), round(denominator, 9) FROM kpi_value ORDER BY ALL")
    incremental = w.con.execute(snapshot).fetchall()
    engine.compute(w.con)
    full = w.con.execute(snapshot).fetchall()
    assert incremental == full
    assert kpi(w.con, "good_output", "W1", "day", "2025-01-07")[0] == 45


def test_snapshots_are_unique_per_kpi_unit_grain_period(con):
    dupes = con.execute("SELECT count(*) FROM (SELECT kpi_id, unit_id, grain, period_start FROM kpi_value "
                        "GROUP BY ALL HAVING count(*) > 1)").fetchall()[0][0]
    assert dupes == 0


def test_days_of_inventory_is_a_ratio_of_sums(golden_writer):
    """Two snapshot days of 300 000 and 500 000 元 against cost of sales of 50 000 元 in January:
    average inventory 400 000 / (50 000 / 2 days) = 16 days = (300 000 + 500 000) / 50 000."""
    folder = golden_writer.settings.path.parent
    (folder / "inventory_snapshot.csv").write_text(
        "warehouse_id,unit_id,item_id,snapshot_on,quantity,value_cny\n"
        "WH1,P1,I1,2025-01-06,10,300000\nWH1,P1,I1,2025-01-07,12,500000\n")
    spec = golden_writer.settings.connectors["headcount"]
    golden_writer.settings.connectors["inventory_snapshot"] = type(spec)(**{
        **spec.__dict__, "name": "inventory_snapshot", "system": "wms", "stream": "inventory_snapshot",
        "options": {"path": "inventory_snapshot.csv"}})
    golden_writer.load()
    golden_writer.compute()
    assert kpi(golden_writer.con, "inventory_days", "P1")[0] == pytest.approx(800000 / 50000)


# --- ISO 22400-2 KPIs 1, 14, 18-20, 24-30 on tests/fixtures/golden_iso -------------------------------------
# The golden plant with: L2 planned a full shift (POT 28800 s); order O1 passes L1 (first operation, PQ 300,
# SQ 15) and then L2 (R3: PQ 100, SQ 3); O3 on L1 on 2025-01-07 (PQ 50, SQ 5) on a day whose plan has no
# planned scrap. Labour: L1 24 h booked / 30 h attended, L2 12 / 16, plus an L1 shift of 8 h without
# attendance. Planned scrap: L1 10, L2 30 on 2025-01-06. Measurements: process samples on L1 (D [9, 11]:
# 10 x 10.2, 10 x 10.0, 10 x 10.4), machine study MS1 on E1 (25 x 10.3, 25 x 10.1), MS2 on E2 (30 parts only).
# Material balance (kg): L1 CM 1000 = IGQ 760 (finished 700) + PL 220 + STL 15 + OL 5;
# L2 CM 500 = IGQ 430 (finished 420) + PL 60 + STL 6 + OL 4. Inventory: 300 000 and 500 000 元 on two days.
S_MS1 = math.sqrt(0.5 / 49)  # MS1: mean 10.2, Σ(x - x̄)² = 50 x 0.1² = 0.5, n - 1 = 49
S_D = math.sqrt(0.8 / 29)  # L1 process samples: mean 10.2, Σ(x - x̄)² = 0.8, n - 1 = 29


def _loaded_fixture(folder: str):
    """A module-scoped fixture: the fixture plant `folder` loaded and computed, (writer, load results)."""
    @pytest.fixture(scope="module")
    def loaded(tmp_path_factory):
        writer, results = load_plant(FIXTURES / folder, tmp_path_factory.mktemp(folder))
        yield writer, results
        writer.close()
    return loaded


iso = _loaded_fixture("golden_iso")


@pytest.mark.parametrize("plant", ["iso", "plan"])
def test_fixture_plants_load_without_rejects(plant, request):
    for r in request.getfixturevalue(plant)[1]:
        assert r.status == "ok" and r.rows_quarantined == 0, (r.connector, r.error)


@pytest.mark.parametrize("kpi_id, unit, expected, arithmetic", [
    # KPI 1 worker efficiency = APWT / APAT, only shifts that record attendance
    ("worker_efficiency", "L1", 80.0, "24 h / 30 h; the 8 h shift without attendance is on neither side"),
    ("worker_efficiency", "L2", 75.0, "12 / 16"),
    ("worker_efficiency", "W1", 100 * 36 / 46, "(24 + 12) / (30 + 16) = 78.261 %; mean of lines 77.5 % is wrong"),
    # KPI 14 actual to planned scrap = SQ / PSQ, SQ of days whose plan has a PSQ
    ("actual_to_planned_scrap_ratio", "L1", 150.0, "15 / 10; the 5 scrapped on 01-07 (plan without PSQ) left out"),
    ("actual_to_planned_scrap_ratio", "L2", 130.0, "(36 + 3) / 30"),
    ("actual_to_planned_scrap_ratio", "W1", 135.0, "(15 + 39) / (10 + 30) = 135 %; mean of lines 140 % is wrong"),
    # KPI 18 fall-off = SQ at the unit / PQ of the order's first operation
    ("fall_off_ratio", "L1", 100 * 20 / 350, "O1 15 / 300 and O3 5 / 50 (both start on L1): 20 / 350 = 5.714 %"),
    ("fall_off_ratio", "L2", 100 * 39 / 660,
     "O2 36 / 360, O1 3 / 300 (first op L1): 39 / 660 = 5.909 %; L2's scrap ratio 39 / 460 = 8.478 %"),
    ("fall_off_ratio", "W1", 100 * 59 / 1010, "(20 + 39) / (350 + 660) = 5.842 %"),
    # KPIs 19, 20 machine capability from study MS1 (s of the 50 parts)
    ("cm", "E1", 2 / (6 * S_MS1), "(11 - 9) / 6s = 2 / 0.60609 = 3.2998"),
    ("cmk", "E1", 0.8 / (3 * S_MS1), "min(11 - 10.2, 10.2 - 9) / 3s = 0.8 / 0.30305 = 2.6399"),
    ("cpk", "L1", 0.8 / (3 * S_D), "the process samples only: 0.8 / 3s_D = 1.6055; the studies on E1, E2 stay out"),
    # KPI 24 inventory turns = 365 x COGS / Σ daily inventory value
    ("inventory_turns", "P1", 365 * 50000 / 800000, "365 x 50 000 / (300 000 + 500 000) = 22.81 /yr = 365 / 16 days"),
    ("inventory_days", "P1", 800000 / 50000, "(300 000 + 500 000) / 50 000 = 16 days"),
    # KPIs 25-29 over the consumed material CM (kg)
    ("finished_goods_ratio", "L1", 70.0, "700 / 1000"),
    ("finished_goods_ratio", "W1", 100 * 1120 / 1500,
     "(700 + 420) / (1000 + 500) = 74.667 %; mean of lines 77 % is wrong"),
    ("integrated_goods_ratio", "W1", 100 * 1190 / 1500, "(760 + 430) / 1500 = 79.333 %"),
    ("production_loss_ratio", "W1", 100 * 280 / 1500, "(220 + 60) / 1500 = 18.667 %"),
    ("storage_transport_loss_ratio", "W1", 100 * 21 / 1500, "(15 + 6) / 1500 = 1.4 %"),
    ("other_loss_ratio", "L2", 100 * 4 / 500, "4 / 500 = 0.8 %"),
    # KPI 30 equipment load = Σ PRU x PQ / POT
    ("equipment_load_ratio", "L1", 100 * 21000 / 57600, "60 s x (300 + 50) / (28800 + 28800) s = 36.458 %"),
    ("equipment_load_ratio", "L2", 100 * 16800 / 28800, "(30 x 360 + 60 x 100) / 28800 = 58.333 %"),
    ("equipment_load_ratio", "W1", 100 * 37800 / 86400, "(21000 + 16800) / (57600 + 28800) = 43.75 %"),
])
def test_iso_value(iso, kpi_id, unit, expected, arithmetic):
    value, _num, _den, status = kpi(iso[0].con, kpi_id, unit)
    assert status == "ok", arithmetic
    assert value == pytest.approx(expected, **APPROX), arithmetic


def test_iso_losses_and_goods_close_the_balance(iso):
    con = iso[0].con
    share = {k: kpi(con, k, "W1")[0] for k in ("integrated_goods_ratio", "production_loss_ratio",
                                                 "storage_transport_loss_ratio", "other_loss_ratio")}
    assert sum(share.values()) == pytest.approx(100.0)  # CM = IGQ + PL + STL + OL


def test_inventory_turns_is_the_inverse_of_days_of_inventory(iso):
    con = iso[0].con
    assert kpi(con, "inventory_turns", "P1")[0] * kpi(con, "inventory_days", "P1")[0] == pytest.approx(365)


@pytest.mark.parametrize("kpi_id, unit, status, why", [
    ("cm", "E2", "insufficient", "MS2 has 30 parts; a machine study needs 50"),
    ("cmk", "E2", "insufficient", "same"),
    ("cm", "L1", "not_applicable", "machine studies are never pooled above the machine"),
])
def test_iso_statuses(iso, kpi_id, unit, status, why):
    value, _num, _den, got = kpi(iso[0].con, kpi_id, unit)
    assert (value, got) == (None, status), why


def test_machine_study_names_the_study(iso):
    rows = iso[0].con.execute("SELECT variant, denominator FROM kpi_value WHERE kpi_id = 'cmk' AND unit_id = 'E1' "
                              "AND grain = 'month'").fetchall()
    assert rows == [("characteristic=MS1 D [9.0, 11.0]", 50.0)]


def test_optional_columns_absent_give_no_data_not_zero(golden_loaded):
    """The golden plant's exports have no attendance, planned scrap or material balance: no value, never 0."""
    for kpi_id in ("worker_efficiency", "actual_to_planned_scrap_ratio", "finished_goods_ratio"):
        assert kpi(golden_loaded.con, kpi_id, "L1") is None, kpi_id
    assert kpi(golden_loaded.con, "fall_off_ratio", "L1")[0] == pytest.approx(100 * 15 / 300)  # one-step order


def test_a_machine_study_on_a_line_and_a_broken_balance_are_quarantined(tmp_path):
    target = tmp_path / "golden_iso"
    shutil.copytree(FIXTURES / "golden_iso", target, ignore=shutil.ignore_patterns("var"))
    toml = target / "cockpit.toml"
    text = toml.read_text(encoding="utf-8")
    for stream in ("measurement", "material_consumption", "labor_time"):
        text = text.replace(f'path = "{stream}.csv"', f'path = "{stream}.csv"\nmax_reject_share = 0.9')
    toml.write_text(text, encoding="utf-8")
    with open(target / "measurement.csv", "a") as f:
        f.write("M999,L1,A,D,2025-01-06 13:00:00,10.1,9,11,MS9\n")
    with open(target / "material_consumption.csv", "a") as f:
        f.write("L1,2025-01-07 08:00:00,STEEL-1,1000,700,760,200,15,5\n")
    with open(target / "labor_time.csv", "a") as f:
        f.write("L2,2025-01-07 08:00:00,20,16\n")
    writer = Writer(config.load(toml, environ={}), clock=lambda: NOW)
    try:
        writer.load()
        reasons = dict(writer.con.execute("SELECT stream, reason FROM quarantine").fetchall())
        assert "machine study" in reasons["measurement"]
        assert "consumed_kg must equal" in reasons["material_consumption"]
        assert "worker_h exceeds attendance_h" in reasons["labor_time"]
    finally:
        writer.close()


# --- schedule attainment on tests/fixtures/golden_plan --------------------------------------------------------
# ENT > P1 > W1 > L1, L2 (> press E1), production day 2025-01-06, shifts A 08:00 and B 16:00 (the defaults).
#   L1 (product B, 30 s): plan A 400, B 400 (POT 28 800 s each). GQ: A 225 + 225 = 450 (over), B 380 (under).
#      States: A 08-09 planned stop, 09-15 run, 15-16 breakdown; B 16-22 run, 22-23 setup, 23-24 idle.
#   L2 (product A, 60 s): plan A 240 (POT 28 800 s). Its output is booked on its press E1: GQ 180 (under).
#      States: 08-12 run, 12-13 setup, 13-14 minor stop, 14-16 idle.
# L1 makes 830 against 800 over the day and L2 180 against 240: ΣGQ / Σplan = 1010 / 1040 = 97.115 % would let
# L1's surplus (and shift A's) hide the shortfalls.
plan = _loaded_fixture("golden_plan")


@pytest.mark.parametrize("kpi_id, unit, expected, arithmetic", [
    # schedule attainment = Σ min(GQ, plan) per line and shift / Σ plan
    ("plan_attainment", "L1", 97.5,
     "(min(450, 400) + min(380, 400)) / (400 + 400) = 780 / 800; per day 800 / 800 and 830 / 800 are wrong"),
    ("plan_attainment", "L2", 75.0, "min(180, 240) / 240: E1's output counts toward its line's plan"),
    ("plan_attainment", "W1", 100 * 960 / 1040, "(780 + 180) / (800 + 240) = 92.308 %; ΣGQ / Σplan 97.115 % wrong"),
    ("plan_attainment", "ENT", 100 * 960 / 1040, "same sums as W1"),
    ("good_output", "W1", 1010.0, "450 + 380 + 180: good output itself is not capped"),
    ("planned_output", "W1", 1040.0, "400 + 400 + 240"),
    # allocation efficiency = (APT + AUST + ADET) / PBT: idle time (ADOT, no order) is not allocated
    ("allocation_efficiency", "L1", 100 * 50400 / 54000,
     "(43200 run + 3600 setup + 3600 breakdown) / (57600 - 3600) = 93.333 %; with the idle hour 100 %"),
    ("allocation_efficiency", "L2", 75.0, "(14400 + 3600 setup + 3600 minor stop) / 28800; with 7200 s idle 100 %"),
    ("allocation_efficiency", "W1", 100 * 72000 / 82800, "(50400 + 21600) / (54000 + 28800) = 86.957 %"),
])
def test_plan_value(plan, kpi_id, unit, expected, arithmetic):
    value, _num, _den, status = kpi(plan[0].con, kpi_id, unit)
    assert status == "ok", arithmetic
    assert value == pytest.approx(expected, **APPROX), arithmetic
    assert kpi(plan[0].con, kpi_id, unit, "day", "2025-01-06")[0] == pytest.approx(expected, **APPROX)


@pytest.mark.parametrize("unit, shift, expected, arithmetic", [
    ("L1", "A", 100.0, "min(450, 400) / 400: the surplus stays in its shift"),
    ("L1", "B", 95.0, "min(380, 400) / 400"),
    ("L2", "A", 75.0, "180 / 240"),
    ("W1", "A", 100 * 580 / 640, "(400 + 180) / (400 + 240) = 90.625 %"),
    ("W1", "B", 95.0, "380 / 400"),
])
def test_plan_attainment_per_shift(plan, unit, shift, expected, arithmetic):
    rows = plan[0].con.execute(
        "SELECT value, status FROM kpi_shift_value WHERE kpi_id = 'plan_attainment' AND unit_id = ? "
        "AND shift_code = ? AND day = DATE '2025-01-06'", [unit, shift]).fetchall()
    assert rows == [(pytest.approx(expected, **APPROX), "ok")], arithmetic


def test_output_without_a_plan_that_day_attains_no_earlier_plan(tmp_path):
    """L2 makes 60 more on 2025-01-07, which has no plan: they do not make up the shortfall of 01-06."""
    toml = copy_plant(FIXTURES / "golden_plan", tmp_path / "golden_plan")
    with open(toml.parent / "production_record.csv", "a") as f:
        f.write("R5,L2,A,O4,2025-01-07 09:00:00,2025-01-07 10:00:00,60,60,0,0\n")
    writer = Writer(config.load(toml, environ={}), clock=lambda: NOW)
    try:
        writer.load()
        writer.compute()
        assert kpi(writer.con, "plan_attainment", "L2")[:3] == (75.0, 180.0, 240.0)  # not min(240, 240) / 240
        assert kpi(writer.con, "good_output", "L2")[0] == 240.0
    finally:
        writer.close()


# --- every KPI has a hand-computed golden case ------------------------------------------------------------------
# KPIs whose golden case lives in another file (tests/test_kpis_library.py, on its golden_library and golden_ops
# fixtures), with the parametrised test that holds it; the meta-test checks the case really is there.
LIBRARY = "tests.test_kpis_library"
ELSEWHERE = {
    **{k: (LIBRARY, "test_library_value") for k in (
        "mtbf", "mttf", "mttr", "corrective_maintenance_ratio", "pm_compliance", "on_time_delivery", "otif",
        "order_to_delivery_time", "supplier_on_time_delivery", "incoming_quality", "dppm", "first_pass_yield", "cp")},
    **{k: (LIBRARY, "test_operations_value") for k in (
        "inventory_record_accuracy", "picking_accuracy", "dock_to_stock_time", "complaint_rate", "forecast_accuracy",
        "maintenance_cost_share", "green_power_share")},
}


def _kpis_in_table(test) -> set[str]:
    """KPI ids in a test's parametrize table (the `kpi_id` argument)."""
    out = set()
    for mark in getattr(test, "pytestmark", []):
        if mark.name == "parametrize":
            names = [n.strip() for n in mark.args[0].split(",")]
            if "kpi_id" in names:
                out |= {case[names.index("kpi_id")] for case in mark.args[1]}
    return out


def test_every_kpi_in_the_registry_has_a_golden_case():
    import importlib

    from kpis.registry import all_kpis

    here = set().union(*(_kpis_in_table(t) for t in (test_golden_value, test_iso_value, test_plan_value)))
    for kpi_id, (module, test) in ELSEWHERE.items():
        assert kpi_id in _kpis_in_table(getattr(importlib.import_module(module), test)), (kpi_id, module, test)
    missing = set(all_kpis()) - here - set(ELSEWHERE)
    assert not missing, f"KPIs without a hand-computed golden case: {sorted(missing)}"
    assert not set(ELSEWHERE) & here, "covered here: drop from ELSEWHERE"
