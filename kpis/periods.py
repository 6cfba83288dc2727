"""Report and baseline periods in plant time: month, year-to-date, rolling 12 months, same month last year."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

PERIOD_KINDS = ("month", "ytd", "r12", "yoy")


@dataclass(frozen=True)
class Window:
    first: date  # first day of the first month
    last: date  # last day of the last month

    def months(self) -> list[date]:
        out, m = [], self.first.replace(day=1)
        while m <= self.last:
            out.append(m)
            m = add_months(m, 1)
        return out


def add_months(d: date, n: int) -> date:
    total = d.year * 12 + d.month - 1 + n
    return date(total // 12, total % 12 + 1, 1)


def month_end(m: date) -> date:
    return add_months(m.replace(day=1), 1) - timedelta(days=1)


def anchor_month(last_data_day: date | None) -> date | None:
    """The last complete month of the data: the month of the last day if that day ends it, else the one before."""
    if last_data_day is None:
        return None
    if last_data_day == month_end(last_data_day):
        return last_data_day.replace(day=1)
    return add_months(last_data_day.replace(day=1), -1)


def report_window(kind: str, anchor: date) -> Window:
    if kind not in PERIOD_KINDS:
        raise ValueError(f"period must be one of {', '.join(PERIOD_KINDS)}")
    if kind in ("month", "yoy"):
        return Window(anchor, month_end(anchor))
    if kind == "ytd":
        return Window(anchor.replace(month=1), month_end(anchor))
    return Window(add_months(anchor, -11), month_end(anchor))


def baseline_window(
    kind: str, anchor: date, configured: Window | None, go_live: date | None
) -> Window:
    """同比 compares with the same month a year earlier; every other view with the frozen baseline period.

    The baseline is the configured period, else the calendar year before go-live (KPIS.md §1).
    """
    if kind == "yoy":
        m = add_months(anchor, -12)
        return Window(m, month_end(m))
    if configured:
        return configured
    if go_live is None:
        raise ValueError("no baseline: set periods.baseline_from/baseline_to or a go-live date")
    return Window(date(go_live.year - 1, 1, 1), date(go_live.year - 1, 12, 31))
