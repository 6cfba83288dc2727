"""MES maintenance work orders: a corrective order per breakdown interval, preventive orders planned on Sundays.

Corrective orders are the breakdown intervals of equipment_state (same start, same end as the
restoration, the breakdown reason as failure code), each booked on one equipment of the line, so
the MTBF and MTTR of the cockpit agree with the state stream. Preventive orders follow a fixed
interval per equipment; some are done a week or two late and a few never, fewer after go-live.
"""

from __future__ import annotations

import numpy as np

from connectors.demo import params as P
from connectors.demo.calendar import DAY_S, EPOCH_ORDINAL, ramp, ymd_code
from connectors.demo.master import Line, hashed_uniform, normal_from
from connectors.demo.production import BREAKDOWN, REASONS
from connectors.demo.rows import Rows, ordinal_of_seconds, strings

TAG_FAILURE, TAG_EQUIPMENT, TAG_PM = 11, 12, 13
_COLUMNS = ("event_id", "unit_id", "kind", "failure_code", "start_at", "end_at", "planned_on")


def _stamp(seconds: np.ndarray) -> np.ndarray:
    """YYYYMMDDHHMMSS of each timestamp, for readable work order ids."""
    s = seconds % DAY_S
    return ymd_code(ordinal_of_seconds(seconds)) * 1_000_000 + (s // 3600) * 10_000 + (s % 3600 // 60) * 100 + s % 60


def failure_weights(seed: int, line: Line) -> np.ndarray:
    """How the line's failures spread over its equipment: a fixed, uneven share per machine."""
    u = hashed_uniform(seed, TAG_EQUIPMENT, line.unit_id, np.arange(len(line.equipment)), 2)
    w = np.exp(P.EQUIPMENT_FAILURE_SD * normal_from(u[:, 0], u[:, 1]))
    return w / w.sum()


def corrective(plant, blocks) -> Rows:
    parts = []
    for i, line, b in blocks:
        if not line.equipment:
            continue
        hit = np.flatnonzero(b.st_state == BREAKDOWN)
        start, end = b.st_start[hit], b.st_end[hit]
        u = hashed_uniform(plant.seed, TAG_FAILURE, line.unit_id, start, 1)[:, 0]
        cum = np.cumsum(failure_weights(plant.seed, line))
        machine = np.minimum(np.searchsorted(cum, u * cum[-1], side="right"), len(cum) - 1)
        n = len(hit)
        parts.append(Rows(
            {
                "event_id": strings(f"CM-{line.unit_id}-", _stamp(start)),
                "unit_id": np.array(line.equipment, dtype=object)[machine],
                "kind": np.full(n, "corrective", dtype=object),
                "failure_code": np.array(REASONS, dtype=object)[b.st_reason[hit]],
                "start_at": start.astype(np.float64),
                "end_at": end.astype(np.float64),
                "planned_on": np.full(n, np.nan),
            },
            end, np.full(n, i, dtype=np.int64)))
    return Rows.concat(parts, "maintenance_event")


def preventive(plant, first_day: int, last_day: int) -> Rows:
    """Orders planned on the Sundays of first_day - 21 .. last_day (done up to two weeks late)."""
    sundays = np.arange(first_day - 21, last_day + 1, dtype=np.int64)
    sundays = sundays[(sundays - 1) % 7 == 6]
    week = (sundays - 1) // 7
    r = ramp(sundays, plant.go_live, P.RAMP_DAYS)
    cols: dict[str, list[np.ndarray]] = {k: [] for k in _COLUMNS}
    done_at, ties = [], []
    for e, equipment in enumerate(x for line in plant.master.lines for x in line.equipment):
        key = hashed_uniform(plant.seed, TAG_PM, equipment, np.zeros(1), 2)[0]
        interval = P.PM_INTERVAL_WEEKS[int(key[0] * len(P.PM_INTERVAL_WEEKS))]
        due = (week + int(key[1] * interval)) % interval == 0
        day, rr = sundays[due], r[due]
        u = hashed_uniform(plant.seed, TAG_PM, equipment, day, 6)
        missed = u[:, 0] < P.PM_MISSED.at(rr)
        late = ~missed & (u[:, 1] < P.PM_LATE.at(rr))
        done_day = day + 7 * late * (1 + (u[:, 2] < P.PM_LATE_TWO_WEEKS))
        start = (done_day - EPOCH_ORDINAL) * DAY_S + 8 * 3600 + 1800 + np.floor(u[:, 3] * 4 * 3600).astype(np.int64)
        hours = P.PM_HOURS.at(rr) * np.exp(0.3 * normal_from(u[:, 4], u[:, 5]))
        end = start + np.round(hours * 3600 / 300).astype(np.int64) * 300
        n = len(day)
        cols["event_id"].append(strings(f"PM-{equipment}-", ymd_code(day)))
        cols["unit_id"].append(np.full(n, equipment, dtype=object))
        cols["kind"].append(np.full(n, "preventive", dtype=object))
        cols["failure_code"].append(np.full(n, None, dtype=object))
        cols["start_at"].append(np.where(missed, np.nan, start.astype(np.float64)))
        cols["end_at"].append(np.where(missed, np.nan, end.astype(np.float64)))
        cols["planned_on"].append(day.astype(np.float64))
        # a missed order is closed as not done at 08:00 a week after its planned day
        done_at.append(np.where(missed, (day + 7 - EPOCH_ORDINAL) * DAY_S + 8 * 3600, end))
        ties.append(np.full(n, 1000 + e, dtype=np.int64))
    return Rows({k: np.concatenate(v) for k, v in cols.items()}, np.concatenate(done_at), np.concatenate(ties))


def maintenance_event(plant, first_day: int, last_day: int) -> Rows:
    return Rows.concat([corrective(plant, plant.line_blocks(first_day, last_day)),
                        preventive(plant, first_day, last_day)], "maintenance_event")
