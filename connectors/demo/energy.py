"""EMS readings: 15-minute electricity per line and per workshop auxiliary meter, daily gas, water and steam.

Gas meters with a contract calorific value (meter.csv) carry the measured daily value from go-live on.

A line meter follows its line's state (running, stopped, planned stop, standby outside shifts); an
auxiliary meter (HVAC, lighting, compressed air) follows the shift plan, the season (Chongqing's hot
July-August, cool December-February) and the hour of day; daily media follow the workshop's
produced standard hours plus a base load. Readings of a production day start at 08:00.
"""

from __future__ import annotations

import numpy as np

from connectors.demo import params as P
from connectors.demo.calendar import EPOCH_ORDINAL, day_start_s, ramp, shift_plan
from connectors.demo.master import hashed_uniform, normal_from, rng, unit_factor
from connectors.demo.rows import Rows, empty

TAG_METER = 3
TAG_NCV = 41
QUARTER = 900


def _season(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cooling, heating) intensity per day in [0, 1], from the day of year."""
    d64 = (days - EPOCH_ORDINAL).astype("datetime64[D]")
    doy = (d64 - d64.astype("datetime64[Y]").astype("datetime64[D]")).astype(float)

    def bump(centre: float, width: float) -> np.ndarray:
        dist = np.abs((doy - centre + 182.5) % 365.0 - 182.5)
        return np.exp(-((dist / width) ** 2))

    return bump(P.SUMMER_PEAK[1], P.SUMMER_PEAK[2]), bump(P.WINTER_PEAK[1], P.WINTER_PEAK[2])


def _noise(seed: int, meter_id: str, days: np.ndarray, size: int) -> np.ndarray:
    return np.stack([rng(seed, TAG_METER, meter_id, int(d)).standard_normal(size) for d in days])


def _lines_under(master, unit_id: str) -> list[int]:
    """Indices of the lines at or below a plant, workshop or line."""
    return [i for i, x in enumerate(master.lines) if unit_id in (x.unit_id, x.workshop_id, x.plant_id)]


def _per_day(plant, line_id: str, days: np.ndarray, attr: str) -> np.ndarray:
    """A per-production-day array of a simulated line (rows aligned with `days`)."""
    blocks = [b for _, _, b in plant.line_blocks(int(days[0]), int(days[-1]), {line_id})]
    first = blocks[0].days[0]
    return np.concatenate([getattr(b, attr) for b in blocks])[days - first]


def _line_meter(plant, meter_id: str, line_index: int, days: np.ndarray) -> np.ndarray:
    line = plant.master.lines[line_index]
    run, stop, other = (_per_day(plant, line.unit_id, days, a) for a in ("q_run", "q_stop", "q_other"))
    kw = P.RUN_KW_PER_EQUIPMENT * line.n_equipment * unit_factor(plant.seed, line.unit_id + ":kw", 0.1)
    standby = P.STANDBY_SHARE.at(ramp(days, plant.go_live, P.RAMP_DAYS))[:, None]
    idle = QUARTER - run - stop - other
    kwh = kw * (run + P.LOAD_SHARE_OTHER * other + P.LOAD_SHARE_PLANNED_STOP * stop + standby * idle) / 3600
    return kwh * (1 + P.ELECTRICITY_SD * _noise(plant.seed, meter_id, days, 96))


def _aux_meter(plant, meter_id: str, n_lines: int, days: np.ndarray) -> np.ndarray:
    active = np.repeat(shift_plan(days), 32, axis=1).astype(float)  # (n, 96)
    r = ramp(days, plant.go_live, P.RAMP_DAYS)
    cooling, heating = _season(days)
    hour = (8 + np.arange(96) / 4.0) % 24
    daytime = 0.5 + 0.5 * np.cos(2 * np.pi * (hour - 15) / 24)
    season = (1 + P.SUMMER_PEAK[0] * cooling[:, None] * (0.6 + 0.8 * daytime)
              + P.WINTER_PEAK[0] * heating[:, None] * (1.4 - 0.8 * daytime))
    load = P.AUX_OFF_SHIFT_SHARE + (1 - P.AUX_OFF_SHIFT_SHARE) * active
    kw = P.AUX_KW_PER_LINE.at(r)[:, None] * n_lines * load * season
    return kw * 0.25 * (1 + P.ELECTRICITY_SD * _noise(plant.seed, meter_id, days, 96))


def _daily_meter(plant, meter_id: str, medium: str, lines: list[int], days: np.ndarray) -> np.ndarray:
    base, per_std_h, winter = P.DAILY_MEDIA[medium]
    std_h = sum(_per_day(plant, plant.master.lines[i].unit_id, days, "day_std_h") for i in lines)
    r = ramp(days, plant.go_live, P.RAMP_DAYS)
    working = shift_plan(days).any(axis=1)
    _, heating = _season(days)
    q = (base.at(r) * len(lines) * np.where(working, 1.0, 0.4) * (1 + winter * heating)
         + per_std_h.at(r) * std_h)
    return q * (1 + P.DAILY_SD * _noise(plant.seed, meter_id, days, 1)[:, 0])


def _measured_ncv(plant, meter_id: str, contract_kj_m3: float, days: np.ndarray) -> np.ndarray:
    """Daily low calorific value from the gas chromatograph the EMS reads from go-live on, around the meter's
    contract value; before go-live (and on meters without a contract value) readings carry none."""
    if np.isnan(contract_kj_m3):
        return np.full(len(days), np.nan)
    u = hashed_uniform(plant.seed, TAG_NCV, meter_id, days, 2)
    value = np.round(contract_kj_m3 * (1 + P.NCV_SD * normal_from(u[:, 0], u[:, 1])), 0)
    return np.where(days >= plant.go_live.toordinal(), value, np.nan)


def energy_reading(plant, first_day: int, last_day: int) -> Rows:
    """Readings of every meter over production days first_day..last_day."""
    master = plant.master
    days = np.arange(first_day, last_day + 1, dtype=np.int64)
    line_of = {x.unit_id: i for i, x in enumerate(master.lines)}
    starts = day_start_s(days)
    cols: dict[str, list[np.ndarray]] = {"meter_id": [], "start_at": [], "interval_s": [], "quantity": [],
                                         "ncv_kj_m3": []}
    ties = []
    for m, (meter_id, unit_id, medium, ncv) in enumerate(
            master.meter[["meter_id", "unit_id", "medium", "ncv_kj_m3"]].itertuples(index=False)):
        lines = _lines_under(master, unit_id)
        if not lines:
            continue
        if medium == "electricity":
            if unit_id in line_of:
                q = _line_meter(plant, meter_id, line_of[unit_id], days)
            else:
                q = _aux_meter(plant, meter_id, len(lines), days)
            t = (starts[:, None] + np.arange(96) * QUARTER).ravel()
            q, step = np.round(q.ravel(), 1), QUARTER
        elif medium in P.DAILY_MEDIA:
            q, t, step = np.round(_daily_meter(plant, meter_id, medium, lines, days), 2), starts, 86_400
        else:
            continue
        cols["meter_id"].append(np.full(len(t), meter_id, dtype=object))
        cols["start_at"].append(t)
        cols["interval_s"].append(np.full(len(t), step, dtype=np.int64))
        cols["quantity"].append(np.maximum(q, 0.0))
        daily = step == 86_400
        cols["ncv_kj_m3"].append(_measured_ncv(plant, meter_id, ncv, days) if daily else np.full(len(t), np.nan))
        ties.append(np.full(len(t), m, dtype=np.int64))
    if not ties:
        return empty("energy_reading")
    out = {k: np.concatenate(v) for k, v in cols.items()}
    return Rows(out, out["start_at"] + out["interval_s"], np.concatenate(ties))
