"""MES streams from the simulated lines: production records, state intervals, plan, labour and final inspection."""

from __future__ import annotations

import numpy as np

from connectors.demo import params as P
from connectors.demo.calendar import DAY_START_S, SHIFT_CODES, SHIFT_S, ymd_code
from connectors.demo.master import Line, Master
from connectors.demo.production import REASONS, LineBlock
from connectors.demo.rows import Rows, ordinal_of_seconds, strings
from connectors.schema import STATES

Blocks = list[tuple[int, Line, LineBlock]]  # (line index, line, block)


def _hour_code(seconds: np.ndarray) -> np.ndarray:
    """YYYYMMDDHH of each timestamp."""
    return ymd_code(ordinal_of_seconds(seconds)) * 100 + (seconds % 86_400) // 3600


def _shift_day_code(start: np.ndarray, code: np.ndarray) -> np.ndarray:
    """YYYYMMDD of the production day a shift belongs to, followed by its shift letter."""
    day = ordinal_of_seconds(start - DAY_START_S)
    return strings(ymd_code(day), np.array(SHIFT_CODES)[code])


def _unit(line: Line, n: int) -> np.ndarray:
    return np.full(n, line.unit_id, dtype=object)


def production_record(master: Master, blocks: Blocks) -> Rows:
    parts = []
    for i, line, b in blocks:
        n = len(b.hr_start)
        good = b.hr_produced - b.hr_scrap - b.hr_rework
        parts.append(Rows(
            {
                "record_id": strings(f"PR-{line.unit_id}-", _hour_code(b.hr_start)),
                "unit_id": _unit(line, n),
                "product_id": master.product_ids[b.hr_product],
                "order_id": b.hr_order,
                "start_at": b.hr_start,
                "end_at": b.hr_start + 3600,
                "produced_qty": b.hr_produced,
                "good_qty": good,
                "scrap_qty": b.hr_scrap,
                "rework_qty": b.hr_rework,
            },
            b.hr_start + 3600, np.full(n, i, dtype=np.int64)))
    return Rows.concat(parts, "production_record")


def equipment_state(master: Master, blocks: Blocks) -> Rows:
    reasons = np.array([r if r else None for r in REASONS], dtype=object)
    parts = []
    for i, line, b in blocks:
        n = len(b.st_start)
        parts.append(Rows(
            {
                "unit_id": _unit(line, n),
                "start_at": b.st_start,
                "end_at": b.st_end,
                "state": np.array(STATES, dtype=object)[b.st_state],
                "reason_code": reasons[b.st_reason],
            },
            b.st_end, np.full(n, i, dtype=np.int64)))
    return Rows.concat(parts, "equipment_state")


def planned_time(master: Master, blocks: Blocks) -> Rows:
    parts = []
    for i, line, b in blocks:
        n = len(b.sh_start)
        parts.append(Rows(
            {
                "unit_id": _unit(line, n),
                "shift_start_at": b.sh_start,
                "shift_code": np.array(SHIFT_CODES, dtype=object)[b.sh_code],
                "planned_s": np.full(n, float(SHIFT_S)),
                "planned_qty": b.sh_planned_qty,
                "planned_scrap_qty": b.sh_planned_scrap,
            },
            b.sh_start + SHIFT_S, np.full(n, i, dtype=np.int64)))
    return Rows.concat(parts, "planned_time")


def labor_time(master: Master, blocks: Blocks) -> Rows:
    parts = []
    for i, line, b in blocks:
        n = len(b.sh_start)
        parts.append(Rows(
            {"unit_id": _unit(line, n), "shift_start_at": b.sh_start, "worker_h": b.sh_worker_h,
             "attendance_h": b.sh_attendance_h},
            b.sh_start + SHIFT_S, np.full(n, i, dtype=np.int64)))
    return Rows.concat(parts, "labor_time")


def quality_inspection(master: Master, blocks: Blocks) -> Rows:
    types = np.array(P.DEFECT_TYPES, dtype=object)
    parts = []
    for i, line, b in blocks:
        lot = b.sh_produced > 0
        n = int(lot.sum())
        defective = b.sh_defective[lot]
        parts.append(Rows(
            {
                "lot_id": strings(f"QC-{line.unit_id}-", _shift_day_code(b.sh_start[lot], b.sh_code[lot])),
                "unit_id": _unit(line, n),
                "product_id": master.product_ids[b.sh_product[lot]],
                "inspected_at": b.sh_inspected_at[lot],
                "stage": np.full(n, "final", dtype=object),
                "inspected_qty": b.sh_produced[lot],
                "defective_qty": defective,
                "defect_type": np.where(defective > 0, types[b.sh_defect_type[lot]], None),
            },
            b.sh_inspected_at[lot], np.full(n, i, dtype=np.int64)))
    return Rows.concat(parts, "quality_inspection")


STREAMS = {
    "production_record": production_record,
    "equipment_state": equipment_state,
    "planned_time": planned_time,
    "labor_time": labor_time,
    "quality_inspection": quality_inspection,
}
