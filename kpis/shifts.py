"""The plant's shift calendar: which shift a timestamp falls in, as SQL the engine's shift pass buckets by.

A production day is cut into shifts at fixed offsets from the day start (the first shift starts the
day), so every shift belongs to exactly one production day and the day is the sum of its shifts.
A record counts in the shift its start falls in, as it counts in the day its start falls in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DAY_MINUTES = 24 * 60
MAX_SHIFTS = 6
SHIFT_DAYS = 35  # production days of shift snapshots kept back from the latest data: five weeks of shifts


class ShiftError(ValueError):
    """A shift calendar that cannot cut a production day into shifts."""


@dataclass(frozen=True)
class Shift:
    code: str  # as the MES names it: A, B, C, 白班, 夜班 ...
    offset_minutes: int  # from the production-day start


def default_shifts() -> tuple[Shift, ...]:
    """Three eight-hour shifts A, B, C from the day start: the most common pattern in the guides' plants."""
    return (Shift("A", 0), Shift("B", 8 * 60), Shift("C", 16 * 60))


def _minutes(text: str, where: str) -> int:
    m = re.match(r"^(\d{1,2}):(\d{2})$", str(text))
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ShiftError(f"{where} = {text!r} is not a time like 08:00")
    return int(m.group(1)) * 60 + int(m.group(2))


def parse_shifts(raw: list, day_start_minutes: int) -> tuple[Shift, ...]:
    """`[{code = "A", start = "08:00"}, ...]` in any order; the first must start the production day."""
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_SHIFTS:
        raise ShiftError(f"plant.shifts must list 1 to {MAX_SHIFTS} shifts like {{code = \"A\", start = \"08:00\"}}")
    shifts = []
    for i, item in enumerate(raw):
        where = f"plant.shifts[{i}]"
        if not isinstance(item, dict) or set(item) != {"code", "start"}:
            raise ShiftError(f"{where} must have exactly a code and a start, like {{code = \"A\", start = \"08:00\"}}")
        code = str(item["code"]).strip()
        if not code or len(code) > 16:
            raise ShiftError(f"{where}.code must be 1 to 16 characters")
        offset = (_minutes(item["start"], f"{where}.start") - day_start_minutes) % DAY_MINUTES
        shifts.append(Shift(code, offset))
    shifts.sort(key=lambda s: s.offset_minutes)
    if shifts[0].offset_minutes != 0:
        raise ShiftError("plant.shifts: one shift must start when the production day starts (plant.day_start), "
                         "so that every shift belongs to one production day")
    for a, b in zip(shifts, shifts[1:]):
        if a.offset_minutes == b.offset_minutes:
            raise ShiftError(f"plant.shifts: {a.code} and {b.code} start at the same time")
    codes = [s.code for s in shifts]
    if len(set(codes)) != len(codes):
        raise ShiftError("plant.shifts: shift codes must be unique")
    return tuple(shifts)


DAY_US = 86_400_000_000


def _into_day(ts: str, day_start_minutes: int) -> str:
    """Micros from the start of the production day `ts` falls in (integer arithmetic, like prod_day)."""
    start_us = int(day_start_minutes) * 60_000_000
    return f"(((epoch_us({ts}) - {start_us}) % {DAY_US}) + {DAY_US}) % {DAY_US}"


def _offset_case(since_day_start_us: str, shifts: tuple[Shift, ...], then) -> str:
    """CASE choosing the latest shift that starts at or before the given micros into the production day."""
    whens = " ".join(f"WHEN {since_day_start_us} >= {int(s.offset_minutes) * 60_000_000} THEN {then(s)}"
                     for s in reversed(shifts))
    return f"CASE {whens} END"


def shift_start_sql(day_start_minutes: int, shifts: tuple[Shift, ...]) -> str:
    """Body of a macro `(ts)` returning the start of the shift `ts` falls in (integer arithmetic, like prod_day).

    Only validated integers from the configuration are formatted into the SQL.
    """
    into = _into_day("ts", day_start_minutes)
    offset = _offset_case(into, shifts, lambda s: int(s.offset_minutes) * 60_000_000)
    return f"make_timestamp(epoch_us(ts) - {into} + {offset})"


def shift_code_sql(column: str, day_start_minutes: int, shifts: tuple[Shift, ...]) -> str:
    """The code of the shift starting at `column` (a shift start), from the `shift_codes` session variable."""
    return _offset_case(_into_day(column, day_start_minutes), shifts, lambda s: f"getvariable('shift_codes')[{shifts.index(s) + 1}]")
