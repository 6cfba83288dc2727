"""Targets: configured or default, per unit and period, with a status that respects direction."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from cockpit.writer import set_targets
from kpis import targets
from kpis.registry import all_kpis

NONE = pd.DataFrame(columns=["kpi_id", "unit_id", "valid_from", "target", "warn", "note"])


@pytest.mark.parametrize("kpi_id, value, expected", [
    ("defect_rate", 2.4, "good"),  # lower is better: target 2.5, warn 3.0
    ("defect_rate", 2.8, "warn"),
    ("defect_rate", 3.2, "bad"),
    ("labour_productivity", 0.9, "good"),  # higher is better: target 0.8, warn 0.7
    ("labour_productivity", 0.75, "warn"),
    ("labour_productivity", 0.6, "bad"),
])
def test_status_respects_direction(kpi_id, value, expected):
    k = all_kpis()[kpi_id]
    t = targets.Target(2.5, 3.0, "configured") if k.direction == "lower" else targets.Target(0.8, 0.7, "configured")
    assert targets.status(k, value, t) == expected
    assert targets.status(k, None, t) is None


def test_default_target_is_the_baseline_improved_by_the_pilot_target():
    k = all_kpis()["unit_operating_cost"]  # lower is better, default -20 %
    t = targets.effective(k, "ENT", date(2026, 10, 1), NONE, baseline=100.0)
    assert (t.target, t.warn, t.source) == (80.0, 90.0, "default")
    assert targets.effective(all_kpis()["availability"], "ENT", date(2026, 10, 1), NONE, 80.0) is None


def test_configured_target_in_force_for_the_period():
    k = all_kpis()["defect_rate"]
    rows = pd.DataFrame([("defect_rate", "P1", date(2025, 1, 1), 3.0, 3.5, None),
                         ("defect_rate", "P1", date(2026, 1, 1), 2.5, 3.0, None)], columns=NONE.columns)
    assert targets.effective(k, "P1", date(2025, 6, 1), rows, 4.0).target == 3.0
    assert targets.effective(k, "P1", date(2026, 6, 1), rows, 4.0).target == 2.5
    assert targets.effective(k, "P2", date(2026, 6, 1), rows, 4.0).source == "default"


def test_set_targets_validates(golden_loaded):
    con = golden_loaded.con
    assert set_targets(con, [{"kpi_id": "defect_rate", "unit_id": "W1", "valid_from": "2025-01-01",
                              "target": "5", "warn": "6"}]) == 1
    for bad, message in (({"kpi_id": "nope", "unit_id": "W1", "target": 1}, "unknown KPI"),
                         ({"kpi_id": "defect_rate", "unit_id": "X9", "target": 1}, "unknown org unit"),
                         ({"kpi_id": "defect_rate", "unit_id": "W1", "target": 5, "warn": 4}, "worse side")):
        with pytest.raises(ValueError, match=message):
            set_targets(con, [bad])
    assert con.execute("SELECT count(*) FROM kpi_target").fetchall()[0][0] == 1


def test_rows_are_checked_one_way_whatever_brings_them():
    kpis, units = all_kpis(), {"W1", "P1"}
    row = {"kpi_id": "defect_rate", "unit_id": "W1", "valid_from": "2025-01-01", "target": "1,200", "warn": ""}
    assert targets.clean_rows([row], kpis, units) == [("defect_rate", "W1", date(2025, 1, 1), 1200.0, 1200.0, None)]
    assert targets.clean_rows([{**row, "valid_from": ""}], kpis, units)[0][2] == targets.ALWAYS
    for bad, message in (({**row, "valid_from": "2025/13/01"}, "row 1: valid_from '2025/13/01' is not a date"),
                         ({**row, "target": "abc"}, "row 1: target 'abc' is not a number"),
                         ({**row, "target": None}, "row 1: no target value"),
                         ({**row, "warn": "nan"}, "not a finite number")):
        with pytest.raises(ValueError, match=message):
            targets.clean_rows([bad], kpis, units)
    with pytest.raises(ValueError, match="row 2: defect_rate for W1 from 2025-01-01 is already row 1"):
        targets.clean_rows([row, {**row, "target": 3}], kpis, units)


def test_the_fingerprint_is_the_same_from_the_store_and_from_pandas():
    stored = [("defect_rate", "W1", date(2025, 1, 1), 5.0, 6.0, None)]
    frame = pd.DataFrame(stored, columns=targets.COLUMNS)
    frame["valid_from"] = pd.to_datetime(frame["valid_from"])
    assert targets.fingerprint(stored) == targets.fingerprint(frame.itertuples(index=False))
    assert targets.fingerprint(stored) != targets.fingerprint([("defect_rate", "W1", date(2025, 1, 1), 5.0, 6.5, None)])


def test_a_replace_keeps_only_the_given_rows_and_refuses_a_stale_table(golden_loaded):
    con = golden_loaded.con
    con.execute("DELETE FROM kpi_target")
    first = [{"kpi_id": "defect_rate", "unit_id": "W1", "valid_from": "2025-01-01", "target": 5, "warn": 6},
             {"kpi_id": "oee", "unit_id": "W1", "valid_from": "2025-01-01", "target": 80, "warn": 70}]
    set_targets(con, first)
    opened = targets.fingerprint(con.execute("SELECT * FROM kpi_target").fetchall())
    assert set_targets(con, first[1:], replace=True, expected=opened) == 1
    assert con.execute("SELECT kpi_id FROM kpi_target").fetchall() == [("oee",)]
    # The editor still holds the fingerprint of the two-row table: its save is refused, nothing changes.
    with pytest.raises(ValueError, match="changed elsewhere"):
        set_targets(con, first, replace=True, expected=opened)
    assert con.execute("SELECT kpi_id FROM kpi_target").fetchall() == [("oee",)]
