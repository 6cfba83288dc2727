"""One line over a set of production days: state intervals, hourly output, shift totals and 15-min load.

Every random number comes from the stream of (seed, line, day), drawn in a fixed shape whether or
not a shift is planned, so a day looks the same whatever window asks for it. The work is
vectorised over shifts: each planned shift is a fixed row of 49 slots (setup, 4 work blocks of
running pieces and stop events, 4 planned stops) whose zero-length slots are dropped at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from connectors.demo import params as P
from connectors.demo.calendar import SHIFT_OFFSETS_S, SHIFT_S, day_start_s, ramp, shift_plan
from connectors.demo.master import Line, Master, rng, unit_factor
from connectors.demo.schedule import campaigns
from connectors.schema import STATES

TAG_DAY = 1
RUN, SETUP, BREAKDOWN, MINOR, IDLE, PSTOP = (STATES.index(s) for s in
                                             ("running", "setup", "breakdown", "minor_stop", "idle", "planned_stop"))
REASONS = ("", P.SETUP_REASON, *P.BREAKDOWN_REASONS, *P.MINOR_REASONS, *P.IDLE_REASONS, "P01", "P02", "P03")
M = 2 + P.MINOR_SLOTS  # event slots per block: breakdown, minor stops, idle
SLOT_STATE = np.array([BREAKDOWN] + [MINOR] * P.MINOR_SLOTS + [IDLE])
NB = len(P.BLOCKS)
NU, NZ = 112, 32  # uniforms and normals drawn per shift slot
_BIG = 100_000  # spacing of shifts on the interpolation axis (> one shift in seconds)


def _reason_index(codes: tuple[str, ...], weights: tuple[float, ...], u: np.ndarray) -> np.ndarray:
    cum = np.cumsum(weights) / np.sum(weights)
    pick = np.minimum(np.searchsorted(cum, u, side="right"), len(codes) - 1)
    return np.array([REASONS.index(c) for c in codes])[pick]


@dataclass
class LineBlock:
    """Everything generated for one line over `days`; times are int64 seconds (see calendar)."""

    days: np.ndarray
    plan: np.ndarray  # (n, 3)
    # state intervals, time-sorted
    st_start: np.ndarray
    st_end: np.ndarray
    st_state: np.ndarray
    st_reason: np.ndarray
    # hourly production records (hours with output)
    hr_start: np.ndarray
    hr_product: np.ndarray
    hr_order: np.ndarray
    hr_produced: np.ndarray
    hr_scrap: np.ndarray
    hr_rework: np.ndarray
    # planned shifts
    sh_start: np.ndarray
    sh_code: np.ndarray
    sh_product: np.ndarray
    sh_planned_qty: np.ndarray
    sh_worker_h: np.ndarray
    sh_produced: np.ndarray
    sh_defective: np.ndarray
    sh_inspected_at: np.ndarray
    sh_defect_type: np.ndarray
    sh_ramp: np.ndarray  # share of the go-live improvement in effect
    sh_scrap: np.ndarray
    sh_rework: np.ndarray
    sh_attendance_h: np.ndarray  # APAT of the crew
    sh_planned_scrap: np.ndarray  # PSQ of the shift's plan
    # 15-minute seconds per production day (n, 96), from 08:00
    q_run: np.ndarray
    q_stop: np.ndarray
    q_other: np.ndarray
    day_std_h: np.ndarray  # produced standard hours per day (Σ ideal cycle x PQ)


def _draws(seed: int, line_id: str, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    U = np.empty((len(days), 3, NU))
    Z = np.empty((len(days), 3, NZ))
    for i, d in enumerate(days):
        g = rng(seed, TAG_DAY, line_id, int(d))
        U[i] = g.random((3, NU))
        Z[i] = g.standard_normal((3, NZ))
    return U, Z


def _events(u: np.ndarray, z: np.ndarray, r: np.ndarray, f_bd: float):
    """Stop events (S, NB, M): duration, state, reason; in random order within each block."""
    S = len(r)
    ua, ud, ur, up = (u[:, i * NB * M:(i + 1) * NB * M].reshape(S, NB, M) for i in range(4))
    p = np.empty((S, NB, M))
    p[:, :, 0] = (P.BREAKDOWN_PER_SHIFT.at(r) * f_bd / NB)[:, None]
    p[:, :, 1:-1] = (P.MINOR_PER_SHIFT.at(r) / (NB * P.MINOR_SLOTS))[:, None, None]
    p[:, :, -1] = (P.IDLE_PER_SHIFT.at(r) / NB)[:, None]
    dur = np.empty((S, NB, M))
    dur[:, :, 0] = P.BREAKDOWN_MEDIAN_S.at(r)[:, None] * np.exp(P.BREAKDOWN_SIGMA * z[:, :NB])
    dur[:, :, 1:-1] = P.MINOR_S[0] + (P.MINOR_S[1] - P.MINOR_S[0]) * ud[:, :, 1:-1]
    dur[:, :, -1] = P.IDLE_S[0] + (P.IDLE_S[1] - P.IDLE_S[0]) * ud[:, :, -1]
    dur = np.where(ua < p, dur, 0.0)
    reason = np.empty((S, NB, M), dtype=np.int64)
    reason[:, :, 0] = _reason_index(P.BREAKDOWN_REASONS, P.BREAKDOWN_WEIGHTS, ur[:, :, 0])
    reason[:, :, 1:-1] = _reason_index(P.MINOR_REASONS, P.MINOR_WEIGHTS, ur[:, :, 1:-1])
    reason[:, :, -1] = _reason_index(P.IDLE_REASONS, P.IDLE_WEIGHTS, ur[:, :, -1])
    order = np.argsort(up, axis=-1)
    state = np.broadcast_to(SLOT_STATE, (S, NB, M))
    return (np.take_along_axis(dur, order, -1), np.take_along_axis(state, order, -1),
            np.take_along_axis(reason, order, -1))


def _timeline(u, z, r, setup_flag, f_bd):
    """Per shift: durations, states and reasons of the 49 slots; they sum to 28 800 s."""
    S = len(r)
    setup = np.floor(setup_flag * P.SETUP_MIN_S.at(r) * (1.0 + u[:, 100]))
    length = np.array([b - a for a, b in P.BLOCKS], dtype=float)
    avail = np.broadcast_to(length, (S, NB)).copy()
    avail[:, 0] -= setup
    dur, state, reason = _events(u, z, r, f_bd)
    total = dur.sum(-1)
    scale = np.minimum(1.0, 0.85 * avail / np.maximum(total, 1.0))
    dur = np.floor(dur * scale[..., None])
    run_total = avail - dur.sum(-1)
    cuts = np.floor(np.sort(u[:, 80:80 + NB * M].reshape(S, NB, M), -1) * run_total[..., None])
    runs = np.diff(np.concatenate([np.zeros((S, NB, 1)), cuts, run_total[..., None]], -1), axis=-1)
    seq_d = np.empty((S, NB, 2 * M + 1))
    seq_s = np.full((S, NB, 2 * M + 1), RUN)
    seq_r = np.zeros((S, NB, 2 * M + 1), dtype=np.int64)
    seq_d[..., 0::2], seq_d[..., 1::2] = runs, dur
    seq_s[..., 1::2], seq_r[..., 1::2] = state, reason
    cols_d, cols_s, cols_r = [setup[:, None]], [np.full((S, 1), SETUP)], [np.full((S, 1), REASONS.index("S01"))]
    for b, (a, e, code) in enumerate(P.PLANNED_STOPS):
        cols_d += [seq_d[:, b], np.full((S, 1), e - a)]
        cols_s += [seq_s[:, b], np.full((S, 1), PSTOP)]
        cols_r += [seq_r[:, b], np.full((S, 1), REASONS.index(code))]
    return (np.concatenate(cols_d, 1).astype(np.int64), np.concatenate(cols_s, 1),
            np.concatenate(cols_r, 1))


def _cumulative(D: np.ndarray, mask: np.ndarray, step: int) -> np.ndarray:
    """Seconds in `mask` slots per step-long interval of each shift, (S, SHIFT_S // step)."""
    S = len(D)
    base = (np.arange(S) * _BIG)[:, None]
    xp = np.concatenate([np.zeros((S, 1), np.int64), np.cumsum(D, 1)], 1) + base
    fp = np.concatenate([np.zeros((S, 1)), np.cumsum(D * mask, 1)], 1)
    q = np.arange(0, SHIFT_S + 1, step)[None, :] + base
    return np.diff(np.interp(q.ravel(), xp.ravel(), fp.ravel()).reshape(S, -1), axis=1)


def _merge(start, end, state, reason):
    """Join neighbouring intervals of the same state and reason (left when a stop slot was empty)."""
    new = np.ones(len(start), dtype=bool)
    new[1:] = (state[1:] != state[:-1]) | (reason[1:] != reason[:-1]) | (start[1:] != end[:-1])
    first = np.flatnonzero(new)
    last = np.append(first[1:], len(start)) - 1
    return start[first], end[last], state[first], reason[first]


def simulate(master: Master, seed: int, go_live: date, line: Line, days: np.ndarray) -> LineBlock:
    """Generate one line over `days` (ordinals); see the module docstring."""
    n = len(days)
    plan = shift_plan(days)
    camp = campaigns(seed, line, days, go_live.toordinal())
    r_day = ramp(days, go_live, P.RAMP_DAYS)
    U, Z = _draws(seed, line.unit_id, days)
    sel = np.flatnonzero(plan.reshape(-1))
    day_i, code = sel // 3, sel % 3
    u, z, r = U.reshape(n * 3, NU)[sel], Z.reshape(n * 3, NZ)[sel], r_day[day_i]
    start = day_start_s(days)[day_i] + SHIFT_OFFSETS_S[code]
    product = camp.product.reshape(-1)[sel]
    cycle = master.cycle_s[product]
    f_bd = unit_factor(seed, line.unit_id + ":breakdown", 0.25)
    f_perf = unit_factor(seed, line.unit_id + ":performance", 0.015)
    f_q = unit_factor(seed, line.unit_id + ":quality", 0.2)

    D, T, R = _timeline(u, z, r, camp.setup.reshape(-1)[sel], f_bd)
    ends = start[:, None] + np.cumsum(D, 1)
    keep = (D > 0).ravel()
    st = _merge((ends - D).ravel()[keep], ends.ravel()[keep], T.ravel()[keep], R.ravel()[keep])

    run_h = _cumulative(D, T == RUN, 3600)
    perf = np.clip(P.PERFORMANCE.at(r)[:, None] * f_perf + P.PERFORMANCE_SD * z[:, 4:12], *P.PERFORMANCE_RANGE)
    produced = np.floor(run_h * perf / cycle[:, None] + 0.5)
    q_day = f_q * np.exp(P.QUALITY_DAY_SIGMA * Z[:, 0, 31] - P.QUALITY_DAY_SIGMA ** 2 / 2)[day_i]
    p_s = np.clip(P.SCRAP_RATE.at(r) * q_day, 0.0, 0.5)[:, None]
    p_r = np.clip(P.REWORK_RATE.at(r) * q_day, 0.0, 0.5)[:, None]
    scrap = np.clip(np.floor(produced * p_s + np.sqrt(produced * p_s * (1 - p_s)) * z[:, 12:20] + 0.5), 0, produced)
    rest = produced - scrap
    rework = np.clip(np.floor(rest * p_r + np.sqrt(rest * p_r * (1 - p_r)) * z[:, 20:28] + 0.5), 0, rest)

    crew = P.CREW_PER_EQUIPMENT * line.n_equipment * P.CREW_FACTOR.at(r)
    hours = start[:, None] + np.arange(8) * 3600
    has = (produced > 0).ravel()
    sh_produced = produced.sum(1)
    defect_cum = np.cumsum(P.DEFECT_WEIGHTS) / np.sum(P.DEFECT_WEIGHTS)

    quarter = np.zeros((3, n * 3, 32))
    quarter[0, sel] = _cumulative(D, T == RUN, 900)
    quarter[1, sel] = _cumulative(D, T == PSTOP, 900)
    quarter[2, sel] = 900.0 * plan.reshape(-1)[sel, None] - quarter[0, sel] - quarter[1, sel]
    planned_qty = np.floor(P.PBT_S * P.PLAN_RATE / cycle + 0.5)
    worker_h = np.round(crew * 8.0 * (1.0 + 0.03 * z[:, 28]), 1)
    std_h = np.zeros(n)
    np.add.at(std_h, day_i, sh_produced * cycle / 3600.0)
    return LineBlock(
        days=days, plan=plan,
        st_start=st[0], st_end=st[1], st_state=st[2], st_reason=st[3],
        hr_start=hours.ravel()[has], hr_product=np.repeat(product, 8)[has],
        hr_order=np.repeat(camp.order_id.reshape(-1)[sel], 8)[has],
        hr_produced=produced.ravel()[has], hr_scrap=scrap.ravel()[has], hr_rework=rework.ravel()[has],
        sh_start=start, sh_code=code, sh_product=product,
        sh_planned_qty=planned_qty, sh_worker_h=worker_h,
        sh_produced=sh_produced, sh_defective=(scrap + rework).sum(1),
        sh_inspected_at=start + SHIFT_S + 600 + np.floor(1800 * u[:, 101]).astype(np.int64),
        sh_defect_type=np.minimum(np.searchsorted(defect_cum, u[:, 102], side="right"), len(defect_cum) - 1),
        sh_ramp=r, sh_scrap=scrap.sum(1), sh_rework=rework.sum(1),
        sh_attendance_h=np.round(worker_h / np.clip(P.WORKER_EFFICIENCY.at(r) + P.WORKER_EFFICIENCY_SD * z[:, 29],
                                                    *P.WORKER_EFFICIENCY_RANGE), 1),
        sh_planned_scrap=np.floor(planned_qty * P.PLANNED_SCRAP_RATE.at(r) + 0.5),
        q_run=quarter[0].reshape(n, 96), q_stop=quarter[1].reshape(n, 96), q_other=quarter[2].reshape(n, 96),
        day_std_h=std_h,
    )
