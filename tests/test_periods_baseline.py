"""Periods, comparisons and frozen baselines."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from kpis.baseline import freeze
from kpis.periods import Window, anchor_month, baseline_window, report_window
from kpis.windows import compare, window_values


@pytest.mark.parametrize("last_day, anchor", [
    (date(2025, 1, 31), date(2025, 1, 1)),  # the month ended: it is complete
    (date(2025, 2, 27), date(2025, 1, 1)),  # February still running
    (date(2024, 2, 29), date(2024, 2, 1)),  # leap day ends February
    (None, None),
])
def test_anchor_is_last_complete_month(last_day, anchor):
    assert anchor_month(last_day) == anchor


@pytest.mark.parametrize("kind, first, last", [
    ("month", date(2025, 10, 1), date(2025, 10, 31)),
    ("ytd", date(2025, 1, 1), date(2025, 10, 31)),
    ("r12", date(2024, 11, 1), date(2025, 10, 31)),
    ("yoy", date(2025, 10, 1), date(2025, 10, 31)),
])
def test_report_windows(kind, first, last):
    assert report_window(kind, date(2025, 10, 1)) == Window(first, last)


def test_yoy_baseline_is_same_month_last_year_and_default_is_year_before_go_live():
    configured = Window(date(2024, 1, 1), date(2024, 12, 31))
    assert baseline_window("yoy", date(2025, 10, 1), configured, None) == Window(date(2024, 10, 1), date(2024, 10, 31))
    assert baseline_window("ytd", date(2025, 10, 1), configured, None) == configured
    assert baseline_window("month", date(2025, 10, 1), None, date(2025, 3, 1)) == configured


@pytest.mark.parametrize("direction, baseline, report, change, improvement", [
    ("lower", 10.0, 8.0, -20.0, 20.0),  # 降低率 = (10 - 8) / 10
    ("higher", 10.0, 12.5, 25.0, 25.0),  # 提升率 = (12.5 - 10) / 10
    ("lower", 10.0, 11.0, 10.0, -10.0),  # worse
    ("higher", 0.0, 5.0, None, None),  # no base to compare with
    ("higher", None, 5.0, None, None),
])
def test_compare(direction, baseline, report, change, improvement):
    got = compare(direction, baseline, report)
    assert got == (pytest.approx(change) if change is not None else None,
                   pytest.approx(improvement) if improvement is not None else None)


def _monthly(rows):
    return pd.DataFrame(rows, columns=["kpi_id", "unit_id", "period_start", "value", "numerator", "denominator", "status"]) \
        .assign(period_start=lambda f: pd.to_datetime(f["period_start"]))


def test_window_rolls_up_numerators_not_ratios():
    # Jan: 10 defects of 100 (10 %); Feb: 1 of 900 (0.111 %). Window = 11 / 1000 = 1.1 %, mean of ratios 5.06 %.
    monthly = _monthly([
        ("defect_rate", "P1", "2025-01-01", 10.0, 10, 100, "ok"),
        ("defect_rate", "P1", "2025-02-01", 100 / 900, 1, 900, "ok"),
    ])
    got = window_values(monthly, Window(date(2025, 1, 1), date(2025, 2, 28))).set_index("kpi_id")
    assert got.loc["defect_rate", "value"] == pytest.approx(1.1)
    assert got.loc["defect_rate", "months"] == 2


def test_window_of_product_kpi_multiplies_rolled_up_factors():
    monthly = _monthly([
        ("availability", "L1", "2025-01-01", 50.0, 50, 100, "ok"), ("availability", "L1", "2025-02-01", 100.0, 300, 300, "ok"),
        ("effectiveness", "L1", "2025-01-01", 100.0, 50, 50, "ok"), ("effectiveness", "L1", "2025-02-01", 50.0, 150, 300, "ok"),
        ("quality_ratio", "L1", "2025-01-01", 100.0, 10, 10, "ok"), ("quality_ratio", "L1", "2025-02-01", 50.0, 10, 20, "ok"),
    ])
    got = window_values(monthly, Window(date(2025, 1, 1), date(2025, 2, 28))).set_index("kpi_id")
    # A = 350/400, E = 200/350, Q = 20/30 -> OEE = 0.875 x 0.5714 x 0.6667 = 33.33 %
    assert got.loc["oee", "value"] == pytest.approx(100 * (350 / 400) * (200 / 350) * (20 / 30))


def test_baseline_is_frozen_and_late_corrections_flagged(golden_writer):
    w = golden_writer
    w.load()
    w.compute()
    window = Window(date(2025, 1, 1), date(2025, 1, 31))
    assert freeze(w.con, window, datetime(2025, 2, 1))["frozen"] > 0
    frozen = w.con.execute("SELECT value FROM kpi_baseline WHERE kpi_id = 'defect_rate' AND unit_id = 'W1'").fetchall()[0][0]
    assert frozen == pytest.approx(100 * 56 / 660)
    # a late correction to the baseline month
    path = w.settings.path.parent / "production_record.csv"
    path.write_text(path.read_text().replace(",360,324,36,0", ",360,354,6,0"))
    w.load(["production_record"])
    w.compute()
    counts = freeze(w.con, window, datetime(2025, 2, 2))
    assert counts["late_corrections"] > 0
    value, recomputed, late = w.con.execute(
        "SELECT value, recomputed_value, late_correction FROM kpi_baseline WHERE kpi_id = 'defect_rate' AND unit_id = 'W1'"
    ).fetchall()[0]
    assert value == pytest.approx(frozen)  # the frozen value did not move
    assert recomputed == pytest.approx(100 * 26 / 660) and late is True
    freeze(w.con, window, datetime(2025, 2, 3), refreeze=True)
    value, late = w.con.execute(
        "SELECT value, late_correction FROM kpi_baseline WHERE kpi_id = 'defect_rate' AND unit_id = 'W1'").fetchall()[0]
    assert value == pytest.approx(100 * 26 / 660) and late is False


def test_a_baseline_frozen_without_a_value_is_frozen_when_one_is_computed(golden_writer):
    """A baseline frozen while it had no value (too few records then, or by an earlier release that could not compute
    the KPI over months, like Cpk before samples were pooled): the first value computed for those months is frozen,
    not flagged as a late correction, and then kept like any other. A KPI without rows then had no baseline row
    at all and is simply frozen when its data arrives."""
    w = golden_writer
    w.load([n for n in w.settings.connectors if n != "production_record"])
    w.compute()
    window = Window(date(2025, 1, 1), date(2025, 1, 31))
    freeze(w.con, window, datetime(2025, 2, 1))
    row = "SELECT value, status, late_correction, frozen_at FROM kpi_baseline WHERE kpi_id = 'defect_rate' AND unit_id = 'W1'"
    assert w.con.execute(row).fetchall() == []
    w.load(["production_record"])
    w.compute()
    assert freeze(w.con, window, datetime(2025, 2, 2))["frozen"] > 0
    w.con.execute("UPDATE kpi_baseline SET value = NULL, numerator = NULL, status = 'insufficient' "
                  "WHERE kpi_id = 'defect_rate' AND unit_id = 'W1'")  # as an earlier freeze without a value left it
    counts = freeze(w.con, window, datetime(2025, 2, 5))
    assert counts["filled"] == 1 and counts["late_corrections"] == 0
    value, status, late, frozen_at = w.con.execute(row).fetchall()[0]
    assert value == pytest.approx(100 * 56 / 660) and status == "ok" and late is False
    assert frozen_at == datetime(2025, 2, 5)
    assert freeze(w.con, window, datetime(2025, 2, 6))["filled"] == 0  # frozen now: kept from here on


def test_quarter_and_week_roll_up_from_snapshots():
    from kpis.windows import regrain

    monthly = _monthly([
        ("defect_rate", "P1", "2025-01-01", 10.0, 10, 100, "ok"),
        ("defect_rate", "P1", "2025-02-01", 100 / 900, 1, 900, "ok"),
        ("defect_rate", "P1", "2025-04-01", 5.0, 5, 100, "ok"),
    ])
    q = regrain(monthly, "quarter").set_index("period_start")
    assert q.loc[pd.Timestamp("2025-01-01"), "value"] == pytest.approx(1.1)  # (10 + 1) / (100 + 900)
    assert q.loc[pd.Timestamp("2025-04-01"), "value"] == pytest.approx(5.0)
    daily = _monthly([("defect_rate", "P1", "2025-01-06", 10.0, 1, 10, "ok"),  # Monday
                      ("defect_rate", "P1", "2025-01-12", 50.0, 5, 10, "ok"),  # Sunday, same week
                      ("defect_rate", "P1", "2025-01-13", 0.0, 0, 10, "ok")])  # next Monday
    w = regrain(daily, "week").set_index("period_start")
    assert list(w.index) == [pd.Timestamp("2025-01-06"), pd.Timestamp("2025-01-13")]
    assert w.loc[pd.Timestamp("2025-01-06"), "value"] == pytest.approx(30.0)  # 6 / 20
