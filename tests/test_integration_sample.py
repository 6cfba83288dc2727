"""From the committed sample exports (examples/csv-demo.toml) to KPI values, checked against pandas.

The expected numbers are computed here straight from the raw export files, independently of the
loader and the KPI engine, for production month 2025-06 (production days start at 08:00).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from cockpit import config
from cockpit.serving import Serving
from cockpit.writer import Writer

ROOT = Path(__file__).parents[1]
EXPORTS = ROOT / "sample_data" / "exports"
MASTER = ROOT / "sample_data" / "master"
MONTHS = ("2025-06", "2025-07")  # June's production days end on 1 July 07:59
JUNE = (pd.Timestamp("2025-06-01"), pd.Timestamp("2025-07-01"))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("csvdemo")
    text = (ROOT / "examples" / "csv-demo.toml").read_text(encoding="utf-8")
    text = text.replace('path = "../var/csv-demo"', f'path = "{folder / "var"}"').replace('"../', f'"{ROOT}/')
    for stem in ("production", "state", "planned", "labor", "quality", "electricity"):
        text = text.replace(f"{stem}_*.csv.gz", f"{stem}_2025-0[67].csv.gz")
    (folder / "cockpit.toml").write_text(text, encoding="utf-8")
    settings = config.load(folder / "cockpit.toml", environ={})
    writer = Writer(settings, clock=lambda: datetime(2026, 1, 15))
    results = writer.load()
    writer.compute()
    writer.publish()
    yield writer, results
    writer.close()


def _read(pattern: str, **kw) -> pd.DataFrame:
    files = sorted(EXPORTS.glob(pattern))
    return pd.concat([pd.read_csv(f, **kw) for f in files], ignore_index=True)


def _prod_day(ts: pd.Series) -> pd.Series:
    return (pd.to_datetime(ts) - pd.Timedelta(hours=8)).dt.normalize()


def _june(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    day = _prod_day(frame[column])
    return frame[(day >= JUNE[0]) & (day < JUNE[1])]


def _engine(writer, kpi_id: str, unit_id: str) -> float:
    rows = writer.con.execute(
        "SELECT value, status FROM kpi_value WHERE kpi_id = ? AND unit_id = ? AND grain = 'month' "
        "AND period_start = DATE '2025-06-01'", [kpi_id, unit_id]).fetchall()
    assert rows and rows[0][1] == "ok", (kpi_id, unit_id, rows)
    return rows[0][0]


def test_every_sample_file_loads_without_rejects(store):
    _writer, results = store
    for r in results:
        assert r.status == "ok", (r.connector, r.error)
        assert r.rows_quarantined == 0, r.connector


def test_gbk_quality_export_keeps_chinese_text(store):
    writer, _ = store
    types = {r[0] for r in writer.con.execute("SELECT DISTINCT defect_type FROM quality_inspection").fetchall()}
    raw = _read("mes/quality_2025-06.csv.gz", encoding="gbk")["不良类型"].dropna().unique()
    assert set(raw) <= types and any("\u4e00" <= ch <= "\u9fff" for t in types if t for ch in t)


def test_defect_rate_of_the_enterprise(store):
    prod = _june(_read("mes/production_2025-0[67].csv.gz"), "开始时间")
    expected = 100 * (prod["产量"].sum() - prod["合格数"].sum()) / prod["产量"].sum()
    assert _engine(store[0], "defect_rate", "ENT") == pytest.approx(expected, rel=1e-9)


def test_oee_of_a_line_from_raw_states(store):
    line = "P1W1L1"
    products = pd.read_csv(MASTER / "product.csv").set_index("product_id")["ideal_cycle_s"]
    prod = _june(_read("mes/production_2025-0[67].csv.gz"), "开始时间")
    prod = prod[prod["产线"] == line]
    states = _june(_read("mes/state_2025-0[67].csv.gz"), "开始时间")
    states = states[states["产线"] == line]
    seconds = (pd.to_datetime(states["结束时间"]) - pd.to_datetime(states["开始时间"])).dt.total_seconds()
    by_state = seconds.groupby(states["状态"]).sum()
    planned = _june(_read("mes/planned_2025-0[67].csv.gz"), "班次开始时间")
    pot = planned.loc[planned["产线"] == line, "计划时长秒"].sum()
    availability = by_state["running"] / (pot - by_state.get("planned_stop", 0))
    effectiveness = (prod["产品编码"].map(products) * prod["产量"]).sum() / by_state["running"]
    quality = prod["合格数"].sum() / prod["产量"].sum()
    assert _engine(store[0], "oee", line) == pytest.approx(100 * availability * effectiveness * quality, rel=1e-9)


def test_shift_oee_of_a_line_from_raw_records(store):
    """Every shift of one line (A 08:00, B 16:00, C 00:00; a record counts in the shift it starts in)."""
    line = "P1W1L1"

    def shift_start(ts: pd.Series) -> pd.Series:
        since_day = pd.to_datetime(ts) - pd.Timedelta(hours=8)
        into = since_day - since_day.dt.normalize()
        return since_day.dt.normalize() + pd.Timedelta(hours=8) + (into // pd.Timedelta(hours=8)) * pd.Timedelta(hours=8)

    products = pd.read_csv(MASTER / "product.csv").set_index("product_id")["ideal_cycle_s"]
    prod = _read("mes/production_2025-0[67].csv.gz")
    prod = prod[prod["产线"] == line]
    states = _read("mes/state_2025-0[67].csv.gz")
    states = states[states["产线"] == line]
    planned = _read("mes/planned_2025-0[67].csv.gz")
    planned = planned[planned["产线"] == line]
    seconds = (pd.to_datetime(states["结束时间"]) - pd.to_datetime(states["开始时间"])).dt.total_seconds()
    by_state = seconds.groupby([shift_start(states["开始时间"]), states["状态"]]).sum().unstack(fill_value=0)
    pot = planned.groupby(shift_start(planned["班次开始时间"]))["计划时长秒"].sum()
    key = shift_start(prod["开始时间"])
    pru_pq = (prod["产品编码"].map(products) * prod["产量"]).groupby(key).sum()
    pq, gq = prod.groupby(key)["产量"].sum(), prod.groupby(key)["合格数"].sum()
    expected = (by_state["running"] / (pot - by_state["planned_stop"])) * (pru_pq / by_state["running"]) * (gq / pq) * 100
    got = store[0].con.execute("SELECT shift_start, value FROM kpi_shift_value WHERE kpi_id = 'oee' AND unit_id = ? "
                               "AND status = 'ok' ORDER BY shift_start", [line]).df().set_index("shift_start")["value"]
    assert len(got) > 60  # five weeks of shifts (plant.shift_history_days = 35)
    assert got.to_numpy() == pytest.approx(expected.reindex(got.index).to_numpy(), rel=1e-9)


def test_energy_per_unit_of_a_workshop(store):
    workshop = "P1W1"
    meters = pd.read_csv(MASTER / "meter.csv")
    org = pd.read_csv(MASTER / "org_unit.csv")
    units = {workshop, *org.loc[org["parent_id"] == workshop, "unit_id"]}
    mine = meters[meters["unit_id"].isin(units)].set_index("meter_id")["medium"]
    kgce = {"electricity": 0.1229, "natural_gas": 1.33, "steam": 128.6, "water": 0.0857}  # GB/T 2589-2020 table
    elec = _june(_read("ems/electricity_2025-0[67].csv.gz"), "ts_start")
    elec = elec[elec["meter_no"].isin(mine.index)]
    daily = _june(_read("ems/daily_media.csv.gz"), "day_start")
    daily = daily[daily["meter_no"].isin(mine.index)]
    energy = elec["kwh"].sum() * kgce["electricity"] + (daily["reading"] * daily["meter_no"].map(mine).map(kgce)).sum()
    prod = _june(_read("mes/production_2025-0[67].csv.gz"), "开始时间")
    good = prod.loc[prod["产线"].isin(units), "合格数"].sum()
    assert _engine(store[0], "energy_per_unit", workshop) == pytest.approx(energy / good, rel=1e-9)


def test_unit_cost_and_output_per_head_of_a_plant(store):
    cost = pd.read_csv(EXPORTS / "erp" / "operating_cost.csv.gz")
    cost = cost[(cost["plant"] == "P1") & (cost["period"] == "2025-06-01")
                & cost["cost_category"].isin(["cost_of_sales", "selling", "admin", "rnd"])]["amount_cny"].sum()
    prod = _june(_read("mes/production_2025-0[67].csv.gz"), "开始时间")
    good = prod.loc[prod["产线"].str.startswith("P1"), "合格数"].sum()
    assert _engine(store[0], "unit_operating_cost", "P1") == pytest.approx(cost / good, rel=1e-9)
    value = pd.read_csv(EXPORTS / "erp" / "output_value.csv.gz")
    value = value[(value["plant"] == "P1") & (value["period"] == "2025-06-01")]["amount_cny"].sum()
    heads = pd.read_csv(EXPORTS / "erp" / "headcount.csv.gz")
    heads = heads[(heads["org_unit"] == "P1") & (heads["period"] == "2025-06-01")]["avg_headcount"].sum()
    assert _engine(store[0], "output_value_per_head", "P1") == pytest.approx(value / 1e4 / heads, rel=1e-9)


def test_kpis_json_for_the_enterprise_has_the_five_outcomes(store):
    writer, _ = store
    doc = Serving(writer.settings.serving_path).comparison("month")
    outcome = {k["id"]: k for k in doc["kpis"] if k["group"] == "outcome"}
    assert set(outcome) == {"unit_operating_cost", "defect_rate", "energy_per_unit", "labour_productivity",
                            "output_value_per_head"}
    assert doc["report"]["from"] == "2025-06-01"  # last complete month: July's data stops on 1 July 07:59
