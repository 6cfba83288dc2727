"""Property: for any data and any split of it, the roll-up of the parts equals the KPI of the union.

Split by org unit (lines into their workshop) and by time (shifts into a day, days into a month, months
into a window):
ratios are added as numerators and denominators, never averaged.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.schema import create_all
from kpis import engine
from kpis.periods import Window
from kpis.reference import seed_reference_tables
from kpis.registry import all_kpis
from kpis.windows import window_values
from tests.conftest import GOLDEN

# Bounded for CI; HYPOTHESIS_PROFILE=thorough explores more.
settings.register_profile("ci", max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

RATIOS = [k for k in all_kpis().values() if k.kind == "ratio" and k.lowest_level == "line"
          and k.elements <= {"produced_qty", "good_qty", "scrap_qty", "rework_qty", "apt_s", "aust_s", "adet_s",
                             "pdot_s", "pot_s", "pru_pq_s", "std_h", "labor_h", "planned_qty"}]

# OEE and NEE: products of factors that are each rolled up first, so they follow their factors
PRODUCTS = [k for k in all_kpis().values() if k.kind == "product" and k.lowest_level == "line"
            and set(k.components) <= {r.id for r in RATIOS}]

record = st.fixed_dictionaries({
    "line": st.sampled_from(["L1", "L2"]),
    "product": st.sampled_from(["A", "B"]),
    "day": st.integers(0, 58),  # January and February 2025
    "hour": st.integers(0, 23),  # into the production day (from 08:00): shift A, B or C
    "good": st.integers(0, 400), "scrap": st.integers(0, 40), "rework": st.integers(0, 40),
    "running_min": st.integers(1, 400), "setup_min": st.integers(0, 60), "stop_min": st.integers(0, 60),
    "labour_h": st.integers(1, 40),
})


def _store(records: list[dict]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    create_all(con)
    seed_reference_tables(con)
    for table in ("org_unit", "product"):
        frame = pd.read_csv(GOLDEN / f"{table}.csv", dtype={"parent_id": str})
        con.register("f", frame)
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM f")
        con.unregister("f")
    prod, states, planned, labour = [], [], [], []
    for i, r in enumerate(records):
        start = datetime(2025, 1, 1, 8) + timedelta(days=r["day"], hours=r["hour"], minutes=i)  # distinct keys
        run, setup, stop = (timedelta(minutes=r[k]) for k in ("running_min", "setup_min", "stop_min"))
        produced = r["good"] + r["scrap"] + r["rework"]
        prod.append((f"R{i}", r["line"], r["product"], start, start + run, produced, r["good"], r["scrap"], r["rework"]))
        tag = timedelta(microseconds=3 * i + 1)  # keeps (unit, start_at) unique across records
        t0, t1 = start + run + tag, start + run + setup + 2 * tag
        states += [(r["line"], start, start + run, "running"), (r["line"], t0, t1 + tag, "setup"),
                   (r["line"], t1 + tag, t1 + stop + 3 * tag, "breakdown")]
        planned.append((r["line"], start, (r["running_min"] + r["setup_min"] + r["stop_min"] + 30) * 60, produced + 10))
        labour.append((r["line"], start, r["labour_h"]))
    con.executemany("INSERT INTO production_record VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, NULL)", prod)
    con.executemany("INSERT INTO equipment_state VALUES (?, ?, ?, ?, NULL, NULL)", states)
    con.executemany("INSERT INTO planned_time (unit_id, shift_start_at, shift_code, planned_s, planned_qty) "
                    "VALUES (?, ?, 'A', ?, ?)", planned)
    con.executemany("INSERT INTO labor_time (unit_id, shift_start_at, worker_h) VALUES (?, ?, ?)", labour)
    engine.compute(con)
    return con


def _values(con, grain: str, period: str) -> pd.DataFrame:
    return con.execute("SELECT kpi_id, unit_id, value, numerator, denominator, status FROM kpi_value "
                       "WHERE grain = ? AND period_start = ?", [grain, period]).df()


@given(records=st.lists(record, min_size=1, max_size=12))
def test_the_roll_up_of_a_split_equals_the_kpi_of_the_union(records):
    """The same records split over two lines (rolled up into W1) and all booked on one line (L1 alone):
    every ratio and product KPI of W1 equals that of the line holding the union."""
    split_con, union_con = _store(records), _store([{**r, "line": "L1"} for r in records])
    assert PRODUCTS and len(RATIOS) >= 10
    compared = 0
    for month in ("2025-01-01", "2025-02-01"):
        split = _values(split_con, "month", month).set_index(["kpi_id", "unit_id"])
        union = _values(union_con, "month", month).set_index(["kpi_id", "unit_id"])
        for k in RATIOS + PRODUCTS:
            parts = split.loc[(k.id, "W1")] if (k.id, "W1") in split.index else None
            whole = union.loc[(k.id, "L1")] if (k.id, "L1") in union.index else None
            assert (parts is None) == (whole is None), (k.id, month)
            if parts is None:
                continue
            assert parts["status"] == whole["status"], (k.id, month)
            if parts["status"] == "ok":
                assert parts["value"] == pytest.approx(whole["value"], rel=1e-9), (k.id, month)
                compared += 1
    assert compared, "no KPI had a value to compare"


@given(records=st.lists(record, min_size=1, max_size=12))
def test_workshop_is_the_sum_of_its_lines(records):
    month = _values(_store(records), "month", "2025-01-01")
    for k in RATIOS:
        rows = month[month["kpi_id"] == k.id].set_index("unit_id")
        lines = rows.loc[[u for u in ("L1", "L2") if u in rows.index]]
        lines = lines[lines["status"] == "ok"]
        if "W1" not in rows.index or rows.loc["W1", "status"] != "ok":
            assert lines.empty or lines["denominator"].sum() == 0, k.id
            continue
        expected = k.scale * lines["numerator"].sum() / lines["denominator"].sum()
        assert rows.loc["W1", "value"] == pytest.approx(expected, rel=1e-7), k.id


@given(records=st.lists(record, min_size=1, max_size=12))
def test_month_is_the_sum_of_its_days_and_a_window_the_sum_of_its_months(records):
    con = _store(records)
    for k in RATIOS:
        days = con.execute("SELECT numerator, denominator, status FROM kpi_value WHERE kpi_id = ? AND unit_id = 'W1' "
                           "AND grain = 'day' AND period_start < DATE '2025-02-01'", [k.id]).df()
        month = con.execute("SELECT value, status FROM kpi_value WHERE kpi_id = ? AND unit_id = 'W1' AND grain = 'month' "
                            "AND period_start = DATE '2025-01-01'", [k.id]).fetchall()
        # Completeness is judged per period: a day with one side only (a setup after midnight whose run was the
        # day before) has no value of its own but its seconds count in the month, so only months whose days
        # all have values are the plain sum of their days.
        if month and month[0][1] == "ok" and len(days) and (days["status"] == "ok").all() and days["denominator"].sum():
            assert month[0][0] == pytest.approx(k.scale * days["numerator"].sum() / days["denominator"].sum(), rel=1e-7)
    monthly = con.execute("SELECT kpi_id, unit_id, period_start, value, numerator, denominator, status FROM kpi_value "
                          "WHERE grain = 'month'").df()
    window = window_values(monthly, Window(date(2025, 1, 1), date(2025, 2, 28))).set_index(["kpi_id", "unit_id"])
    for k in RATIOS:
        parts = monthly[(monthly["kpi_id"] == k.id) & (monthly["unit_id"] == "W1") & (monthly["status"] == "ok")]
        if (k.id, "W1") in window.index and window.loc[(k.id, "W1"), "status"] == "ok":
            expected = k.scale * parts["numerator"].sum() / parts["denominator"].sum()
            assert window.loc[(k.id, "W1"), "value"] == pytest.approx(expected, rel=1e-7)


@given(records=st.lists(record, min_size=1, max_size=12))
def test_a_day_is_the_sum_of_its_shifts(records):
    con = _store(records)
    for k in RATIOS:
        shifts = con.execute("SELECT day, numerator, denominator, status FROM kpi_shift_value WHERE kpi_id = ? "
                             "AND unit_id = 'W1'", [k.id]).df()
        days = con.execute("SELECT period_start AS day, value, status FROM kpi_value WHERE kpi_id = ? AND unit_id = 'W1' "
                           "AND grain = 'day' AND status = 'ok'", [k.id]).df()
        for day in days.itertuples(index=False):
            parts = shifts[shifts["day"] == day.day]
            # a shift with one side only (labour booked, nothing produced) has no value of its own
            if len(parts) and (parts["status"] == "ok").all() and parts["denominator"].sum():
                expected = k.scale * parts["numerator"].sum() / parts["denominator"].sum()
                assert day.value == pytest.approx(expected, rel=1e-7), (k.id, day.day)
