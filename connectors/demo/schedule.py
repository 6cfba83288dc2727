"""Product campaigns per line: a few product changes a week, each starting a production order.

A week's campaigns depend only on (seed, line, week), so any day can be generated on its own; the
changeover at the first shift of a week looks back one week only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from connectors.demo import params
from connectors.demo.calendar import SHIFT_CODES, shift_plan, weekday, ymd_code
from connectors.demo.master import rng

TAG_WEEK = 2


def mix_weights(n: int, years_since_go_live: float) -> np.ndarray:
    """Product shares within a family: earlier products lead, the newest gains share over time."""
    if n == 1:
        return np.ones(1)
    rank = np.arange(n, dtype=float)
    trend = np.linspace(-params.MIX_TREND, params.MIX_TREND, n)
    logit = -params.MIX_RANK * rank + trend * years_since_go_live
    w = np.exp(logit - logit.max())
    return w / w.sum()


def _pick(weights: np.ndarray, u: float) -> int:
    return int(min(np.searchsorted(np.cumsum(weights), u * weights.sum(), side="right"), len(weights) - 1))


@lru_cache(maxsize=4_096)
def week_plan(monday: int) -> np.ndarray:
    """Planned flags of the 21 shift slots of the week starting on `monday` (read-only)."""
    plan = shift_plan(np.arange(monday, monday + 7)).reshape(-1)
    plan.setflags(write=False)
    return plan


@lru_cache(maxsize=16_384)
def _week(seed: int, line_id: str, n: int, monday: int, go_live_ord: int) -> tuple[np.ndarray, np.ndarray]:
    """(local product index per slot, campaign start slot per slot) for 21 slots = 7 days x shifts A, B, C."""
    plan = week_plan(monday)
    g = rng(seed, TAG_WEEK, line_id, monday)
    u = g.random(8)
    w = mix_weights(n, (monday + 3 - go_live_ord) / 365.25)
    current = _pick(w, u[0])
    product = np.full(21, current, dtype=np.int64)
    slots = np.flatnonzero(plan)
    first = int(slots[0]) if len(slots) else 0
    start = np.full(21, first, dtype=np.int64)
    if n > 1 and len(slots) > 1:
        n_changes = 1 + int(u[1] > 0.35) + int(u[2] > 0.8)
        changes = np.sort(g.permutation(slots[1:])[:n_changes])
        for j, slot in enumerate(changes):
            w_other = w.copy()
            w_other[current] = 0.0
            current = _pick(w_other, u[3 + j])
            product[slot:] = current
            start[slot:] = slot
    return product, start


@dataclass(frozen=True)
class Campaigns:
    product: np.ndarray  # (n_days, 3) global product index
    setup: np.ndarray  # (n_days, 3) bool: a changeover opens the shift
    order_id: np.ndarray  # (n_days, 3) str


def campaigns(seed: int, line, days: np.ndarray, go_live_ord: int) -> Campaigns:
    """Product, changeover flag and order id of every shift slot of `days` for one line."""
    n = len(line.products)
    local = np.empty((len(days), 3), dtype=np.int64)
    setup = np.zeros((len(days), 3), dtype=bool)
    start_slot = np.empty((len(days), 3), dtype=np.int64)
    mondays = days - weekday(days)
    for monday in np.unique(mondays):
        prod, start = _week(seed, line.unit_id, n, int(monday), go_live_ord)
        prev_prod, _ = _week(seed, line.unit_id, n, int(monday) - 7, go_live_ord)
        plan, prev_plan = week_plan(int(monday)), week_plan(int(monday) - 7)
        slots = np.flatnonzero(plan)
        changed = np.zeros(21, dtype=bool)
        if len(slots):
            changed[1:] = (start[1:] != start[:-1]) & plan[1:]
            prev_slots = np.flatnonzero(prev_plan)
            carry = len(prev_slots) and prev_prod[prev_slots[-1]] == prod[slots[0]]
            changed[slots[0]] = not carry
        rows = np.flatnonzero(mondays == monday)
        idx = (days[rows] - monday)[:, None] * 3 + np.arange(3)
        local[rows] = prod[idx]
        setup[rows] = changed[idx]
        start_slot[rows] = monday * 3 + start[idx]
    order_day = start_slot // 3
    order_code = np.array(SHIFT_CODES)[start_slot % 3]
    ids = np.char.add(np.char.add(f"MO-{line.unit_id}-", ymd_code(order_day).astype(str)), order_code)
    return Campaigns(np.asarray(line.products)[local], setup, ids.astype(object))
