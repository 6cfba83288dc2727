"""DemoPlant: the generator's one entry point, generate(stream, start, end) -> canonical DataFrame.

A row belongs to [start, end) when it is complete by then (interval end, shift end, inspection
time, end of day, first day of the next month for ERP months), so a live caller that asks for
(last high-water mark, now) every few minutes gets every record exactly once. Simulated lines are
cached per calendar month of production days, so asking for many streams costs one simulation.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from connectors.demo import (
    business,
    customers,
    energy,
    logistics,
    maintenance,
    materials,
    mes,
    orders,
    qms,
    upkeep,
    warehouse,
)
from connectors.demo import params as P
from connectors.demo.calendar import days_between, month_index, production_day, to_seconds
from connectors.demo.master import MASTER_STREAMS, load_master
from connectors.demo.production import LineBlock, simulate
from connectors.demo.rows import Rows, empty, frame

_CACHE_LIMIT = 4_000


def _naive(ts) -> datetime:
    """Accept datetime, date or pandas Timestamp; aware times are converted to plant time."""
    ts = pd.Timestamp(ts)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("Asia/Shanghai").tz_localize(None)
    return ts.to_pydatetime().replace(microsecond=0)


# WMS counts, picks and receipts, CRM complaints, ERP forecast and maintenance cost, EMS green electricity ledger
OPERATIONS = (*logistics.STREAMS, *customers.STREAMS, "maintenance_cost", "green_electricity")


class DemoPlant:
    """A deterministic demo plant: a pure function of (seed, unit, time), read from master CSVs."""

    STREAMS = (*MASTER_STREAMS, *mes.STREAMS, "maintenance_event", *qms.STREAMS, "energy_reading", *business.STREAMS,
               *orders.STREAMS, *warehouse.STREAMS, *materials.STREAMS, *OPERATIONS)

    def __init__(self, master_dir: Path | str, seed: int = 42, go_live: date | str = date(2025, 1, 1)):
        self.master = load_master(Path(master_dir))
        self.seed = int(seed)
        self.go_live = go_live if isinstance(go_live, date) else date.fromisoformat(str(go_live))
        self._blocks: dict[tuple[int, int], LineBlock] = {}

    def generate(self, stream: str, start: datetime, end: datetime) -> pd.DataFrame:
        """Rows of `stream` completed in [start, end), canonical columns and dtypes, time-ordered."""
        if stream in MASTER_STREAMS:
            return getattr(self.master, stream).copy()
        if stream not in self.STREAMS:
            raise ValueError(f"unknown stream '{stream}'; one of {', '.join(self.STREAMS)}")
        start, end = _naive(start), _naive(end)
        if end <= start:
            return frame(stream, empty(stream))
        rows = self.rows(stream, start, end)
        return frame(stream, rows.window(to_seconds(start), to_seconds(end)))

    def rows(self, stream: str, start: datetime, end: datetime) -> Rows:
        """Candidate rows covering the window (a superset; `generate` trims them)."""
        first, last = production_day(start) - 1, production_day(end)
        if stream in mes.STREAMS:
            return mes.STREAMS[stream](self.master, self.line_blocks(first, last))
        if stream == "maintenance_event":
            return maintenance.maintenance_event(self, first, last)
        if stream in qms.STREAMS:
            return qms.STREAMS[stream](self, self.line_blocks(first, last))
        if stream in materials.STREAMS:
            return materials.STREAMS[stream](self, self.line_blocks(first, last))
        if stream == "energy_reading":
            return energy.energy_reading(self, first, last)
        if stream in business.STREAMS:
            # a month is complete on the first day of the next one
            months = np.arange(month_index(np.array([first]))[0] - 1, month_index(np.array([last + 1]))[0] + 1)
            return business.STREAMS[stream](self, months)
        if stream in OPERATIONS:
            return self._operations(stream, start, end, first, last)
        if stream in orders.STREAMS:
            # a line completes up to LOOKBACK_DAYS after its order day
            days = days_between(start.date() - timedelta(days=orders.LOOKBACK_DAYS), end.date())
            return orders.STREAMS[stream](self, days)
        days = days_between(start.date() - timedelta(days=1), end.date())
        return warehouse.STREAMS[stream](self, days)

    def _operations(self, stream: str, start: datetime, end: datetime, first: int, last: int) -> Rows:
        """Candidate rows of an operations stream, each with the look-back its source rows need."""
        if stream == "cycle_count":
            return logistics.cycle_count(self, days_between(start.date() - timedelta(days=1), end.date()))
        if stream == "maintenance_cost":  # posted on the day a work order ends
            return upkeep.maintenance_cost(self, maintenance.maintenance_event(self, first - 2, last))
        if stream == "green_electricity":  # a month is complete on the first day of the next one
            months = np.arange(month_index(np.array([first]))[0] - 1, month_index(np.array([last + 1]))[0] + 1)
            return upkeep.green_electricity(self, months)
        if stream == "demand_forecast":  # frozen in the month before the one it forecasts
            return customers.demand_forecast(self, customers.forecast_months(first, last + 1))
        # picks come a day or two before delivery, put-away up to a week after receipt, complaints a month after
        back = {"pick_task": 0, "goods_receipt": 10, "complaint": P.COMPLAINT_DELAY_DAYS[1] + 1}[stream]
        days = days_between(start.date() - timedelta(days=orders.LOOKBACK_DAYS + back), end.date() + timedelta(days=2))
        build = logistics.STREAMS.get(stream) or customers.STREAMS[stream]
        return build(self, days)

    def line_blocks(self, first_day: int, last_day: int, line_ids: set[str] | None = None) -> mes.Blocks:
        """Simulated lines over whole months covering production days first_day..last_day."""
        months = range(int(month_index(np.array([first_day]))[0]), int(month_index(np.array([last_day]))[0]) + 1)
        out = []
        for i, line in enumerate(self.master.lines):
            if line_ids is not None and line.unit_id not in line_ids:
                continue
            for m in months:
                out.append((i, line, self._block(i, m)))
        return out

    def _block(self, line_index: int, month: int) -> LineBlock:
        key = (line_index, month)
        if key not in self._blocks:
            if len(self._blocks) >= _CACHE_LIMIT:
                self._blocks.clear()
            first = date(month // 12, month % 12 + 1, 1)
            nxt = date((month + 1) // 12, (month + 1) % 12 + 1, 1)
            days = days_between(first, nxt - timedelta(days=1))
            self._blocks[key] = simulate(self.master, self.seed, self.go_live, self.master.lines[line_index], days)
        return self._blocks[key]
