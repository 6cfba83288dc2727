"""QMS streams from the simulated lines: measured key characteristics and first-test results per shift.

Each product has one key characteristic with limits (master/characteristic.csv). Its process sits
off centre and spreads less after go-live, so Cpk climbs from about 1.0 to about 1.5; a per-line
factor and a daily drift keep lines and months apart. The end-of-line test sees every part of the
shift; parts that fail once and pass a retest (no fault found) are not first-pass good. Each machine also
gets a short capability study once a quarter (measurements with a study_id, for Cm and Cmk).
"""

from __future__ import annotations

import numpy as np

from connectors.demo import params as P
from connectors.demo.calendar import SHIFT_S, ramp, weekday, ymd_code
from connectors.demo.master import hashed_uniform, normal_from, stable_hash, unit_factor
from connectors.demo.mes import Blocks, _shift_day_code, _unit
from connectors.demo.rows import Rows, ordinal_of_seconds, strings

TAG_MEASURE, TAG_DRIFT, TAG_RETEST, TAG_STUDY = 21, 22, 23, 24
SAMPLE_AFTER_S = 4 * 3600  # the sample is taken 4 h into the shift
PART_S = 60  # consecutive parts, a minute apart


def measurement(plant, blocks: Blocks) -> Rows:
    master = plant.master
    spec = master.characteristic
    lsl, usl = spec["lsl"].to_numpy(float), spec["usl"].to_numpy(float)
    names = spec["characteristic"].to_numpy(object)
    k = P.SAMPLE_PARTS
    parts = []
    for i, line, b in blocks:
        sel = np.flatnonzero(b.sh_produced > 0)
        if not len(sel):
            continue
        x = b.sh_product[sel]
        at = (b.sh_start[sel] + SAMPLE_AFTER_S)[:, None] + PART_S * np.arange(k)
        r = ramp(ordinal_of_seconds(b.sh_start[sel]), plant.go_live, P.RAMP_DAYS)
        side = 1.0 if unit_factor(plant.seed, line.unit_id + ":bias", 1.0) >= 1.0 else -1.0
        sd = P.PROCESS_SD.at(r) * unit_factor(plant.seed, line.unit_id + ":spread", 0.12)
        day = ordinal_of_seconds(b.sh_start[sel] - 8 * 3600)
        d = hashed_uniform(plant.seed, TAG_DRIFT, line.unit_id, day, 2)
        centre = side * P.MEAN_BIAS.at(r) + P.DAY_DRIFT_SD * normal_from(d[:, 0], d[:, 1])
        u = hashed_uniform(plant.seed, TAG_MEASURE, line.unit_id, b.sh_start[sel], 2 * k)
        z = normal_from(u[:, :k], u[:, k:])
        half, mid = (usl[x] - lsl[x]) / 2, (usl[x] + lsl[x]) / 2
        value = np.round(mid[:, None] + half[:, None] * (centre[:, None] + sd[:, None] * z), 4)
        n = len(sel) * k
        codes = np.repeat(_shift_day_code(b.sh_start[sel], b.sh_code[sel]), k)
        parts.append(Rows(
            {
                "measurement_id": strings(f"MS-{line.unit_id}-", codes, "-", np.tile(np.arange(1, k + 1), len(sel))),
                "unit_id": _unit(line, n),
                "product_id": np.repeat(master.product_ids[x], k),
                "characteristic": np.repeat(names[x], k),
                "measured_at": at.ravel(),
                "value": value.ravel(),
                "lsl": np.repeat(lsl[x], k),
                "usl": np.repeat(usl[x], k),
                "study_id": np.full(n, None, dtype=object),
            },
            at.ravel(), np.full(n, i, dtype=np.int64)))
        parts += machine_studies(plant, i, line, b)
    return Rows.concat(parts, "measurement")


def machine_studies(plant, i: int, line, b) -> list[Rows]:
    """Quarterly capability studies of each machine of the line: STUDY_PARTS parts from one session in shift A."""
    spec = plant.master.characteristic
    lsl, usl = spec["lsl"].to_numpy(float), spec["usl"].to_numpy(float)
    names = spec["characteristic"].to_numpy(object)
    sel = np.flatnonzero((b.sh_code == 0) & (b.sh_produced > 0))
    day = ordinal_of_seconds(b.sh_start[sel] - 8 * 3600)
    side = 1.0 if unit_factor(plant.seed, line.unit_id + ":bias", 1.0) >= 1.0 else -1.0
    k, out = P.STUDY_PARTS, []
    for j, eq in enumerate(line.equipment):
        week_slot, weekday_slot = stable_hash(eq) % P.STUDY_INTERVAL_WEEKS, stable_hash(eq + ":study") % 4
        pick = sel[((day - 1) // 7 + week_slot) % P.STUDY_INTERVAL_WEEKS == 0]
        pick = pick[weekday(ordinal_of_seconds(b.sh_start[pick] - 8 * 3600)) == weekday_slot]
        if not len(pick):
            continue
        x, start = b.sh_product[pick], b.sh_start[pick]
        on = ordinal_of_seconds(start - 8 * 3600)
        at = (start + P.STUDY_AFTER_S)[:, None] + P.STUDY_PART_S * np.arange(k)
        r = b.sh_ramp[pick]
        d = hashed_uniform(plant.seed, TAG_DRIFT, line.unit_id, on, 2)
        centre = side * P.MEAN_BIAS.at(r) + P.DAY_DRIFT_SD * normal_from(d[:, 0], d[:, 1])
        sd = P.PROCESS_SD.at(r) * P.MACHINE_SD_SHARE * unit_factor(plant.seed, eq + ":spread", 0.12)
        u = hashed_uniform(plant.seed, TAG_STUDY, eq, start, 2 * k)
        z = normal_from(u[:, :k], u[:, k:])
        half, mid = (usl[x] - lsl[x]) / 2, (usl[x] + lsl[x]) / 2
        value = np.round(mid[:, None] + half[:, None] * (centre[:, None] + sd[:, None] * z), 4)
        n = len(pick) * k
        study = strings(f"CM-{eq}-", ymd_code(on))
        out.append(Rows(
            {
                "measurement_id": strings(f"MS-{eq}-", np.repeat(ymd_code(on), k), "-",
                                          np.tile(np.arange(1, k + 1), len(pick))),
                "unit_id": np.full(n, eq, dtype=object),
                "product_id": np.repeat(plant.master.product_ids[x], k),
                "characteristic": np.repeat(names[x], k),
                "measured_at": at.ravel(),
                "value": value.ravel(),
                "lsl": np.repeat(lsl[x], k),
                "usl": np.repeat(usl[x], k),
                "study_id": np.repeat(study, k),
            },
            at.ravel(), np.full(n, 1000 + 10 * i + j, dtype=np.int64)))
    return out


def first_pass_test(plant, blocks: Blocks) -> Rows:
    parts = []
    for i, line, b in blocks:
        sel = np.flatnonzero(b.sh_produced > 0)
        tested = b.sh_produced[sel]
        good = tested - b.sh_defective[sel]
        p = P.NO_FAULT_FOUND.at(ramp(ordinal_of_seconds(b.sh_start[sel]), plant.go_live, P.RAMP_DAYS))
        u = hashed_uniform(plant.seed, TAG_RETEST, line.unit_id, b.sh_start[sel], 2)
        retest = np.clip(np.floor(good * p + np.sqrt(good * p * (1 - p)) * normal_from(u[:, 0], u[:, 1]) + 0.5),
                         0, good)
        at = b.sh_start[sel] + SHIFT_S + 300
        n = len(sel)
        parts.append(Rows(
            {
                "record_id": strings(f"FP-{line.unit_id}-", _shift_day_code(b.sh_start[sel], b.sh_code[sel])),
                "unit_id": _unit(line, n),
                "product_id": plant.master.product_ids[b.sh_product[sel]],
                "tested_at": at,
                "tested_qty": tested,
                "first_pass_qty": good - retest,
            },
            at, np.full(n, i, dtype=np.int64)))
    return Rows.concat(parts, "first_pass_test")


STREAMS = {"measurement": measurement, "first_pass_test": first_pass_test}
