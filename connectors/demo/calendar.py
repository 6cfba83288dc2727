"""Plant calendar: production days, shifts, weekends and Chinese holidays, as arrays of day ordinals.

A production day D runs from D 08:00 to D+1 08:00; shift C (00:00-08:00 on D+1) belongs to D.
Days are `date.toordinal()` integers and times are int64 seconds since 1970-01-01, naive plant time,
so every pattern is vectorised over days and stays a pure function of the date.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np

DAY_S = 86_400
SHIFT_S = 8 * 3600
DAY_START_S = 8 * 3600
SHIFT_CODES = ("A", "B", "C")
SHIFT_OFFSETS_S = np.array([0, SHIFT_S, 2 * SHIFT_S], dtype=np.int64)  # after the production-day start
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

# 春节 (first day of the lunar year). The plant stops around it; the table must cover every demo year.
SPRING_FESTIVAL = {
    2022: date(2022, 2, 1), 2023: date(2023, 1, 22), 2024: date(2024, 2, 10), 2025: date(2025, 1, 29),
    2026: date(2026, 2, 17), 2027: date(2027, 2, 6), 2028: date(2028, 1, 26), 2029: date(2029, 2, 13),
    2030: date(2030, 2, 3), 2031: date(2031, 1, 23),
}
SF_OFF = range(-3, 6)  # days relative to 春节 with no production (9 days)
SF_REDUCED = (-5, -4, 6, 7)  # ramp-down and ramp-up days: shift A only
# Public holidays without production (元旦, 劳动节, 国庆), as (month, day).
HOLIDAYS = ((1, 1), (5, 1), (5, 2), (5, 3), (10, 1), (10, 2), (10, 3), (10, 4), (10, 5))

_SF_ORD = {y: d.toordinal() for y, d in SPRING_FESTIVAL.items()}


def weekday(days: np.ndarray) -> np.ndarray:
    """Monday = 0 ... Sunday = 6 (ordinal 1 is a Monday)."""
    return (days - 1) % 7


def day_start_s(days: np.ndarray) -> np.ndarray:
    """Seconds since the epoch of each production day's 08:00 start."""
    return (np.asarray(days, dtype=np.int64) - EPOCH_ORDINAL) * DAY_S + DAY_START_S


def to_seconds(ts: datetime) -> int:
    return (ts.date().toordinal() - EPOCH_ORDINAL) * DAY_S + ts.hour * 3600 + ts.minute * 60 + ts.second


def to_datetime64(seconds: np.ndarray) -> np.ndarray:
    return np.asarray(seconds, dtype=np.int64).astype("datetime64[s]").astype("datetime64[us]")


def production_day(ts: datetime) -> int:
    """Ordinal of the production day a timestamp belongs to."""
    return (ts - timedelta(seconds=DAY_START_S)).date().toordinal()


def _year_month_day(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d64 = (np.asarray(days, dtype=np.int64) - EPOCH_ORDINAL).astype("datetime64[D]")
    months = d64.astype("datetime64[M]")
    year = months.astype(np.int64) // 12 + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (d64 - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def spring_festival_offset(days: np.ndarray) -> np.ndarray:
    """Days since 春节 of the same year (large when the year is not in the table)."""
    year, _, _ = _year_month_day(days)
    years, inverse = np.unique(year, return_inverse=True)
    sf = np.array([_SF_ORD.get(int(y), -100_000) for y in years], dtype=np.int64)
    return np.asarray(days, dtype=np.int64) - sf[inverse]


def shift_plan(days: np.ndarray) -> np.ndarray:
    """Planned shifts (n_days, 3): Mon-Fri A+B+C, Saturday A+B, Sunday and holidays none, 春节 shutdown."""
    days = np.asarray(days, dtype=np.int64)
    wd = weekday(days)
    plan = np.ones((len(days), 3), dtype=bool)
    plan[wd == 5, 2] = False
    plan[wd == 6, :] = False
    _, month, day = _year_month_day(days)
    for m, d in HOLIDAYS:
        plan[(month == m) & (day == d), :] = False
    sf = spring_festival_offset(days)
    plan[np.isin(sf, list(SF_OFF)), :] = False
    plan[np.isin(sf, SF_REDUCED), 1:] = False
    return plan


def ramp(days: np.ndarray, go_live: date, ramp_days: float) -> np.ndarray:
    """Share of the improvement in effect: 0 before go-live, smoothstep to 1 over `ramp_days`."""
    x = np.clip((np.asarray(days, dtype=float) - go_live.toordinal()) / ramp_days, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def month_index(days: np.ndarray) -> np.ndarray:
    """year * 12 + month - 1 of each calendar day."""
    year, month, _ = _year_month_day(days)
    return year * 12 + month - 1


def month_start(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def ymd_code(days: np.ndarray) -> np.ndarray:
    """YYYYMMDD integers, for readable record ids."""
    year, month, day = _year_month_day(days)
    return year * 10_000 + month * 100 + day


def days_between(first: date, last: date) -> np.ndarray:
    """Ordinals first..last inclusive."""
    return np.arange(first.toordinal(), last.toordinal() + 1, dtype=np.int64)
