"""人均产值's monthly average headcount (KPIS.md §1): the ERP's monthly average where exported, else the mean of
an HR roster's counts, or (previous month-end + month-end) / 2 when only month-end counts exist.

Golden plant: P1's January 2025 output value is 88 400 元 = 8.84 万元.
"""

from __future__ import annotations

import pytest

from cockpit import config
from cockpit.writer import Writer
from kpis.coverage import indicator
from tests.conftest import NOW, kpi

COUNTS = """
[connectors.roster]
system = "erp"
kind = "csv"
stream = "headcount_count"
path = "roster.csv"
schedule = "1h"
"""


def _per_head(golden_dir, roster: str, monthly: bool):
    toml = golden_dir / "cockpit.toml"
    text = toml.read_text(encoding="utf-8")
    if not monthly:  # the plant exports no monthly average: only the roster
        text = text.replace('[connectors.headcount]\nsystem = "erp"\nkind = "csv"\nstream = "headcount"\n'
                            'path = "headcount.csv"\nschedule = "1h"\n', "")
    toml.write_text(text + COUNTS, encoding="utf-8")
    (golden_dir / "roster.csv").write_text("unit_id,count_on,employees\n" + roster, encoding="utf-8")
    writer = Writer(config.load(toml, environ={}), clock=lambda: NOW)
    try:
        results = writer.load()
        assert all(r.status in ("ok", "unchanged") for r in results), [(r.connector, r.error) for r in results]
        writer.compute()
        return kpi(writer.con, "output_value_per_head", "P1")
    finally:
        writer.close()


def test_daily_counts_average_to_their_mean(golden_dir):
    # 20 employees on 1-15 January, 22 on 16-31: (15 x 20 + 16 x 22) / 31 = 652 / 31 = 21.032 person-months
    roster = "".join(f"P1,2025-01-{d:02d},{20 if d <= 15 else 22}\n" for d in range(1, 32))
    value, numerator, denominator, status = _per_head(golden_dir, roster, monthly=False)
    assert status == "ok" and denominator == pytest.approx(652 / 31, rel=1e-12)
    assert value == pytest.approx(8.84 / (652 / 31), rel=1e-12)


def test_month_end_counts_average_the_start_and_the_end(golden_dir):
    # only month-end counts: December 18, January 22 -> January (18 + 22) / 2 = 20 person-months
    value, _n, denominator, status = _per_head(golden_dir, "P1,2024-12-31,18\nP1,2025-01-31,22\n", monthly=False)
    assert status == "ok" and denominator == 20 and value == pytest.approx(8.84 / 20, rel=1e-12)


def test_the_first_month_end_count_stands_alone(golden_dir):
    # no count before January 31: its average is that count, 22
    _v, _n, denominator, _s = _per_head(golden_dir, "P1,2025-01-31,22\n", monthly=False)
    assert denominator == 22


def test_an_exported_monthly_average_wins_over_roster_counts(golden_dir):
    # headcount.csv says 20 for January; the roster's 30 must not be added to it or replace it
    _v, _n, denominator, _s = _per_head(golden_dir, "P1,2025-01-15,30\n", monthly=True)
    assert denominator == 20


def test_a_roster_alone_feeds_the_per_head_indicator():
    status = {"output_value_per_head": "ok"}
    fed = indicator("output_value_per_head", status, {"output_value", "headcount_count"})
    assert fed["status"] == "computed" and not fed["needs"]
    unfed = indicator("output_value_per_head", status, {"output_value"})
    assert unfed["status"] == "needs" and unfed["needs"] == ["ERP headcount(avg_employees) or ERP headcount_count"]
